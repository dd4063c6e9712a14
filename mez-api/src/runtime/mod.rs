// SPDX-License-Identifier: BUSL-1.1
//! The hand-written runtime the generated surface calls.
//!
//! `model` holds the types the generated code instantiates (the spec as static data),
//! `validate` checks a request against a model, and `ops` implements each route operation
//! (create, get, update, list, ...) once, for every model.

pub mod mapping;
pub mod model;
pub mod ops;
pub mod plan;
pub mod validate;
