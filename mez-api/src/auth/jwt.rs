// SPDX-License-Identifier: BUSL-1.1
//! JWT bearer tokens from an identity provider, verified against a JWKS file.
//!
//! With `MEZ_JWT_JWKS_FILE`, `MEZ_JWT_ISSUER` and `MEZ_JWT_AUDIENCE` set, the zone accepts a
//! JWT whose header names `EdDSA` (an `OKP` `Ed25519` key), `ES256` (an `EC` `P-256` key) or
//! `RS256` (an `RSA` key), signed by a key of the file (the one its `kid` names, or, without a
//! `kid`, any key of the algorithm's type), with `iss` and `aud` equal to the configured ones
//! and `exp` in the future (`nbf`, when present, in the past; 60 seconds of leeway for clock
//! skew, the library's default). Every other algorithm, `none` included, is refused.
//!
//! The claims `sub` (the actor is `jwt:<sub>`), `mez_role` (a [`Role`] name) and, for an
//! entity operator and only for one, `mez_entity_id` are required. Verification is the
//! `jsonwebtoken` crate's; this module only picks the key and reads the claims. The file is
//! read once, at start-up.

use std::path::PathBuf;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::{Principal, Role};

/// Where the keys are and what the tokens must say (the three `MEZ_JWT_*` variables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtConfig {
    pub jwks_file: PathBuf,
    pub issuer: String,
    pub audience: String,
}

/// Why the JWKS file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("MEZ_JWT_JWKS_FILE {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("MEZ_JWT_JWKS_FILE {path} is not a JWKS ({{\"keys\": [...]}}): {reason}")]
    Parse { path: String, reason: String },
    #[error(
        "MEZ_JWT_JWKS_FILE {path} holds no usable key (an OKP Ed25519, EC P-256 or RSA public key)"
    )]
    NoUsableKey { path: String },
}

/// One usable key of the file.
struct Key {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// The verifier: the usable keys of the JWKS, and the issuer and audience tokens must name.
pub struct JwtVerifier {
    keys: Vec<Key>,
    issuer: String,
    audience: String,
}

/// The claims the zone reads (the registered ones are checked by the library).
#[derive(Deserialize)]
struct Claims {
    sub: String,
    mez_role: String,
    #[serde(default)]
    mez_entity_id: Option<String>,
}

impl JwtVerifier {
    /// Reads the JWKS file the configuration names.
    pub fn load(config: &JwtConfig) -> Result<JwtVerifier, JwksError> {
        let path = config.jwks_file.display().to_string();
        let text =
            std::fs::read_to_string(&config.jwks_file).map_err(|source| JwksError::Read {
                path: path.clone(),
                source,
            })?;
        Self::from_jwks(&text, &config.issuer, &config.audience).map_err(|err| err.with_path(&path))
    }

    /// A verifier over the keys of a JWKS document. Keys of other types (or that name another
    /// algorithm) are skipped; a set with no usable key is an error.
    pub fn from_jwks(text: &str, issuer: &str, audience: &str) -> Result<JwtVerifier, JwksError> {
        let set: JwkSet = serde_json::from_str(text).map_err(|err| JwksError::Parse {
            path: String::new(),
            reason: err.to_string(),
        })?;
        let keys: Vec<Key> = set.keys.iter().filter_map(usable).collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey {
                path: String::new(),
            });
        }
        Ok(JwtVerifier {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// The principal a token stands for, or `None` when it is not a valid token of this
    /// zone's identity provider.
    pub fn verify(&self, token: &str) -> Option<Principal> {
        let header = decode_header(token).ok()?;
        if !matches!(
            header.alg,
            Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256
        ) {
            return None;
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        let candidates = self.keys.iter().filter(|key| {
            key.alg == header.alg
                && match &header.kid {
                    Some(kid) => key.kid.as_deref() == Some(kid.as_str()),
                    None => true,
                }
        });
        for key in candidates {
            let Ok(data) = decode::<Claims>(token, &key.key, &validation) else {
                continue;
            };
            return principal(data.claims);
        }
        None
    }
}

impl JwksError {
    fn with_path(self, path: &str) -> JwksError {
        match self {
            JwksError::Parse { reason, .. } => JwksError::Parse {
                path: path.to_owned(),
                reason,
            },
            JwksError::NoUsableKey { .. } => JwksError::NoUsableKey {
                path: path.to_owned(),
            },
            read @ JwksError::Read { .. } => read,
        }
    }
}

/// The key of a JWK and the one algorithm it verifies, when it is of a supported type.
fn usable(jwk: &Jwk) -> Option<Key> {
    let alg = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        _ => return None,
    };
    let named = jwk.common.key_algorithm;
    let fits = match named {
        None => true,
        Some(KeyAlgorithm::EdDSA) => alg == Algorithm::EdDSA,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(_) => false,
    };
    if !fits {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

/// The principal of verified claims: a known role, bound to an entity exactly when it is an
/// entity operator's, and a subject that is text.
fn principal(claims: Claims) -> Option<Principal> {
    let role = Role::parse(&claims.mez_role)?;
    let entity_id = claims.mez_entity_id.filter(|id| !id.is_empty());
    role.check_entity(entity_id.as_deref()).ok()?;
    if claims.sub.is_empty() || claims.sub.contains('\0') {
        return None;
    }
    Some(Principal {
        actor: format!("jwt:{}", claims.sub),
        role,
        entity_id,
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::{Value, json};

    use super::*;

    const ISSUER: &str = "https://idp.example";
    const AUDIENCE: &str = "mez-zone";

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn jwks(key: &SigningKey, kid: &str) -> String {
        json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig",
            "x": b64(key.verifying_key().as_bytes()),
        }]})
        .to_string()
    }

    /// A compact JWS written by hand, so the test does not trust the library to make them.
    fn token(key: &SigningKey, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&signature.to_bytes()))
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn claims(role: &str) -> Value {
        json!({"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "mez_role": role})
    }

    #[test]
    fn a_valid_token_names_its_subject_and_role() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let verifier = JwtVerifier::from_jwks(&jwks(&key, "k1"), ISSUER, AUDIENCE).expect("jwks");
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "k1"});
        let principal = verifier
            .verify(&token(&key, &header, &claims("regulator")))
            .expect("valid");
        assert_eq!(principal.actor, "jwt:alice");
        assert_eq!(principal.role, Role::Regulator);
        // Without a kid, any key of the algorithm's type is tried.
        let bare = json!({"alg": "EdDSA"});
        assert!(
            verifier
                .verify(&token(&key, &bare, &claims("zone_admin")))
                .is_some()
        );
        let mut operator = claims("entity_operator");
        operator["mez_entity_id"] = json!("ent-9");
        let principal = verifier
            .verify(&token(&key, &header, &operator))
            .expect("valid");
        assert_eq!(principal.entity_id.as_deref(), Some("ent-9"));
    }

    #[test]
    fn invalid_tokens_stand_for_nobody() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let verifier = JwtVerifier::from_jwks(&jwks(&key, "k1"), ISSUER, AUDIENCE).expect("jwks");
        let header = json!({"alg": "EdDSA", "kid": "k1"});
        let with = |change: &dyn Fn(&mut Value)| {
            let mut c = claims("regulator");
            change(&mut c);
            token(&key, &header, &c)
        };
        let refused = [
            ("expired", with(&|c| c["exp"] = json!(now() - 3600))),
            ("not yet valid", with(&|c| c["nbf"] = json!(now() + 3600))),
            (
                "wrong issuer",
                with(&|c| c["iss"] = json!("https://evil.example")),
            ),
            ("wrong audience", with(&|c| c["aud"] = json!("other-zone"))),
            (
                "no exp",
                with(&|c| drop(c.as_object_mut().map(|m| m.remove("exp")))),
            ),
            ("unknown role", with(&|c| c["mez_role"] = json!("root"))),
            (
                "operator without entity",
                with(&|c| c["mez_role"] = json!("entity_operator")),
            ),
            (
                "admin with entity",
                with(&|c| c["mez_entity_id"] = json!("e")),
            ),
            ("wrong key", token(&other, &header, &claims("regulator"))),
            (
                "unknown kid",
                token(
                    &key,
                    &json!({"alg": "EdDSA", "kid": "k2"}),
                    &claims("regulator"),
                ),
            ),
            (
                "alg none",
                format!(
                    "{}.{}.",
                    b64(json!({"alg": "none"}).to_string().as_bytes()),
                    b64(claims("zone_admin").to_string().as_bytes())
                ),
            ),
            (
                "HS256 with the public key as secret",
                token(
                    &key,
                    &json!({"alg": "HS256", "kid": "k1"}),
                    &claims("zone_admin"),
                ),
            ),
            ("garbage", "not.a.jwt".to_string()),
        ];
        for (what, token) in refused {
            assert_eq!(verifier.verify(&token), None, "{what}");
        }
    }

    #[test]
    fn a_jwks_without_usable_keys_is_refused() {
        let hmac = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string();
        assert!(matches!(
            JwtVerifier::from_jwks(&hmac, ISSUER, AUDIENCE),
            Err(JwksError::NoUsableKey { .. })
        ));
        assert!(matches!(
            JwtVerifier::from_jwks("{}", ISSUER, AUDIENCE),
            Err(JwksError::Parse { .. })
        ));
    }
}
