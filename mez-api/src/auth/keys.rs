// SPDX-License-Identifier: BUSL-1.1
//! API keys: bearer credentials the zone issues, each with a role (and, for an entity
//! operator, its entity).
//!
//! A key is created, listed and revoked through `POST /v1/keys`, `GET /v1/keys` and
//! `DELETE /v1/keys/{id}` (the zone administrator's only; see [`super::authorize`]) or the
//! command line (`mez-api keys create|list|revoke`, [`run_cli`]), both over the same functions.
//!
//! The token is `mez_<id>_<secret>`: `id` a UUID's 32 hex digits, `secret` 256 random bits as
//! 64 hex digits. It is shown once, in the answer that creates it. The database keeps only the
//! SHA-256 of the whole token (table `api_keys`, migration `20261208000001_api_keys.sql`), and
//! a presented token is hashed and compared with it in constant time. Every request reads its
//! key's row, with no cache, so a key revoked through one replica is refused (401) by every
//! replica sharing the database on its very next request.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing;
use rand::RngCore;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Principal, Role, token_matches};
use crate::db::{Db, on_pool};
use crate::error::{ApiError, FieldError};
use crate::extract::JsonBody;
use crate::state::AppState;

/// What every key token starts with, so that a leaked one is recognisable (and scannable).
pub const PREFIX: &str = "mez_";

/// The longest name and entity id a key accepts, in characters.
const MAX_TEXT: usize = 255;

/// A key as listed: everything but its secret, which the zone does not have.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub role: String,
    pub entity_id: Option<String>,
    pub name: Option<String>,
    pub created_at: String,
    /// When the key was revoked; `None` while it is valid.
    pub revoked_at: Option<String>,
}

/// A key just created: the only answer that carries its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreatedKey {
    pub id: String,
    /// The whole bearer token, `mez_<id>_<secret>`.
    pub secret: String,
    pub role: String,
    pub entity_id: Option<String>,
    pub name: Option<String>,
    pub created_at: String,
}

/// What a new key is for, checked: the role is known, and names an entity exactly when it is
/// an entity operator's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub role: Role,
    pub entity_id: Option<String>,
    pub name: Option<String>,
}

impl NewKey {
    /// Checks a request: every problem at once, as the zone's 422.
    pub fn new(
        role: Option<&str>,
        entity_id: Option<&str>,
        name: Option<&str>,
    ) -> Result<NewKey, ApiError> {
        let mut errors = Vec::new();
        let role = match role {
            None => {
                errors.push(FieldError::new("role", "is required"));
                None
            }
            Some(text) => {
                let role = Role::parse(text);
                if role.is_none() {
                    errors.push(FieldError::new(
                        "role",
                        "must be one of zone_admin, regulator, entity_operator",
                    ));
                }
                role
            }
        };
        let entity_id = entity_id.and_then(|text| checked_text("entity_id", text, &mut errors));
        let name = name.and_then(|text| checked_text("name", text, &mut errors));
        if let Some(role) = role {
            if let Err(problem) = role.check_entity(entity_id.as_deref()) {
                // A malformed entity id is reported once, not twice.
                if !errors.iter().any(|e| e.field == "entity_id") {
                    errors.push(FieldError::new("entity_id", problem));
                }
            }
        }
        match role {
            Some(role) if errors.is_empty() => Ok(NewKey {
                role,
                entity_id,
                name,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }

    /// Checks a `POST /v1/keys` body: `{role, entity_id?, name?}`, no other member, `null`
    /// meaning absent.
    pub fn from_body(body: &Value) -> Result<NewKey, ApiError> {
        let Value::Object(fields) = body else {
            return Err(ApiError::field(
                "body",
                "must be a JSON object {role, entity_id?, name?}",
            ));
        };
        let mut errors = Vec::new();
        for key in fields.keys() {
            if !["role", "entity_id", "name"].contains(&key.as_str()) {
                errors.push(FieldError::new(
                    key,
                    "is not a field here (expected: role, entity_id, name)",
                ));
            }
        }
        let role = string_member(fields, "role", &mut errors);
        let entity_id = string_member(fields, "entity_id", &mut errors);
        let name = string_member(fields, "name", &mut errors);
        match NewKey::new(role, entity_id, name) {
            Ok(new) if errors.is_empty() => Ok(new),
            Ok(_) => Err(ApiError::Validation(errors)),
            Err(ApiError::Validation(more)) => {
                // A member of the wrong type was reported already; do not call it missing too.
                let fresh: Vec<FieldError> = more
                    .into_iter()
                    .filter(|e| !errors.iter().any(|seen| seen.field == e.field))
                    .collect();
                errors.extend(fresh);
                Err(ApiError::Validation(errors))
            }
            Err(other) => Err(other),
        }
    }
}

/// A member that must be a string when present; `null` is absence.
fn string_member<'a>(
    fields: &'a Map<String, Value>,
    key: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match fields.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            errors.push(FieldError::new(key, "must be a string"));
            None
        }
    }
}

/// Text of 1 to [`MAX_TEXT`] characters once trimmed (as the zone's other small bodies, and
/// as the OpenAPI document states), without U+0000 (which the store cannot hold); trimmed.
fn checked_text(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT || text.contains('\0') {
        errors.push(FieldError::new(
            field,
            format!("must be a non-empty string of at most {MAX_TEXT} characters, without U+0000"),
        ));
        return None;
    }
    Some(text.to_owned())
}

/// The stored form of a token: the hex SHA-256 of all its bytes.
fn token_hash(token: &[u8]) -> String {
    hex::encode(Sha256::digest(token))
}

/// Creates a key and returns it with its secret, which nothing stores.
pub async fn create(db: &Db, new: NewKey) -> Result<CreatedKey, ApiError> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!("{PREFIX}{id}_{}", hex::encode(secret));
    let hash = token_hash(token.as_bytes());
    let created_at = crate::clock::now_rfc3339();
    let role = new.role.as_str();
    let sql = "INSERT INTO api_keys (id, secret_sha256, role, entity_id, name, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    on_pool!(db, pool => {
        sqlx::query(sql)
            .bind(&id)
            .bind(&hash)
            .bind(role)
            .bind(new.entity_id.as_deref())
            .bind(new.name.as_deref())
            .bind(&created_at)
            .execute(pool)
            .await
            .map(|_| ())
    })?;
    Ok(CreatedKey {
        id,
        secret: token,
        role: role.to_owned(),
        entity_id: new.entity_id,
        name: new.name,
        created_at,
    })
}

/// One row of `api_keys` without its hash.
type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

fn info((id, role, entity_id, name, created_at, revoked_at): Row) -> KeyInfo {
    KeyInfo {
        id,
        role,
        entity_id,
        name,
        created_at,
        revoked_at,
    }
}

const COLUMNS: &str = "id, role, entity_id, name, created_at, revoked_at";

/// Every key, revoked ones too, oldest first.
pub async fn list(db: &Db) -> Result<Vec<KeyInfo>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id");
    let rows: Vec<Row> =
        on_pool!(db, pool => sqlx::query_as::<_, Row>(&sql).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(info).collect())
}

/// One key, if it exists.
pub async fn get(db: &Db, id: &str) -> Result<Option<KeyInfo>, ApiError> {
    if id.contains('\0') {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
    let row: Option<Row> = on_pool!(db, pool => {
        sqlx::query_as::<_, Row>(&sql).bind(id).fetch_optional(pool).await
    })?;
    Ok(row.map(info))
}

/// Revokes a key and returns it as it now stands; `None` when there is no such key. Revoking
/// a revoked key changes nothing (it keeps the time it was first revoked).
pub async fn revoke(db: &Db, id: &str) -> Result<Option<KeyInfo>, ApiError> {
    if id.contains('\0') {
        return Ok(None);
    }
    let sql = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    let now = crate::clock::now_rfc3339();
    on_pool!(db, pool => {
        sqlx::query(sql).bind(&now).bind(id).execute(pool).await.map(|_| ())
    })?;
    get(db, id).await
}

/// The principal of a presented key token, or `None` when it names no valid key: malformed,
/// unknown, a wrong secret, or revoked.
pub(crate) async fn authenticate(db: &Db, token: &[u8]) -> Result<Option<Principal>, ApiError> {
    let Some(id) = token_id(token) else {
        return Ok(None);
    };
    let sql = "SELECT secret_sha256, role, entity_id, revoked_at FROM api_keys WHERE id = $1";
    type AuthRow = (String, String, Option<String>, Option<String>);
    let row: Option<AuthRow> = on_pool!(db, pool => {
        sqlx::query_as::<_, AuthRow>(sql).bind(id).fetch_optional(pool).await
    })?;
    let Some((stored, role, entity_id, revoked_at)) = row else {
        return Ok(None);
    };
    if !token_matches(token_hash(token).as_bytes(), stored.as_bytes()) || revoked_at.is_some() {
        return Ok(None);
    }
    let Some(role) = Role::parse(&role) else {
        // The table's CHECK constraint allows only known roles; a row that says otherwise
        // grants nothing.
        tracing::warn!(key = id, "an API key has an unknown role; refused");
        return Ok(None);
    };
    Ok(Some(Principal {
        actor: format!("key:{id}"),
        role,
        entity_id,
    }))
}

/// The id part of a token `mez_<id>_<secret>`, when the token has that form: both parts
/// non-empty hex, so that nothing else is ever sent to the database.
fn token_id(token: &[u8]) -> Option<&str> {
    let rest = token.strip_prefix(PREFIX.as_bytes())?;
    let rest = std::str::from_utf8(rest).ok()?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id) && hex(secret)).then_some(id)
}

/// `/v1/keys` (behind the role check: zone_admin only).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/keys", routing::get(list_keys).post(create_key))
        .route("/v1/keys/{id}", routing::delete(revoke_key))
}

async fn create_key(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, axum::Json<CreatedKey>), ApiError> {
    let new = NewKey::from_body(&body)?;
    let created = create(&state.db, new).await?;
    tracing::info!(key = %created.id, role = %created.role, "API key created");
    Ok((StatusCode::CREATED, axum::Json(created)))
}

async fn list_keys(State(state): State<AppState>) -> Result<axum::Json<Vec<KeyInfo>>, ApiError> {
    Ok(axum::Json(list(&state.db).await?))
}

async fn revoke_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<KeyInfo>, ApiError> {
    match revoke(&state.db, &id).await? {
        Some(key) => {
            tracing::info!(key = %key.id, "API key revoked");
            Ok(axum::Json(key))
        }
        None => Err(ApiError::NotFound(format!("no API key {id}"))),
    }
}

/// Why a `mez-api keys` command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is wrong; the text says how to write it.
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    /// The command ran and failed.
    #[error("{0}")]
    Failed(String),
}

/// How to call `mez-api keys`.
pub const USAGE: &str = "usage:\n  mez-api keys create --role zone_admin|regulator|entity_operator [--entity ID] [--name NAME]\n  mez-api keys list\n  mez-api keys revoke ID\n\nThe zone's database is configured as for the server (DATABASE_URL, MEZ_DATA_DIR).";

/// Runs `mez-api keys <args>` against `db` and returns what to print: JSON, the created key
/// with its secret, the list of keys, or the revoked key.
pub async fn run_cli(db: &Db, args: &[String]) -> Result<String, CliError> {
    let failed = |err: ApiError| CliError::Failed(describe(&err));
    let answer = match args.split_first() {
        Some((command, rest)) if command == "create" => {
            let options = options(rest, &["--role", "--entity", "--name"])?;
            let find = |flag: &str| {
                options
                    .iter()
                    .find(|(f, _)| *f == flag)
                    .map(|(_, v)| v.as_str())
            };
            let new = NewKey::new(find("--role"), find("--entity"), find("--name"))
                .map_err(|err| CliError::Usage(describe(&err)))?;
            serde_json::to_value(create(db, new).await.map_err(failed)?)
        }
        Some((command, rest)) if command == "list" => {
            if !rest.is_empty() {
                return Err(CliError::Usage("keys list takes no arguments".into()));
            }
            serde_json::to_value(list(db).await.map_err(failed)?)
        }
        Some((command, rest)) if command == "revoke" => {
            let [id] = rest else {
                return Err(CliError::Usage("keys revoke takes one key id".into()));
            };
            match revoke(db, id).await.map_err(failed)? {
                Some(key) => serde_json::to_value(key),
                None => return Err(CliError::Failed(format!("no API key {id}"))),
            }
        }
        Some((command, _)) => {
            return Err(CliError::Usage(format!("unknown keys command {command:?}")));
        }
        None => return Err(CliError::Usage("keys needs a command".into())),
    };
    let answer = answer.map_err(|err| CliError::Failed(err.to_string()))?;
    serde_json::to_string_pretty(&answer).map_err(|err| CliError::Failed(err.to_string()))
}

/// `--flag value` pairs, each flag one of `known` and given at most once.
fn options<'a>(args: &'a [String], known: &[&str]) -> Result<Vec<(&'a str, &'a String)>, CliError> {
    let mut found: Vec<(&str, &String)> = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        if !known.contains(&flag.as_str()) {
            return Err(CliError::Usage(format!("unknown option {flag:?}")));
        }
        if found.iter().any(|(f, _)| *f == flag.as_str()) {
            return Err(CliError::Usage(format!("{flag} is given twice")));
        }
        let Some(value) = rest.next() else {
            return Err(CliError::Usage(format!("{flag} needs a value")));
        };
        found.push((flag.as_str(), value));
    }
    Ok(found)
}

/// An error as one line for the terminal, naming each field's problem (`--entity` for the
/// entity id, as the command line spells it).
fn describe(err: &ApiError) -> String {
    match err {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|e| {
                let flag = match e.field.as_str() {
                    "entity_id" => "--entity",
                    "role" => "--role",
                    "name" => "--name",
                    other => other,
                };
                format!("{flag} {}", e.message)
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_body_names_a_role_and_an_entity_only_for_an_operator() {
        let ok = NewKey::from_body(
            &json!({"role": "entity_operator", "entity_id": "e1", "name": "ops"}),
        )
        .expect("valid");
        assert_eq!(ok.role, Role::EntityOperator);
        assert_eq!(ok.entity_id.as_deref(), Some("e1"));
        assert_eq!(ok.name.as_deref(), Some("ops"));
        let ok =
            NewKey::from_body(&json!({"role": "regulator", "entity_id": null})).expect("valid");
        assert_eq!(
            (ok.role, ok.entity_id, ok.name),
            (Role::Regulator, None, None)
        );

        let cases = [
            (json!({}), vec!["role"]),
            (json!({"role": "root"}), vec!["role"]),
            (json!({"role": 7}), vec!["role"]),
            (json!({"role": "entity_operator"}), vec!["entity_id"]),
            (
                json!({"role": "zone_admin", "entity_id": "e1"}),
                vec!["entity_id"],
            ),
            (json!({"role": "regulator", "name": ""}), vec!["name"]),
            (
                json!({"role": "regulator", "name": "x".repeat(256)}),
                vec!["name"],
            ),
            (
                json!({"role": "entity_operator", "entity_id": "a\u{0}b"}),
                vec!["entity_id"],
            ),
            (json!({"role": "regulator", "scope": "all"}), vec!["scope"]),
            (json!([]), vec!["body"]),
        ];
        for (body, expected) in cases {
            let err = NewKey::from_body(&body).expect_err(&body.to_string());
            assert_eq!(fields(err), expected, "{body}");
        }
    }

    #[test]
    fn only_well_formed_tokens_have_an_id() {
        assert_eq!(token_id(b"mez_ab12_cd34"), Some("ab12"));
        for token in [
            &b"mez_ab12"[..],
            b"mez__cd34",
            b"mez_ab12_",
            b"mez_ab'12_cd34",
            b"mez_ab12_cd 34",
            b"mez_ab12_cd_34",
            b"xyz_ab12_cd34",
            b"mez_\xff_cd34",
        ] {
            assert_eq!(token_id(token), None, "{}", String::from_utf8_lossy(token));
        }
    }

    #[test]
    fn the_cli_refuses_malformed_command_lines() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for bad in [
            args(&["create", "--role"]),
            args(&["create", "--rol", "regulator"]),
            args(&["create", "--role", "regulator", "--role", "regulator"]),
        ] {
            assert!(
                matches!(
                    options(&bad[1..], &["--role", "--entity", "--name"]),
                    Err(CliError::Usage(_))
                ),
                "{bad:?}"
            );
        }
        let err = NewKey::new(Some("entity_operator"), None, None).expect_err("no entity");
        assert_eq!(
            describe(&err),
            "--entity is required for the entity_operator role"
        );
    }

    async fn keys_are_stored_hashed_and_revocation_is_seen_at_once(db: &Db) {
        let created = create(
            db,
            NewKey::new(Some("entity_operator"), Some("ent-1"), Some("ops")).expect("valid"),
        )
        .await
        .expect("created");
        let token = created.secret.clone();
        let secret = token
            .strip_prefix(&format!("{PREFIX}{}_", created.id))
            .expect("the token names its id");
        assert_eq!(secret.len(), 64, "256 bits as hex");
        let principal = authenticate(db, token.as_bytes())
            .await
            .expect("read")
            .expect("a valid key");
        assert_eq!(principal.actor, format!("key:{}", created.id));
        assert_eq!(principal.role, Role::EntityOperator);
        assert_eq!(principal.entity_id.as_deref(), Some("ent-1"));

        // A wrong secret for a real id, and a stored hash presented as a secret, are refused.
        let wrong = format!("{PREFIX}{}_{}", created.id, "0".repeat(64));
        assert_eq!(
            authenticate(db, wrong.as_bytes()).await.expect("read"),
            None
        );
        let listed = list(db).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].revoked_at, None);
        assert!(
            !serde_json::to_string(&listed)
                .expect("json")
                .contains(secret)
        );

        let revoked = revoke(db, &created.id)
            .await
            .expect("revoke")
            .expect("exists");
        let first = revoked.revoked_at.clone().expect("revoked");
        assert_eq!(
            authenticate(db, token.as_bytes()).await.expect("read"),
            None
        );
        let again = revoke(db, &created.id)
            .await
            .expect("revoke")
            .expect("exists");
        assert_eq!(again.revoked_at.as_deref(), Some(first.as_str()));
        assert_eq!(revoke(db, "0123").await.expect("revoke"), None);
    }

    #[tokio::test]
    async fn keys_round_trip_on_sqlite() {
        crate::test_support::on_sqlite(|url| async move {
            let db = Db::connect(&url).await.expect("connect");
            keys_are_stored_hashed_and_revocation_is_seen_at_once(&db).await;
            db.close().await;
        })
        .await;
    }

    #[tokio::test]
    async fn keys_round_trip_on_postgres() {
        crate::test_support::on_postgres("auth::keys::keys_round_trip", |url| async move {
            let db = Db::connect(&url).await.expect("connect");
            keys_are_stored_hashed_and_revocation_is_seen_at_once(&db).await;
            db.close().await;
        })
        .await;
    }
}
