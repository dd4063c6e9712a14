// SPDX-License-Identifier: BUSL-1.1
//! Bearer-token authentication for every route except the health probes.
//!
//! A zone never runs open: when no `AUTH_TOKEN` is configured, start-up generates one (see
//! [`generate_token`]). Every request must carry `Authorization: Bearer <token>`; anything
//! else is answered with the one JSON error shape, status 401, and a `WWW-Authenticate`
//! header naming the scheme (RFC 6750).

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The middleware: passes the request on when its bearer token is the zone's, else 401.
///
/// Install with `axum::middleware::from_fn_with_state(state, require_bearer)`.
pub async fn require_bearer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| bearer_token(value.as_bytes()));
    match presented {
        Some(token) if token_matches(token, state.auth_token.as_bytes()) => next.run(request).await,
        _ => unauthorized(),
    }
}

/// Extracts the token from an `Authorization` header value of the form `Bearer <token>`.
///
/// The scheme name is matched without regard to case, as HTTP defines it; the token itself is
/// taken exactly.
fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    let (scheme, token) = header.split_at_checked(SCHEME.len())?;
    (scheme.eq_ignore_ascii_case(SCHEME) && !token.is_empty()).then_some(token)
}

/// Compares a presented token with the expected one in time that does not depend on where
/// they differ, so the response time reveals nothing about how much of a guess was right.
///
/// The loop always runs over the whole expected token, reading a zero where the presented
/// one is shorter, and the length check is folded into the same constant-time result rather
/// than returning early. Tokens of different lengths are simply unequal.
pub fn token_matches(presented: &[u8], expected: &[u8]) -> bool {
    // An empty expected token would accept an empty presentation. Whether the configured
    // token is empty is no secret, so an early return here leaks nothing.
    if expected.is_empty() {
        return false;
    }
    let same_length = (presented.len() as u64).ct_eq(&(expected.len() as u64));
    let mut same_bytes = subtle::Choice::from(1);
    for (i, want) in expected.iter().enumerate() {
        let got = presented.get(i).copied().unwrap_or(0);
        same_bytes &= got.ct_eq(want);
    }
    (same_length & same_bytes).into()
}

/// A fresh bearer token: 32 random bytes from the operating system-seeded CSPRNG, as hex.
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn unauthorized() -> Response {
    let mut response = ApiError::Unauthorized.into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_tokens_match() {
        assert!(token_matches(b"abc123", b"abc123"));
    }

    #[test]
    fn different_tokens_do_not_match() {
        assert!(!token_matches(b"abc124", b"abc123"));
        assert!(!token_matches(b"xbc123", b"abc123"));
    }

    #[test]
    fn length_mismatch_is_simply_false() {
        assert!(!token_matches(b"abc12", b"abc123"));
        assert!(!token_matches(b"abc1234", b"abc123"));
        assert!(!token_matches(b"", b"abc123"));
        // A prefix padded with the zero bytes the loop reads past its end is still unequal.
        assert!(!token_matches(b"abc\0", b"abc"));
        assert!(!token_matches(b"ab", b"ab\0"));
    }

    #[test]
    fn empty_expected_token_matches_nothing() {
        assert!(!token_matches(b"", b""));
        assert!(!token_matches(b"x", b""));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_token_exact() {
        assert_eq!(bearer_token(b"Bearer tok"), Some(&b"tok"[..]));
        assert_eq!(bearer_token(b"bearer tok"), Some(&b"tok"[..]));
        assert_eq!(bearer_token(b"BEARER Tok"), Some(&b"Tok"[..]));
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"tok"), None);
    }

    #[test]
    fn generated_tokens_are_64_hex_digits_and_differ() {
        let a = generate_token();
        let b = generate_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
