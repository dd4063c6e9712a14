// SPDX-License-Identifier: BUSL-1.1
//! Credential status: W3C Bitstring Status List v1.0, so that a credential the zone issued can
//! be revoked (for good) or suspended (and reinstated), and any relying party can find out.
//!
//! Design:
//!
//! - **Positions.** Every credential a `/v1` write issues takes the next position `n` of one
//!   counter (table `credential_status_allocator`, one `UPDATE ... RETURNING`, atomic across
//!   replicas sharing the database; see [`allocate`]). Position `n` is bit `n % 131072` of the
//!   lists `revocation-K` and `suspension-K`, `K = n / 131072 + 1`: one list per purpose per
//!   131,072 credentials ([`LIST_SIZE`], the specification's minimum of 16 KiB). A write that
//!   fails after taking its position leaves a gap; no position is handed out twice.
//! - **Entries.** The credential carries `credentialStatus`: two `BitstringStatusListEntry`
//!   objects ([`entries`]), purposes `revocation` and `suspension`, each naming its list as
//!   `<MEZ_PUBLIC_URL>/v1/credentials/status/<list>` and its index (a string).
//! - **Bits.** One record per credential in the collection [`STATUS_COLLECTION`], keyed by the
//!   credential id (`urn:uuid:...`), holding the credential's attestation, resource, position
//!   and the two bits, plus `revokedIn` / `suspendedIn` (the list id, present only while the
//!   bit is set), which is what a list is built from. The record is inserted in the write's
//!   own commit; a bit changes through [`set_status`] (or [`set_status_for_resource`]) as a
//!   compare-and-swap `RecordOp::Replace` committed with its audit event
//!   (`credential.revoked`, `credential.suspended`, `credential.reinstated`).
//! - **Lists.** `GET /v1/credentials/status/{list}` ([`list_credential`]) answers a
//!   `BitstringStatusListCredential`, signed `eddsa-jcs-2022` by the zone key when asked, with
//!   `encodedList` = `u` + base64url-no-padding(GZIP(bitstring)), index 0 the most significant
//!   bit of the first byte. A list exists once one of its positions was handed out.
//! - **Revocation is permanent**: un-revoking is refused (409). Suspension may be lifted.

use std::io::Write;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ASSERTION_METHOD, CREDENTIAL_CONTEXTS, CRYPTOSUITE, PROOF_TYPE, sign_document};
use crate::audit::{AuditDraft, RecordOp, WriteUnit};
use crate::clock::now_rfc3339;
use crate::db::{Db, Query, Record, on_pool};
use crate::error::{ApiError, ConflictKind, FieldError};
use crate::extract::JsonBody;
use crate::pipeline::ATTESTATIONS;
use crate::runtime::commit::Retries;
use crate::state::AppState;

/// The collection of the per-credential status records.
pub const STATUS_COLLECTION: &str = "credential_status";

/// Positions per list: 131,072 bits (16 KiB), the minimum size the specification sets, so
/// that a list says nothing about how many credentials the zone issued.
pub const LIST_SIZE: u64 = 131_072;

/// The path under which the lists are served, after the public URL.
pub const LIST_PATH: &str = "/v1/credentials/status/";

/// How long a relying party may cache a list, in milliseconds (the list's `ttl`).
pub const LIST_TTL_MS: u64 = 300_000;

/// The longest `reason` an operator may give.
const MAX_REASON_CHARS: usize = 1000;

const ALLOCATE_SQL: &str = "UPDATE credential_status_allocator SET next_index = next_index + 1 \
     WHERE name = 'credentials' RETURNING next_index - 1";
const ALLOCATED_SQL: &str =
    "SELECT next_index FROM credential_status_allocator WHERE name = 'credentials'";

/// What a status bit means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Permanently withdrawn.
    Revocation,
    /// Temporarily withdrawn; may be reinstated.
    Suspension,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::Revocation, Purpose::Suspension];

    /// The `statusPurpose` value, also the prefix of the purpose's list ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }

    /// The record's boolean field (and the request's and answer's key).
    fn flag(self) -> &'static str {
        match self {
            Self::Revocation => "revoked",
            Self::Suspension => "suspended",
        }
    }

    /// The record's field naming the list while the bit is set.
    fn marker(self) -> &'static str {
        match self {
            Self::Revocation => "revokedIn",
            Self::Suspension => "suspendedIn",
        }
    }

    /// The audit event's type and action for setting the bit to `value`.
    fn event(self, value: bool) -> (&'static str, &'static str) {
        match (self, value) {
            (Self::Revocation, _) => ("credential.revoked", "revoke"),
            (Self::Suspension, true) => ("credential.suspended", "suspend"),
            (Self::Suspension, false) => ("credential.reinstated", "reinstate"),
        }
    }
}

/// A credential's position in the status lists (the same in both purposes' lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// The position in the zone's one sequence: 0, 1, 2, ...
    pub position: u64,
}

impl Slot {
    /// `K` of the lists `revocation-K` / `suspension-K` this position falls in.
    pub fn list_number(self) -> u64 {
        self.position / LIST_SIZE + 1
    }

    /// The bit within the list.
    pub fn index(self) -> u64 {
        self.position % LIST_SIZE
    }

    /// The list id for `purpose`: `revocation-1`, `suspension-3`, ...
    pub fn list_id(self, purpose: Purpose) -> String {
        format!("{}-{}", purpose.name(), self.list_number())
    }
}

/// The URL of a list.
pub fn list_url(public_url: &str, list_id: &str) -> String {
    format!("{public_url}{LIST_PATH}{list_id}")
}

/// Takes the next position. Positions are never handed out twice, whichever replica asks.
pub async fn allocate(db: &Db) -> Result<Slot, ApiError> {
    let position = on_pool!(db, pool => {
        sqlx::query_scalar::<_, i64>(ALLOCATE_SQL).fetch_optional(pool).await
    })
    .map_err(|err| ApiError::internal(format!("allocating a credential status position: {err}")))?
    .ok_or_else(|| ApiError::internal("the credential status allocator row is missing"))?;
    let position = u64::try_from(position)
        .map_err(|_| ApiError::internal("the credential status allocator went negative"))?;
    Ok(Slot { position })
}

/// How many positions were handed out so far.
async fn allocated(db: &Db) -> Result<u64, ApiError> {
    let next = on_pool!(db, pool => {
        sqlx::query_scalar::<_, i64>(ALLOCATED_SQL).fetch_optional(pool).await
    })
    .map_err(|err| ApiError::internal(format!("reading the credential status allocator: {err}")))?
    .unwrap_or(0);
    Ok(u64::try_from(next).unwrap_or(0))
}

/// The `credentialStatus` of a credential at `slot`: one entry per purpose.
pub fn entries(public_url: &str, slot: Slot) -> Value {
    Value::Array(
        Purpose::ALL
            .iter()
            .map(|&purpose| {
                let list = list_url(public_url, &slot.list_id(purpose));
                json!({
                    "id": format!("{list}#{}", slot.index()),
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": purpose.name(),
                    "statusListIndex": slot.index().to_string(),
                    "statusListCredential": list,
                })
            })
            .collect(),
    )
}

/// Where a credential's status is kept: the record's facts besides the bits.
pub struct Holder<'a> {
    pub credential_id: &'a str,
    pub attestation_id: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
}

/// The insert of a fresh credential's status record (both bits clear), for the write's commit.
pub fn record_op(holder: &Holder<'_>, slot: Slot, now: &str) -> RecordOp {
    let mut record = Map::new();
    record.insert("credentialId".into(), json!(holder.credential_id));
    record.insert("attestationId".into(), json!(holder.attestation_id));
    record.insert("resourceType".into(), json!(holder.resource_type));
    record.insert("resourceId".into(), json!(holder.resource_id));
    record.insert("position".into(), json!(slot.position));
    record.insert(
        "revocationList".into(),
        json!(slot.list_id(Purpose::Revocation)),
    );
    record.insert(
        "suspensionList".into(),
        json!(slot.list_id(Purpose::Suspension)),
    );
    record.insert("statusListIndex".into(), json!(slot.index()));
    record.insert("revoked".into(), json!(false));
    record.insert("suspended".into(), json!(false));
    record.insert("createdAt".into(), json!(now));
    record.insert("updatedAt".into(), json!(now));
    RecordOp::Insert {
        collection: STATUS_COLLECTION.into(),
        id: holder.credential_id.to_string(),
        record,
    }
}

/// A credential's two bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    pub revoked: bool,
    pub suspended: bool,
}

impl Status {
    fn of(record: &Record) -> Status {
        let flag = |p: Purpose| record.get(p.flag()).and_then(Value::as_bool) == Some(true);
        Status {
            revoked: flag(Purpose::Revocation),
            suspended: flag(Purpose::Suspension),
        }
    }

    fn get(self, purpose: Purpose) -> bool {
        match purpose {
            Purpose::Revocation => self.revoked,
            Purpose::Suspension => self.suspended,
        }
    }
}

/// The answer of a status change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub credential_id: String,
    pub revoked: bool,
    pub suspended: bool,
    /// Whether anything changed (setting a bit to the value it has writes nothing).
    pub changed: bool,
}

/// The record with `purpose`'s bit set to `value`, or why it may not be.
fn with_bit(
    record: &Record,
    purpose: Purpose,
    value: bool,
    now: &str,
) -> Result<Option<Record>, ApiError> {
    let current = Status::of(record).get(purpose);
    if current == value {
        return Ok(None);
    }
    if purpose == Purpose::Revocation && !value {
        let id = record
            .get("credentialId")
            .and_then(Value::as_str)
            .unwrap_or("the credential");
        return Err(ApiError::conflict(
            ConflictKind::State,
            format!("{id} is revoked, and revocation is permanent: it cannot be un-revoked"),
        ));
    }
    let list_field = match purpose {
        Purpose::Revocation => "revocationList",
        Purpose::Suspension => "suspensionList",
    };
    let list = record
        .get(list_field)
        .cloned()
        .ok_or_else(|| ApiError::internal("a credential status record without its list"))?;
    let mut next = record.clone();
    next.insert(purpose.flag().into(), json!(value));
    if value {
        next.insert(purpose.marker().into(), list);
    } else {
        next.remove(purpose.marker());
    }
    next.insert("updatedAt".into(), json!(now));
    Ok(Some(next))
}

fn audit_metadata(
    purpose: Purpose,
    value: bool,
    reason: Option<&str>,
    credentials: &[&Record],
) -> Value {
    let described: Vec<Value> = credentials
        .iter()
        .map(|r| {
            json!({
                "credential_id": r.get("credentialId"),
                "attestation_id": r.get("attestationId"),
                "status_list": r.get(match purpose {
                    Purpose::Revocation => "revocationList",
                    Purpose::Suspension => "suspensionList",
                }),
                "status_list_index": r.get("statusListIndex"),
            })
        })
        .collect();
    json!({
        "status_purpose": purpose.name(),
        "value": value,
        "reason": reason,
        "credentials": described,
    })
}

/// Sets `purpose`'s bit of the credential `credential_id` (`urn:uuid:...`) to `value`, in one
/// commit with its audit event (actor `actor`). Setting a bit to the value it has writes
/// nothing. Unknown credential: 404; un-revoking: 409.
///
/// This is the one place a single credential's status changes; policy executors call it too.
pub async fn set_status(
    state: &AppState,
    credential_id: &str,
    purpose: Purpose,
    value: bool,
    reason: Option<&str>,
    actor: &str,
) -> Result<StatusChange, ApiError> {
    let mut retries = Retries::default();
    loop {
        let (record, version) = state
            .db
            .get_versioned(STATUS_COLLECTION, credential_id)
            .await?
            .ok_or_else(|| {
                ApiError::NotFound(format!("credential {credential_id} has no status here"))
            })?;
        let now = now_rfc3339();
        let Some(next) = with_bit(&record, purpose, value, &now)? else {
            let status = Status::of(&record);
            return Ok(StatusChange {
                credential_id: credential_id.to_string(),
                revoked: status.revoked,
                suspended: status.suspended,
                changed: false,
            });
        };
        let (event_type, action) = purpose.event(value);
        let status = Status::of(&next);
        let unit = WriteUnit {
            audit: AuditDraft {
                event_type: event_type.into(),
                actor: actor.into(),
                resource_type: "credential".into(),
                resource_id: credential_id.into(),
                action: action.into(),
                metadata: audit_metadata(purpose, value, reason, &[&record]),
            },
            ops: vec![RecordOp::Replace {
                collection: STATUS_COLLECTION.into(),
                id: credential_id.into(),
                record: next,
                expected_version: version,
            }],
        };
        if retries.commit(state, unit).await? {
            return Ok(StatusChange {
                credential_id: credential_id.to_string(),
                revoked: status.revoked,
                suspended: status.suspended,
                changed: true,
            });
        }
    }
}

/// The credential ids of a resource's attestations (`resourceType`, `resourceId`), in the
/// order issued.
pub async fn credentials_of(
    state: &AppState,
    resource_type: &str,
    resource_id: &str,
) -> Result<Vec<String>, ApiError> {
    let page = state
        .db
        .list(
            ATTESTATIONS,
            &Query {
                equals: vec![("resourceType", resource_type), ("resourceId", resource_id)],
                ..Query::all()
            },
        )
        .await?;
    Ok(page
        .items
        .iter()
        .filter_map(|a| a.get("credentialId").and_then(Value::as_str))
        .map(str::to_string)
        .collect())
}

/// Sets `purpose`'s bit to `value` on every credential of a resource (found through its
/// attestations) that has a status, all in ONE commit with one audit event about the
/// resource (its metadata lists the credentials). Returns the credentials changed; those
/// already at `value`, and those issued before credentials carried a status, are left alone.
/// Un-revoking refuses the whole change (409).
///
/// For policy executors: halting an entity suspends all its credentials, resuming it lifts
/// the suspension.
pub async fn set_status_for_resource(
    state: &AppState,
    resource_type: &str,
    resource_id: &str,
    purpose: Purpose,
    value: bool,
    reason: Option<&str>,
    actor: &str,
) -> Result<Vec<String>, ApiError> {
    let mut retries = Retries::default();
    loop {
        let mut read = Vec::new();
        for id in credentials_of(state, resource_type, resource_id).await? {
            if let Some((record, version)) = state.db.get_versioned(STATUS_COLLECTION, &id).await? {
                read.push((id, record, version));
            }
        }
        let now = now_rfc3339();
        let mut ops = Vec::new();
        let mut changed_records = Vec::new();
        let mut changed = Vec::new();
        for (id, record, version) in &read {
            if let Some(next) = with_bit(record, purpose, value, &now)? {
                ops.push(RecordOp::Replace {
                    collection: STATUS_COLLECTION.into(),
                    id: id.clone(),
                    record: next,
                    expected_version: *version,
                });
                changed_records.push(record);
                changed.push(id.clone());
            }
        }
        if ops.is_empty() {
            return Ok(changed);
        }
        let (event_type, action) = purpose.event(value);
        let unit = WriteUnit {
            audit: AuditDraft {
                event_type: event_type.into(),
                actor: actor.into(),
                resource_type: resource_type.into(),
                resource_id: resource_id.into(),
                action: action.into(),
                metadata: audit_metadata(purpose, value, reason, &changed_records),
            },
            ops,
        };
        if retries.commit(state, unit).await? {
            return Ok(changed);
        }
    }
}

/// The credential ids of an entity: those of attestations linked to it (`entityId`) and
/// those about the entity itself (`resourceType` `entity`, attestations made before they
/// carried `entityId`), each once, in the order found.
pub async fn credentials_of_entity(
    state: &AppState,
    entity_id: &str,
) -> Result<Vec<String>, ApiError> {
    let mut ids = credentials_of(state, "entity", entity_id).await?;
    let page = state
        .db
        .list(
            ATTESTATIONS,
            &Query {
                equals: vec![("entityId", entity_id)],
                ..Query::all()
            },
        )
        .await?;
    for id in page
        .items
        .iter()
        .filter_map(|a| a.get("credentialId").and_then(Value::as_str))
    {
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// The record changes that set `purpose`'s bit to `value` on every credential of an entity
/// that has a status, for a caller to commit with its own audit event (a policy executor:
/// halting suspends, resuming lifts the suspension, a new sanctions hit revokes). Returns the
/// ops and the ids of the credentials they change; a credential already at `value` is left
/// alone. Un-revoking is refused (409).
pub async fn entity_status_ops(
    state: &AppState,
    entity_id: &str,
    purpose: Purpose,
    value: bool,
    now: &str,
) -> Result<(Vec<RecordOp>, Vec<String>), ApiError> {
    let mut ops = Vec::new();
    let mut changed = Vec::new();
    for id in credentials_of_entity(state, entity_id).await? {
        let Some((record, version)) = state.db.get_versioned(STATUS_COLLECTION, &id).await? else {
            continue;
        };
        if let Some(next) = with_bit(&record, purpose, value, now)? {
            ops.push(RecordOp::Replace {
                collection: STATUS_COLLECTION.into(),
                id: id.clone(),
                record: next,
                expected_version: version,
            });
            changed.push(id);
        }
    }
    Ok((ops, changed))
}

/// The status of a credential for `POST /v1/credentials/verify`: `None` when the zone does
/// not judge it (not issued by this zone, or issued before credentials carried
/// `credentialStatus`); otherwise its bits, or a 404-like `Err` text when this zone holds no
/// status for a credential that claims one.
pub async fn status_of(state: &AppState, credential: &Value) -> Result<Option<Lookup>, ApiError> {
    let issuer = match credential.get("issuer") {
        Some(Value::String(id)) => Some(id.as_str()),
        Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str),
        _ => None,
    };
    if issuer != Some(state.zone_did()) || credential.get("credentialStatus").is_none() {
        return Ok(None);
    }
    let Some(id) = credential.get("id").and_then(Value::as_str) else {
        return Ok(Some(Lookup::Unknown));
    };
    Ok(Some(match state.db.get(STATUS_COLLECTION, id).await? {
        Some(record) => Lookup::Found(Status::of(&record)),
        None => Lookup::Unknown,
    }))
}

/// What the zone knows of a status it should hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(Status),
    /// The credential names a status, but the zone has no record of it.
    Unknown,
}

/// A list id's purpose and number, if it is one (`revocation-1`, `suspension-12`).
fn parse_list_id(list_id: &str) -> Option<(Purpose, u64)> {
    let (prefix, number) = list_id.rsplit_once('-')?;
    let purpose = Purpose::ALL.into_iter().find(|p| p.name() == prefix)?;
    if number.is_empty() || number.starts_with('0') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((purpose, number.parse().ok()?))
}

/// The list's bitstring: [`LIST_SIZE`] bits, index 0 the most significant bit of byte 0.
async fn bitstring(state: &AppState, purpose: Purpose, list_id: &str) -> Result<Vec<u8>, ApiError> {
    let mut bits = vec![0_u8; (LIST_SIZE / 8) as usize];
    let set = state
        .db
        .list(
            STATUS_COLLECTION,
            &Query {
                equals: vec![(purpose.marker(), list_id)],
                ..Query::all()
            },
        )
        .await?;
    for record in &set.items {
        let index = record
            .get("statusListIndex")
            .and_then(Value::as_u64)
            .filter(|&i| i < LIST_SIZE)
            .ok_or_else(|| ApiError::internal("a credential status record without its index"))?;
        let byte = (index / 8) as usize;
        if let Some(slot) = bits.get_mut(byte) {
            *slot |= 0x80 >> (index % 8);
        }
    }
    Ok(bits)
}

/// `u` + base64url without padding of the GZIP of `bits` (the `encodedList` form).
pub fn encode_list(bits: &[u8]) -> Result<String, ApiError> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(bits)
        .map_err(|err| ApiError::internal(format!("compressing a status list: {err}")))?;
    let compressed = gzip
        .finish()
        .map_err(|err| ApiError::internal(format!("compressing a status list: {err}")))?;
    Ok(format!(
        "u{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed)
    ))
}

/// The signed `BitstringStatusListCredential` of `list_id`; 404 for a list that does not
/// exist (not a list id, or no position of it handed out yet).
pub async fn list_credential(state: &AppState, list_id: &str) -> Result<Value, ApiError> {
    let not_found = || ApiError::NotFound(format!("status list {list_id} not found"));
    let (purpose, number) = parse_list_id(list_id).ok_or_else(not_found)?;
    let first = (number - 1).checked_mul(LIST_SIZE).ok_or_else(not_found)?;
    if first >= allocated(&state.db).await? {
        return Err(not_found());
    }
    let encoded = encode_list(&bitstring(state, purpose, list_id).await?)?;
    let url = list_url(&state.config.public_url(), list_id);
    let now = now_rfc3339();
    let unsigned = json!({
        "@context": CREDENTIAL_CONTEXTS,
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": state.zone_did(),
        "validFrom": now,
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.name(),
            "encodedList": encoded,
            "ttl": LIST_TTL_MS,
        },
    });
    let options = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": now,
        "verificationMethod": state.zone_key.verification_method(),
        "proofPurpose": ASSERTION_METHOD,
    });
    sign_document(state.zone_key.signing_key(), &unsigned, &options)
}

/// `GET /v1/credentials/status/{list}`: served without a bearer token (relying parties fetch
/// it); mounted outside the authenticated routes.
pub fn public_router() -> Router<AppState> {
    Router::new().route("/v1/credentials/status/{list}", get(get_list))
}

/// `POST /v1/credentials/{id}/status`: the operator's change, behind the bearer token.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/credentials/{id}/status", post(change_status))
}

/// The list id is read from the raw path, not percent-decoded: a list id is plain ASCII, so
/// anything else (an escape included) names no list and is a JSON 404. (This route sits
/// outside the authenticated routes, where the path checks of the others do not run.)
async fn get_list(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<axum::Json<Value>, ApiError> {
    let list_id = uri.path().strip_prefix(LIST_PATH).unwrap_or_default();
    Ok(axum::Json(list_credential(&state, list_id).await?))
}

/// A status change request: `{"revoked": bool?, "suspended": bool?, "reason": string?}`.
struct ChangeRequest {
    revoked: Option<bool>,
    suspended: Option<bool>,
    reason: Option<String>,
}

fn parse_change(body: &Value) -> Result<ChangeRequest, ApiError> {
    let Value::Object(fields) = body else {
        return Err(ApiError::field(
            "body",
            "must be a JSON object with revoked and/or suspended",
        ));
    };
    let mut errors = Vec::new();
    let mut flag = |key: &str| match fields.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(FieldError::new(key, "must be a boolean"));
            None
        }
    };
    let revoked = flag("revoked");
    let suspended = flag("suspended");
    let reason = match fields.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= MAX_REASON_CHARS => Some(text.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                "reason",
                format!("must be at most {MAX_REASON_CHARS} characters"),
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("reason", "must be a string"));
            None
        }
    };
    for key in fields.keys() {
        if !matches!(key.as_str(), "revoked" | "suspended" | "reason") {
            errors.push(FieldError::new(key, "is not a field of a status change"));
        }
    }
    if errors.is_empty() && revoked.is_none() && suspended.is_none() {
        errors.push(FieldError::new(
            "revoked",
            "a status change sets revoked or suspended (or both)",
        ));
    }
    if errors.is_empty() {
        Ok(ChangeRequest {
            revoked,
            suspended,
            reason,
        })
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The credential id `id` names: a credential id (`urn:uuid:...`) as it is, an attestation id
/// through its attestation. 404 when neither.
async fn resolve_credential_id(state: &AppState, id: &str) -> Result<String, ApiError> {
    if id.starts_with("urn:") {
        return Ok(id.to_string());
    }
    state
        .db
        .get(ATTESTATIONS, id)
        .await?
        .and_then(|a| {
            a.get("credentialId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| ApiError::NotFound(format!("credential or attestation {id} not found")))
}

async fn change_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<axum::Json<Value>, ApiError> {
    let change = parse_change(&body)?;
    let credential_id = resolve_credential_id(&state, &id).await?;
    // Whether the credential exists is answered before the body's meaning is acted on.
    if state
        .db
        .get(STATUS_COLLECTION, &credential_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "credential {id} not found, or issued without a status"
        )));
    }
    let actor = "operator";
    let reason = change.reason.as_deref();
    let mut changed = false;
    let mut answer = None;
    // Revocation first: a request that revokes and suspends at once revokes even if the
    // suspension then fails.
    for (purpose, value) in [
        (Purpose::Revocation, change.revoked),
        (Purpose::Suspension, change.suspended),
    ] {
        if let Some(value) = value {
            let outcome = set_status(&state, &credential_id, purpose, value, reason, actor).await?;
            changed |= outcome.changed;
            answer = Some(outcome);
        }
    }
    let mut answer = answer.ok_or_else(|| ApiError::internal("a status change changed nothing"))?;
    answer.changed = changed;
    Ok(axum::Json(json!(answer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_to_lists_and_indexes() {
        let at = |position| Slot { position };
        assert_eq!(at(0).list_id(Purpose::Revocation), "revocation-1");
        assert_eq!(at(LIST_SIZE - 1).index(), LIST_SIZE - 1);
        assert_eq!(at(LIST_SIZE).list_id(Purpose::Suspension), "suspension-2");
        assert_eq!(at(LIST_SIZE + 5).index(), 5);
    }

    #[test]
    fn list_ids_parse_strictly() {
        assert_eq!(
            parse_list_id("revocation-1"),
            Some((Purpose::Revocation, 1))
        );
        assert_eq!(
            parse_list_id("suspension-12"),
            Some((Purpose::Suspension, 12))
        );
        for bad in [
            "revocation-0",
            "revocation-01",
            "revocation-",
            "other-1",
            "revocation-1x",
        ] {
            assert_eq!(parse_list_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn change_bodies_are_checked() {
        assert!(parse_change(&json!({"revoked": true})).is_ok());
        for bad in [
            json!({}),
            json!([]),
            json!({"revoked": "yes"}),
            json!({"suspended": true, "extra": 1}),
            json!({"reason": "why"}),
            json!({"revoked": true, "reason": 5}),
        ] {
            assert!(
                matches!(parse_change(&bad), Err(ApiError::Validation(_))),
                "{bad}"
            );
        }
    }
}
