// SPDX-License-Identifier: BUSL-1.1
//! The validated spec: what the back ends generate from.
//!
//! Everything here has passed the front end's checks, so the back ends can rely on it: every
//! model a route names exists, every path parameter has a field, every write has an audit
//! event, every default fits its field. Collections are `Vec`s in file order or `BTreeMap`s,
//! never hash maps, so generation is deterministic.

use std::collections::BTreeMap;

use crate::diag::Pos;

/// The whole spec: every service file of a spec directory.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Services in file-name order.
    pub services: Vec<Service>,
}

impl Spec {
    /// Every route of every service, in spec order.
    pub fn routes(&self) -> impl Iterator<Item = (&Service, &Route)> {
        self.services
            .iter()
            .flat_map(|s| s.routes.iter().map(move |r| (s, r)))
    }

    /// Every model of every service, in spec order.
    pub fn models(&self) -> impl Iterator<Item = (&Service, &Model)> {
        self.services
            .iter()
            .flat_map(|s| s.models.iter().map(move |m| (s, m)))
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models().map(|(_, m)| m).find(|m| m.name == name)
    }
}

/// One Mass service (one spec file).
#[derive(Debug, Clone)]
pub struct Service {
    /// `organization-info`.
    pub name: String,
    /// `/organization-info/api/v1`; empty for the zone's own routes.
    pub context_path: String,
    /// The environment variable holding the upstream base URL in proxy mode.
    pub url_env: Option<String>,
    pub models: Vec<Model>,
    pub routes: Vec<Route>,
    /// Static data served by `static` routes, as JSON.
    pub data: BTreeMap<String, serde_json::Value>,
    /// The zone's compliance rules (at most one file declares them).
    pub compliance: Option<Compliance>,
    /// Orchestrated `/v1` routes: each write runs the compliance/credential/audit pipeline.
    pub orchestrated: Vec<Orchestrated>,
    /// The hand-written Mass operations of `/v1` routes, with the direct routes each calls.
    pub mass_hooks: Vec<MassHook>,
    /// The zone's policies (at most one file declares them).
    pub policies: Option<Policies>,
    pub pos: Pos,
}

/// The policy engine's data (`policies:`): how many distinct approvals each authorization
/// requirement needs, and the policies, in file order.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// Requirement -> approvals needed (`automatic: 0`, `quorum: 2`, ...).
    pub approvals: Vec<(String, u64, Pos)>,
    pub rules: Vec<Policy>,
    pub pos: Pos,
}

/// One policy: when a trigger of `trigger` type arrives for a jurisdiction in `scope` (empty:
/// every one) and `condition` holds over the trigger's data, `action` is produced.
#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub description: String,
    pub trigger: String,
    pub condition: Option<Condition>,
    pub action: String,
    /// Higher wins when two policies produce the same action.
    pub priority: i64,
    pub scope: Vec<String>,
    /// `automatic`, `quorum`, `unanimous` or `governance`.
    pub authorization: String,
    pub enabled: bool,
    pub pos: Pos,
}

/// A condition over a trigger's data (reference 7.3). Fields are dot paths.
#[derive(Debug, Clone)]
pub enum Condition {
    /// The field is a number >= the value (a decimal, compared exactly).
    Threshold {
        field: String,
        value: String,
        pos: Pos,
    },
    Equals {
        field: String,
        value: serde_json::Value,
        pos: Pos,
    },
    NotEquals {
        field: String,
        value: serde_json::Value,
        pos: Pos,
    },
    /// The field is a list holding the item.
    Contains {
        field: String,
        item: serde_json::Value,
        pos: Pos,
    },
    /// The field's value is one of the values.
    In {
        field: String,
        values: Vec<serde_json::Value>,
        pos: Pos,
    },
    LessThan {
        field: String,
        value: String,
        pos: Pos,
    },
    GreaterThan {
        field: String,
        value: String,
        pos: Pos,
    },
    /// The field is truthy (not null, false, 0, or empty).
    Exists {
        field: String,
        pos: Pos,
    },
    And(Vec<Condition>, Pos),
    Or(Vec<Condition>, Pos),
}

impl Condition {
    /// The field a leaf predicate reads; `None` for `and`/`or`.
    pub fn field(&self) -> Option<&str> {
        match self {
            Condition::Threshold { field, .. }
            | Condition::Equals { field, .. }
            | Condition::NotEquals { field, .. }
            | Condition::Contains { field, .. }
            | Condition::In { field, .. }
            | Condition::LessThan { field, .. }
            | Condition::GreaterThan { field, .. }
            | Condition::Exists { field, .. } => Some(field),
            Condition::And(..) | Condition::Or(..) => None,
        }
    }

    pub fn pos(&self) -> &Pos {
        match self {
            Condition::Threshold { pos, .. }
            | Condition::Equals { pos, .. }
            | Condition::NotEquals { pos, .. }
            | Condition::Contains { pos, .. }
            | Condition::In { pos, .. }
            | Condition::LessThan { pos, .. }
            | Condition::GreaterThan { pos, .. }
            | Condition::Exists { pos, .. }
            | Condition::And(_, pos)
            | Condition::Or(_, pos) => pos,
        }
    }

    /// Every leaf predicate, depth first.
    pub fn leaves(&self) -> Vec<&Condition> {
        match self {
            Condition::And(items, _) | Condition::Or(items, _) => {
                items.iter().flat_map(Condition::leaves).collect()
            }
            leaf => vec![leaf],
        }
    }
}

/// A trigger a route's write fires (`fires:` on a route): its type, its data (data key ->
/// source path: `request.X`, `answer.X`, or for a `/v1` hook `outputs.X`), the data key that
/// names the entity it is about, and the condition (over the data) under which it fires.
#[derive(Debug, Clone)]
pub struct Fire {
    pub trigger: String,
    pub data: Vec<(String, String)>,
    pub subject: Option<String>,
    pub when: Option<Condition>,
    pub pos: Pos,
}

/// A hand-written `/v1` Mass operation and the direct routes it may call. The generated code
/// hands the hook a view with one typed method per declared route and no others, so a hook
/// cannot reach a route the spec does not list for it, and a listed route the spec no longer
/// has is a spec error at the list entry.
#[derive(Debug, Clone)]
pub struct MassHook {
    /// A snake_case function name in `mez-api/src/hooks/`.
    pub name: String,
    pub doc: Option<String>,
    /// Route names, with the position of each entry.
    pub calls: Vec<(String, Pos)>,
    /// Named values the hook hands back besides its answer (`outputs.X` in a route's
    /// `fires` data); the generated view has one setter per name.
    pub outputs: Vec<String>,
    /// Zone state the hook keeps besides Mass records (`keeps`): each name is a zone-local
    /// collection ([`MassHook::kept_collection`]) the hook reads with its version and writes in
    /// the request's own commit, in both modes; the generated view has a reader and a writer.
    pub keeps: Vec<String>,
    pub pos: Pos,
}

impl MassHook {
    /// The collection that holds the hook's kept state `name`: namespaced by the hook, so it
    /// meets no model's store and no other hook's state.
    pub fn kept_collection(&self, name: &str) -> String {
        format!("hook_{}_{name}", self.name)
    }
}

/// The compliance facts: domains, hard-block domains, jurisdiction applicability, currencies.
#[derive(Debug, Clone, Default)]
pub struct Compliance {
    pub domains: Vec<String>,
    pub hard_block: Vec<String>,
    /// Category name -> domains (`financial: [aml, kyc, ...]`).
    pub categories: Vec<(String, Vec<String>)>,
    /// Jurisdiction code -> applicable categories or domains.
    pub jurisdictions: Vec<(String, Vec<String>)>,
    /// Currency code -> jurisdiction code.
    pub currencies: Vec<(String, String)>,
    /// How each domain is decided from the zone's evidence (`evidence:`), in file order.
    pub evidence: Vec<EvidenceRule>,
    pub pos: Pos,
}

/// The rule that decides one compliance domain from the zone's own evidence (its
/// attestations and records). `kind` names one of the evaluator's rule kinds; the other
/// fields are that kind's parameters, as written (the checker says which kind takes which).
#[derive(Debug, Clone)]
pub struct EvidenceRule {
    /// The domain the rule decides.
    pub domain: String,
    /// `screening`, `owners_verified`, `entity_verified`, `entity_status`, `cap_table`,
    /// `account`, `all_of` or `licence_by_type`.
    pub kind: String,
    pub doc: Option<String>,
    /// The identity check that counts (`CNIC`, `NTN`).
    pub id_kind: Option<String>,
    /// How long evidence stays valid: `<n>s`, `<n>m`, `<n>h` or `<n>d`.
    pub valid_for: Option<String>,
    /// The state a non-filer tax status gives.
    pub non_filer: Option<String>,
    /// The entity status that passes.
    pub status: Option<String>,
    /// The domains an `all_of` rule combines.
    pub domains: Vec<String>,
    /// The entity types a `licence_by_type` rule holds to a licence.
    pub licensed_types: Vec<String>,
    pub pos: Pos,
}

/// Whose evidence a `/v1` write is judged on: an entity named by a request path, the entity
/// that owns an account named by a request path, or (`$resource`) the entity the write creates.
#[derive(Debug, Clone)]
pub enum Subject {
    Entity(String),
    Account(String),
}

/// One `/v1` route.
#[derive(Debug, Clone)]
pub struct Orchestrated {
    pub method: Method,
    pub path: String,
    /// The request model (snake_case keys).
    pub request: Option<String>,
    pub mass: MassSpec,
    pub jurisdiction: JurisdictionSource,
    pub domains: Vec<String>,
    /// Request paths whose values are screened against the sanctions list
    /// (`legal_name`, `beneficial_owners[].name`).
    pub screen: Vec<String>,
    /// Request paths holding organization ids whose stored names are screened.
    pub screen_entities: Vec<String>,
    /// Request paths holding account ids whose owning organization's name is screened.
    pub screen_accounts: Vec<String>,
    /// The key of the Mass answer holding the resource id (default `id`).
    pub answer_id: Option<String>,
    /// Keys of the Mass answer whose names are screened after the operation.
    pub screen_answer: Vec<String>,
    pub credential: Option<String>,
    /// Whose evidence decides the evidence-based domains of a write.
    pub subject: Option<Subject>,
    pub audit: Option<OrchestratedAudit>,
    /// The triggers its write fires.
    pub fires: Vec<Fire>,
    /// Who may use the route, as declared (`access:`); [`Orchestrated::access`] applies the
    /// default.
    pub access: Option<Access>,
    pub status: u16,
    pub doc: Option<String>,
    /// A valid request (fields and path parameters by name) for the parity suite.
    pub example: Option<serde_json::Value>,
    pub pos: Pos,
}

impl Orchestrated {
    pub fn params(&self) -> Vec<String> {
        path_params(&self.path)
    }

    /// Who may use the route: as declared, else `entity` (an orchestrated route is about an
    /// entity's records).
    pub fn access(&self) -> Access {
        self.access.unwrap_or(Access::Entity)
    }
}

/// Who may use a route (a route's `access:`), beyond the role rules every route shares (a
/// regulator only reads; a zone administrator does everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Zone information with no records: every role, nothing to confine (the default of a
    /// `static` route).
    Public,
    /// An entity's records: an entity operator confined to its entity, through the model's
    /// `entity:` link (the default of every other route).
    Entity,
    /// Zone administration: an entity operator is refused (403).
    Zone,
}

impl Access {
    /// The spellings a spec may declare, in the order error messages list them.
    pub const NAMES: [&'static str; 3] = ["public", "entity", "zone"];

    pub fn parse(name: &str) -> Option<Access> {
        [Access::Public, Access::Entity, Access::Zone]
            .into_iter()
            .find(|access| access.name() == name)
    }

    /// The access as the spec spells it (and the OpenAPI document's `x-mez-access`).
    pub fn name(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Entity => "entity",
            Access::Zone => "zone",
        }
    }

    /// The runtime's variant name.
    pub fn variant(self) -> &'static str {
        match self {
            Access::Public => "Public",
            Access::Entity => "Entity",
            Access::Zone => "Zone",
        }
    }
}

/// The Mass operation of a `/v1` route.
#[derive(Debug, Clone)]
pub enum MassSpec {
    /// A direct route of the surface, called with a body mapped from the request.
    Call {
        method: Method,
        path: String,
        /// Mass key -> request source, as JSON (see the runtime's mapping module).
        map: Option<serde_json::Value>,
    },
    /// A hand-written operation over the Mass backend (several calls, lookups).
    Hook(String),
}

/// Where a route's jurisdiction comes from, tried in this order.
#[derive(Debug, Clone, Default)]
pub struct JurisdictionSource {
    /// A request field holding a jurisdiction code.
    pub field: Option<String>,
    /// A request field holding a currency, mapped through the currency table.
    pub currency: Option<String>,
    /// A request field holding an organization id whose stored jurisdiction is used.
    pub entity: Option<String>,
    /// A fixed value.
    pub value: Option<String>,
}

/// The audit event of a `/v1` write.
#[derive(Debug, Clone)]
pub struct OrchestratedAudit {
    pub event: String,
    pub resource: String,
    pub action: String,
    /// Metadata key -> request field (the compliance status is always added).
    pub metadata: Vec<(String, String)>,
}

/// A data shape: a stored primitive (when `store` is set) or a request body.
#[derive(Debug, Clone)]
pub struct Model {
    /// PascalCase: `Organization`.
    pub name: String,
    pub doc: Option<String>,
    /// The collection records are kept in; `None` for request-only models.
    pub store: Option<String>,
    /// Whether records carry `createdAt` / `updatedAt`.
    pub created_at: bool,
    pub updated_at: bool,
    /// Whether keys beyond the declared fields are accepted and kept.
    pub open: bool,
    /// The field that links a stored record to the entity (organization) it belongs to
    /// (`organizationId`; `id` for the organization itself): whose halt stops writes to it.
    pub entity: Option<String>,
    pub fields: Vec<Field>,
    pub pos: Pos,
}

impl Model {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a model.
#[derive(Debug, Clone)]
pub struct Field {
    /// The key in the stored record and in responses.
    pub name: String,
    /// The key in requests, when it differs (`entityName` for `name`).
    pub input: String,
    pub ty: FieldType,
    pub required: bool,
    pub default: Option<serde_json::Value>,
    /// Set by the server (default or hook), never accepted from a request.
    pub server_set: bool,
    /// Accepted and checked, never stored.
    pub transient: bool,
    /// At most one record of the model holds a given value (enforced in the commit).
    pub unique: bool,
    pub trim: bool,
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// Bounds: integers for `integer`, decimal strings for `decimal`.
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    pub doc: Option<String>,
    pub pos: Pos,
}

/// A document-number format a string field must have (the zone checks it after trimming).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdCheck {
    /// Exactly 13 ASCII digits once separators are dropped.
    Cnic,
    /// Exactly 7 ASCII digits; an optional NTN may be empty (no NTN: a non-filer).
    Ntn,
}

impl Field {
    /// The document-number format of a string field named `cnic` or `ntn`: the name is how
    /// the Mass surface marks a CNIC or an NTN, in requests and answers alike.
    pub fn id_check(&self) -> Option<IdCheck> {
        match (self.name.as_str(), &self.ty) {
            ("cnic", FieldType::String) => Some(IdCheck::Cnic),
            ("ntn", FieldType::String) => Some(IdCheck::Ntn),
            _ => None,
        }
    }
}

/// A numeric bound as written in the spec.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Int(i64),
    Decimal(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    String,
    Integer,
    Boolean,
    Decimal,
    Uuid,
    DateTime,
    Json,
    Object,
    Enum(Vec<String>),
    StringList,
    JsonList,
    /// A list of objects, each checked against a request-only model of the spec.
    ModelList(String),
}

impl FieldType {
    /// The spelling used in the spec, for messages.
    pub fn spec_name(&self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Decimal => "decimal",
            Self::Uuid => "uuid",
            Self::DateTime => "datetime",
            Self::Json => "json",
            Self::Object => "object",
            Self::Enum(_) => "enum",
            Self::StringList => "list<string>",
            Self::JsonList => "list<json>",
            Self::ModelList(_) => "list<Model>",
        }
    }

    /// Whether a value of this type can arrive as a query-string parameter.
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            Self::String | Self::Decimal | Self::Uuid | Self::DateTime | Self::Enum(_)
        )
    }
}

/// HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    pub fn is_write(self) -> bool {
        !matches!(self, Self::Get)
    }
}

/// Where a create takes its input from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Body,
    Query,
}

/// One route of the direct surface.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route's snake_case name: the typed client's method, the `Route` variant and the
    /// OpenAPI operation id. Declared with `name:`, or derived from the service, method and path.
    pub name: String,
    /// Whether the spec declared the name (a derived one may change with the path).
    pub named: bool,
    pub method: Method,
    /// The path inside the service: `/organization/{id}`.
    pub path: String,
    pub op: Op,
    /// The audit event a write appends: `organization.created`.
    pub audit: Option<String>,
    /// The success status.
    pub status: u16,
    pub doc: Option<String>,
    /// A valid request (body or query fields, and path parameters by name) for the generated
    /// parity suite; `$resource` names the id of a record the `/v1` examples create.
    pub example: Option<serde_json::Value>,
    /// What a `hook` or `static` route answers (CRUD routes answer their model).
    pub response: Option<Response>,
    /// Rules the route's hook checks beyond the request schema (a referenced record exists,
    /// one field bounds another), in words: the OpenAPI document names them, since JSON
    /// Schema cannot state them.
    pub hook_rules: Vec<String>,
    /// Who may use the route, as declared (`access:`); [`Route::access`] applies the default
    /// of its operation kind.
    pub access: Option<Access>,
    /// The triggers its write fires.
    pub fires: Vec<Fire>,
    pub pos: Pos,
}

/// The declared answer of a hook or static route: `Model`, `list<Model>`, `list<json>` or
/// `empty` (no body).
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Model(String),
    ModelList(String),
    JsonList,
    Empty,
}

impl Route {
    /// The path parameters, in order.
    pub fn params(&self) -> Vec<String> {
        path_params(&self.path)
    }

    /// Who may use the route: as declared, else the default of its operation kind: `public`
    /// for static data; `zone` for a route over stored records that say no entity is theirs
    /// (nothing could confine an entity operator to its own, so it gets none); `entity` for
    /// everything else.
    pub fn access(&self, spec: &Spec) -> Access {
        if let Some(declared) = self.access {
            return declared;
        }
        let unlinked = self
            .model()
            .and_then(|name| spec.model(name))
            .is_some_and(|m| m.store.is_some() && m.entity.is_none());
        match self.op {
            Op::Static { .. } => Access::Public,
            _ if unlinked => Access::Zone,
            _ => Access::Entity,
        }
    }

    /// The model the route reads or writes, if any.
    pub fn model(&self) -> Option<&str> {
        match &self.op {
            Op::Create { model, .. }
            | Op::Get { model }
            | Op::Update { model }
            | Op::Delete { model }
            | Op::List { model, .. }
            | Op::Search { model, .. }
            | Op::ListBy { model }
            | Op::GetBy { model }
            | Op::Transition { model, .. } => Some(model),
            Op::Hook { .. } | Op::Static { .. } => None,
        }
    }

    /// The body model of the route (create/update bodies and hook requests).
    pub fn request_model(&self) -> Option<&str> {
        match &self.op {
            Op::Create { model, .. } | Op::Update { model } => Some(model),
            Op::Hook { request, .. } => request.as_deref(),
            _ => None,
        }
    }

    pub fn op_name(&self) -> &'static str {
        self.op.name()
    }
}

/// What a route does. CRUD is generated; `hook` calls a hand-written function.
#[derive(Debug, Clone)]
pub enum Op {
    Create {
        model: String,
        input: Input,
        /// A hand-written function that completes the record before it is stored.
        hook: Option<String>,
    },
    Get {
        model: String,
    },
    Update {
        model: String,
    },
    Delete {
        model: String,
    },
    List {
        model: String,
        /// A query parameter holding a comma-separated id list.
        ids_param: Option<String>,
        /// Query parameter -> field equality filters.
        filters: Vec<(String, String)>,
    },
    Search {
        model: String,
        field: String,
    },
    ListBy {
        model: String,
    },
    GetBy {
        model: String,
    },
    Transition {
        model: String,
        field: String,
        from: Vec<String>,
        to: String,
    },
    Static {
        data: Option<String>,
        key: Option<String>,
    },
    Hook {
        hook: String,
        request: Option<String>,
        read_only: bool,
    },
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Create { .. } => "create",
            Self::Get { .. } => "get",
            Self::Update { .. } => "update",
            Self::Delete { .. } => "delete",
            Self::List { .. } => "list",
            Self::Search { .. } => "search",
            Self::ListBy { .. } => "list_by",
            Self::GetBy { .. } => "get_by",
            Self::Transition { .. } => "transition",
            Self::Static { .. } => "static",
            Self::Hook { .. } => "hook",
        }
    }

    /// Whether the operation changes stored state.
    pub fn writes(&self, method: Method) -> bool {
        match self {
            Self::Create { .. } | Self::Update { .. } | Self::Delete { .. } => true,
            Self::Transition { .. } => true,
            Self::Hook { read_only, .. } => method.is_write() && !read_only,
            _ => false,
        }
    }
}

/// The `{name}` parameters of a path, in order.
pub fn path_params(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}
