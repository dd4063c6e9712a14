// SPDX-License-Identifier: BUSL-1.1
//! The spec as static data: what generated code declares and the runtime interprets.

use serde_json::Value;

use crate::error::ApiError;

/// A model of the spec: a stored primitive or a request body.
#[derive(Debug, PartialEq)]
pub struct ModelSpec {
    pub name: &'static str,
    /// The collection its records are stored in; `None` for request-only models.
    pub collection: Option<&'static str>,
    pub created_at: bool,
    pub updated_at: bool,
    /// Whether keys beyond the declared fields are accepted and kept verbatim.
    pub open: bool,
    pub fields: &'static [FieldSpec],
}

impl ModelSpec {
    /// The collection of a stored model. Generated code only calls store operations on stored
    /// models (the spec checker guarantees it), so a miss is a server bug, not a client error.
    pub fn collection(&self) -> Result<&'static str, ApiError> {
        self.collection
            .ok_or_else(|| ApiError::internal(format!("model {} is not stored", self.name)))
    }

    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a model, with the rules a request value must meet.
#[derive(Debug, PartialEq)]
pub struct FieldSpec {
    /// Key in records and responses.
    pub name: &'static str,
    /// Key in requests.
    pub input: &'static str,
    pub ty: FieldType,
    pub required: bool,
    pub default: DefaultValue,
    /// Set by the server; a request may not send it.
    pub server_set: bool,
    /// Accepted and checked, never stored.
    pub transient: bool,
    /// At most one record of the model holds a given value of this field.
    pub unique: bool,
    pub trim: bool,
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    /// The document-number format a string must have (the spec's `cnic` and `ntn` fields).
    pub id_check: Option<IdCheck>,
}

/// A Pakistani document number's format, checked on the (trimmed) text of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdCheck {
    /// A CNIC: exactly 13 ASCII digits once everything else (separators) is dropped.
    Cnic,
    /// An NTN: exactly 7 ASCII digits, taken as given (not stripped of separators, as the
    /// Mass surface's direct route reads it).
    Ntn,
}

impl IdCheck {
    /// The number's normal form (a CNIC's 13 digits, an NTN as given), or why it is not one.
    pub fn check(self, text: &str) -> Result<String, String> {
        match self {
            IdCheck::Cnic => {
                let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                if digits.len() == 13 {
                    Ok(digits)
                } else {
                    Err(format!("must be exactly 13 digits, got {}", digits.len()))
                }
            }
            IdCheck::Ntn if text.len() == 7 && text.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(text.to_string())
            }
            IdCheck::Ntn => Err(format!("must be exactly 7 digits, got '{text}'")),
        }
    }
}

impl FieldSpec {
    /// The defaults generated code fills the rest of a field from.
    pub const BASE: FieldSpec = FieldSpec {
        name: "",
        input: "",
        ty: FieldType::Json,
        required: false,
        default: DefaultValue::Null,
        server_set: false,
        transient: false,
        unique: false,
        trim: false,
        min_len: None,
        max_len: None,
        min_items: None,
        max_items: None,
        min: None,
        max: None,
        id_check: None,
    };
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldType {
    String,
    Integer,
    Boolean,
    /// A decimal number carried as a JSON string, so no precision is lost.
    Decimal,
    Uuid,
    DateTime,
    Json,
    Object,
    Enum(&'static [&'static str]),
    StringList,
    JsonList,
    /// A list of objects, each checked against a request-only model.
    ModelList(&'static ModelSpec),
}

/// A bound on an integer or decimal field (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Int(i64),
    Decimal(&'static str),
}

/// A field's default, as a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Null,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    EmptyList,
    EmptyObject,
    /// Any other JSON value, as text (checked by the spec front end).
    Json(&'static str),
}

impl DefaultValue {
    pub fn to_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Int(i) => Value::from(i),
            Self::Str(s) => Value::String(s.to_string()),
            Self::EmptyList => Value::Array(Vec::new()),
            Self::EmptyObject => Value::Object(serde_json::Map::new()),
            Self::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }
}

/// One direct route, as the spec declares it (used by tests and tools, not for routing).
#[derive(Debug)]
pub struct RouteInfo {
    /// The route's name in the spec (its typed client method).
    pub name: &'static str,
    pub service: &'static str,
    /// The variable naming the upstream base URL of the route's service, in proxy mode.
    pub url_env: Option<&'static str>,
    /// A valid request from the spec (JSON text), for the generated parity suite.
    pub example: Option<&'static str>,
    pub method: &'static str,
    /// The full axum path: `/organization-info/api/v1/organization/{id}`.
    pub path: &'static str,
    pub op: &'static str,
    /// The stored model the route reads or writes.
    pub model: Option<&'static ModelSpec>,
    /// The model its body (or query, for `query_input`) is validated against.
    pub request: Option<&'static ModelSpec>,
    pub query_input: bool,
    pub hook: Option<&'static str>,
    pub audit: Option<&'static str>,
    pub status: u16,
    /// The triggers a write of the route fires.
    pub fires: &'static [crate::policy::Fire],
    /// Who may use the route (the spec's `access:`, or its operation kind's default).
    pub access: Access,
}

/// Who may use a route, as the spec declares it (`access:`), beyond the rules every route
/// shares (a regulator only reads): enforced by [`crate::auth::scope::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Zone information with no records: every role.
    Public,
    /// An entity's records: an entity operator confined to its own entity.
    Entity,
    /// Zone administration: an entity operator is refused (403).
    Zone,
}

/// One orchestrated `/v1` route, as the spec declares it.
#[derive(Debug)]
pub struct V1Route {
    /// A valid request from the spec (JSON text), for the generated parity suite.
    pub example: Option<&'static str>,
    pub method: &'static str,
    pub path: &'static str,
    /// The request model (absent for reads).
    pub request: Option<&'static ModelSpec>,
    pub mass: MassOp,
    pub jurisdiction: JurisdictionSource,
    /// The compliance domains that matter for this operation.
    pub domains: &'static [&'static str],
    /// Request paths whose values are screened against the sanctions list.
    pub screen: &'static [&'static str],
    /// Request paths holding organization ids whose stored names are screened.
    pub screen_entities: &'static [&'static str],
    /// Request paths holding account ids whose owning organization's name is screened.
    pub screen_accounts: &'static [&'static str],
    /// The key of the Mass answer that holds the resource id.
    pub answer_id: &'static str,
    /// Keys of the Mass answer whose names are screened after the operation.
    pub screen_answer: &'static [&'static str],
    pub credential: Option<&'static str>,
    /// Whose evidence decides the evidence-based domains of a write.
    pub subject: Option<Subject>,
    pub audit: Option<V1Audit>,
    pub status: u16,
    /// The triggers a write of the route fires.
    pub fires: &'static [crate::policy::Fire],
    /// Who may use the route (the spec's `access:`, else `entity`).
    pub access: Access,
}

/// The entity whose evidence a `/v1` write is judged on.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    /// The entity a request path names.
    Entity(&'static str),
    /// The entity that owns the account a request path names.
    Account(&'static str),
    /// The entity the write itself creates (its resource id).
    Resource,
}

/// The Mass operation of a `/v1` route.
#[derive(Debug)]
pub enum MassOp {
    /// A direct route, with the request mapped onto its body.
    Call {
        route: crate::surface::Route,
        /// The mapping as JSON text (see `runtime::mapping`).
        map: Option<&'static str>,
    },
    /// A hand-written operation in `crate::hooks`.
    Hook(crate::surface::MassHook),
}

/// Where a `/v1` write's jurisdiction comes from, tried in field order.
#[derive(Debug, Default)]
pub struct JurisdictionSource {
    pub field: Option<&'static str>,
    pub currency: Option<&'static str>,
    pub entity: Option<&'static str>,
    pub value: Option<&'static str>,
}

/// The audit event a `/v1` write appends.
#[derive(Debug)]
pub struct V1Audit {
    pub event: &'static str,
    pub resource: &'static str,
    pub action: &'static str,
    /// Metadata key -> request path (`$jurisdiction` for the evaluated jurisdiction).
    pub metadata: &'static [(&'static str, &'static str)],
}

/// The answer of a search route.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchPage<T> {
    pub content: Vec<T>,
    #[serde(rename = "totalElements")]
    pub total_elements: u64,
    #[serde(rename = "totalPages")]
    pub total_pages: u64,
    pub number: u64,
    pub size: u64,
}
