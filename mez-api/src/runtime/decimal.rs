// SPDX-License-Identifier: BUSL-1.1
//! The plain decimal syntax of the spec language, written once for the spec front end (which
//! includes this file by path, as it cannot depend on the zone) and the runtime validator.
//!
//! A plain decimal is an optional minus sign, digits, and an optional fraction of digits: no
//! exponent, no spaces, no `+`. It depends on nothing, so both crates compile it as it is.

/// Whether `text` is a plain decimal number.
pub fn is_plain_decimal(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}
