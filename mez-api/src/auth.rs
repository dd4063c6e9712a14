// SPDX-License-Identifier: BUSL-1.1
//! Who is calling, and whether they may: authentication, the principal, coarse role checks and
//! the per-principal rate limit, for every route except the health probes and public documents.
//!
//! A zone never runs open: when no `AUTH_TOKEN` is configured, start-up generates one (see
//! [`generate_token`]). Every request must carry `Authorization: Bearer <token>`, and the token
//! must be one of:
//!
//! - the zone's `AUTH_TOKEN`: the bootstrap [`Role::ZoneAdmin`], actor `bootstrap`;
//! - an API key `mez_<id>_<secret>` ([`keys`]), looked up in the database on every request, so
//!   a revoked key is refused at once by every replica sharing the database; actor `key:<id>`;
//! - when `MEZ_JWT_JWKS_FILE`, `MEZ_JWT_ISSUER` and `MEZ_JWT_AUDIENCE` are set, a JWT signed by
//!   a key of that JWKS ([`jwt`]); actor `jwt:<sub>`.
//!
//! Anything else is answered with the one JSON error shape, status 401, and a
//! `WWW-Authenticate` header naming the scheme (RFC 6750). The resolved [`Principal`] travels
//! with the request as an extension, for the handlers and, later, the audit events.
//!
//! Then, in this order: the rate limit (`MEZ_RATE_LIMIT`, per actor: 429 with `Retry-After`),
//! and the role check ([`authorize`]: 403 naming the role): a regulator reads only, zone
//! administration is the zone administrator's. An entity operator's request then runs
//! confined to its entity ([`scope`]): another entity's records are 404s, lists hold only its
//! own.

pub mod jwt;
pub mod keys;
pub mod rate_limit;
pub mod scope;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// What a caller may do, coarsely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, `/v1/keys` included. The bootstrap `AUTH_TOKEN` has this role.
    ZoneAdmin,
    /// Every read (GET, HEAD), no write.
    Regulator,
    /// The operator of one entity, confined to it ([`scope`]).
    EntityOperator,
}

impl Role {
    /// Every role, in the order the documents list them.
    pub const ALL: [Role; 3] = [Role::ZoneAdmin, Role::Regulator, Role::EntityOperator];

    /// The role's name, as keys, JWT claims and answers spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ZoneAdmin => "zone_admin",
            Role::Regulator => "regulator",
            Role::EntityOperator => "entity_operator",
        }
    }

    /// The role of that name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Whether the role is bound to one entity: an entity operator is, and must name it;
    /// no other role may name one.
    pub fn check_entity(self, entity_id: Option<&str>) -> Result<(), &'static str> {
        match (self, entity_id) {
            (Role::EntityOperator, None) => Err("is required for the entity_operator role"),
            (Role::EntityOperator, Some(_)) => Ok(()),
            (_, Some(_)) => Err("is only for the entity_operator role"),
            (_, None) => Ok(()),
        }
    }
}

/// Who is calling: the identity the bearer token resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// `bootstrap`, `key:<id>` or `jwt:<sub>`: what audit events will name.
    pub actor: String,
    pub role: Role,
    /// The entity an entity operator acts for; `None` for the other roles.
    pub entity_id: Option<String>,
}

impl Principal {
    /// The holder of the zone's `AUTH_TOKEN`.
    pub fn bootstrap() -> Principal {
        Principal {
            actor: "bootstrap".into(),
            role: Role::ZoneAdmin,
            entity_id: None,
        }
    }
}

/// The middleware: resolves the bearer token to a [`Principal`] (else 401), applies the rate
/// limit (429) and the role check (403), and passes the request on with the principal as an
/// extension.
///
/// Install with `axum::middleware::from_fn_with_state(state, require_principal)`.
pub async fn require_principal(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| bearer_token(value.as_bytes()));
    let Some(token) = presented else {
        return unauthorized();
    };
    let principal = match resolve(&state, token).await {
        Ok(Some(principal)) => principal,
        Ok(None) => return unauthorized(),
        Err(err) => return err.into_response(),
    };
    if let Some(limiter) = &state.rate_limiter {
        if let Err(refusal) = limiter.check(&principal.actor) {
            return refusal.into_response();
        }
    }
    if let Err(err) = authorize(&principal, request.method(), request.uri().path()) {
        return err.into_response();
    }
    let entity = principal.entity_id.clone();
    request.extensions_mut().insert(principal);
    scope::within(entity, next.run(request)).await
}

/// The principal a presented token stands for, or `None` when it stands for nobody.
///
/// The bootstrap token is compared first, in constant time. A token of the key format is
/// looked up in the database; a token of the JWT format (three dot-separated parts) is
/// verified when JWTs are configured.
async fn resolve(state: &AppState, token: &[u8]) -> Result<Option<Principal>, ApiError> {
    if token_matches(token, state.auth_token.as_bytes()) {
        return Ok(Some(Principal::bootstrap()));
    }
    if token.starts_with(keys::PREFIX.as_bytes()) {
        return keys::authenticate(&state.db, token).await;
    }
    if let Some(verifier) = &state.jwt {
        if let Ok(text) = std::str::from_utf8(token) {
            return Ok(verifier.verify(text));
        }
    }
    Ok(None)
}

/// The zone-wide routes an entity operator may not use: zone administration (triggers,
/// approvals, the sanctions list) and the zone-wide reads that are not filtered by entity yet
/// (attestations, the audit trail, actions), as path prefixes.
const ZONE_ONLY: &[&str] = &[
    "/v1/triggers",
    "/v1/sanctions/",
    "/v1/actions",
    "/v1/attestations",
    "/v1/audit/",
];

/// The coarse role check: whether `principal` may send `method` to `path`.
///
/// - `/v1/keys` and everything under it: the zone administrator's only;
/// - a regulator: GET and HEAD only;
/// - an entity operator: not the zone-wide routes of [`ZONE_ONLY`] (403); everything else
///   runs confined to its entity ([`scope`]), where another entity's records are 404s.
pub fn authorize(principal: &Principal, method: &Method, path: &str) -> Result<(), ApiError> {
    let role = principal.role;
    let keys_route = path == "/v1/keys" || path.starts_with("/v1/keys/");
    if keys_route && role != Role::ZoneAdmin {
        return Err(ApiError::Forbidden(format!(
            "the {} role may not manage API keys (zone_admin only)",
            role.as_str()
        )));
    }
    if role == Role::EntityOperator && ZONE_ONLY.iter().any(|p| path.starts_with(p)) {
        return Err(ApiError::Forbidden(
            "the entity_operator role may not use this zone-wide route \
             (zone_admin or, for reads, regulator)"
                .into(),
        ));
    }
    if role == Role::Regulator
        && !(method == Method::GET || method == Method::HEAD || writes_nothing(method, path))
    {
        return Err(ApiError::Forbidden(format!(
            "the regulator role may only read (GET, HEAD), not {method}"
        )));
    }
    Ok(())
}

/// The zone's own routes that take a body but only read: a regulator may call them.
const READING_POSTS: [&str; 1] = ["/v1/credentials/verify"];

/// Whether `method path` only reads although it is not a GET: a zone route of
/// [`READING_POSTS`], or a direct route the spec gives no audit event (a search).
fn writes_nothing(method: &Method, path: &str) -> bool {
    READING_POSTS.contains(&path)
        || crate::surface::ROUTES.iter().any(|route| {
            route.audit.is_none()
                && route.method == method.as_str()
                && template_matches(route.path, path)
        })
}

/// Whether `path` is an instance of the route template `template` (`{name}` matches one
/// segment).
fn template_matches(template: &str, path: &str) -> bool {
    let (mut want, mut got) = (template.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w == g || (w.starts_with('{') && !g.is_empty()) => {}
            _ => return false,
        }
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

    fn principal(role: Role) -> Principal {
        Principal {
            actor: "key:abc".into(),
            role,
            entity_id: (role == Role::EntityOperator).then(|| "ent-1".to_string()),
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse("Zone_Admin"), None);
    }

    #[test]
    fn only_an_entity_operator_names_an_entity() {
        assert!(Role::EntityOperator.check_entity(Some("e")).is_ok());
        assert!(Role::EntityOperator.check_entity(None).is_err());
        assert!(Role::ZoneAdmin.check_entity(Some("e")).is_err());
        assert!(Role::Regulator.check_entity(Some("e")).is_err());
        assert!(Role::Regulator.check_entity(None).is_ok());
    }

    #[test]
    fn zone_admin_may_do_everything() {
        let admin = Principal::bootstrap();
        for method in [Method::GET, Method::POST, Method::DELETE, Method::PUT] {
            assert!(authorize(&admin, &method, "/v1/keys").is_ok());
            assert!(authorize(&admin, &method, "/v1/keys/abc").is_ok());
            assert!(authorize(&admin, &method, "/v1/entities").is_ok());
        }
    }

    #[test]
    fn regulator_reads_only_and_is_told_its_role() {
        let regulator = principal(Role::Regulator);
        assert!(authorize(&regulator, &Method::GET, "/v1/audit/events").is_ok());
        assert!(authorize(&regulator, &Method::HEAD, "/v1/attestations").is_ok());
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let err = authorize(&regulator, &method, "/v1/entities").expect_err("a write");
            assert_eq!(err.status_code(), 403);
            assert!(err.to_string().contains("regulator"), "{err}");
        }
    }

    #[test]
    fn keys_routes_are_the_zone_admins_only() {
        for role in [Role::Regulator, Role::EntityOperator] {
            for (method, path) in [
                (Method::GET, "/v1/keys"),
                (Method::POST, "/v1/keys"),
                (Method::DELETE, "/v1/keys/abc"),
            ] {
                let err = authorize(&principal(role), &method, path).expect_err(path);
                assert_eq!(err.status_code(), 403);
                assert!(err.to_string().contains(role.as_str()), "{err}");
            }
        }
        // A path that only starts with the same letters is not a keys route.
        assert!(
            authorize(
                &principal(Role::EntityOperator),
                &Method::GET,
                "/v1/keysmith"
            )
            .is_ok()
        );
    }

    #[test]
    fn entity_operator_is_refused_zone_administration_and_zone_wide_reads() {
        let operator = principal(Role::EntityOperator);
        for (method, path) in [
            (Method::POST, "/v1/triggers"),
            (Method::POST, "/v1/sanctions/reload"),
            (Method::POST, "/v1/actions/a1/approve"),
            (Method::GET, "/v1/actions"),
            (Method::GET, "/v1/audit/events"),
            (Method::GET, "/v1/audit/verify"),
            (Method::GET, "/v1/attestations"),
        ] {
            let err = authorize(&operator, &method, path).expect_err(path);
            assert_eq!(err.status_code(), 403, "{path}");
        }
        // Its entity's routes and the zone's public information pass on, to be scoped.
        assert!(authorize(&operator, &Method::POST, "/v1/ownership/cap-tables").is_ok());
        assert!(authorize(&operator, &Method::GET, "/v1/policies").is_ok());
        assert!(authorize(&operator, &Method::POST, "/v1/credentials/verify").is_ok());
    }

    #[test]
    fn a_regulator_may_search_and_verify_but_not_write() {
        let regulator = principal(Role::Regulator);
        for path in [
            "/organization-info/api/v1/organization/search",
            "/v1/credentials/verify",
        ] {
            assert!(authorize(&regulator, &Method::POST, path).is_ok(), "{path}");
        }
        for (method, path) in [
            (
                Method::POST,
                "/organization-info/api/v1/organization/create",
            ),
            (Method::POST, "/v1/identity/cnic/verify"),
            (Method::POST, "/v1/credentials/verify/extra"),
            (Method::PUT, "/organization-info/api/v1/organization/search"),
        ] {
            let err = authorize(&regulator, &method, path).expect_err(path);
            assert_eq!(err.status_code(), 403, "{method} {path}");
        }
        assert!(template_matches("/a/{id}/b", "/a/42/b"));
        assert!(!template_matches("/a/{id}/b", "/a//b"));
        assert!(!template_matches("/a/{id}", "/a/42/b"));
    }

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
