// SPDX-License-Identifier: BUSL-1.1
//! placeholder
fn main() {}
