// SPDX-License-Identifier: BUSL-1.1
//! The plain decimal syntax of the spec language, written once for the spec front end (which
//! includes this file by path, as it cannot depend on the zone) and the runtime validator.
//!
//! A plain decimal is an optional minus sign, digits, and an optional fraction of digits: no
//! exponent, no spaces, no `+`, and at most [`MAX_INTEGER_DIGITS`] digits before the point
//! after leading zeros. It depends on nothing, so both crates compile it as it is.

/// The most digits a plain decimal may have before its point, leading zeros aside. The zone
/// computes in 96-bit decimals (at most 79,228,162,514,264,337,593,543,950,335): every number
/// of 28 integer digits is held, its fraction rounded past 28 digits; some of 29 are not.
pub const MAX_INTEGER_DIGITS: usize = 28;

/// Whether `text` is a plain decimal number.
pub fn is_plain_decimal(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && int.trim_start_matches('0').len() <= MAX_INTEGER_DIGITS
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}
