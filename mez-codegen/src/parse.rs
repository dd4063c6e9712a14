// SPDX-License-Identifier: BUSL-1.1
//! The front end: YAML with positions -> the spec model, reporting every error at once.
//!
//! Parsing is tolerant: a bad key or value records a diagnostic and parsing goes on, so one
//! run reports all problems. Cross-references (a route naming a model, a path parameter
//! needing a field, ...) are checked afterwards in [`crate::check`], over the whole spec,
//! because a route may name a model of another file.

use std::collections::BTreeMap;

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoaderOptions, Node, Span};

mod policy;

use crate::diag::{Diagnostics, Pos};
use crate::model::{
    Access, Bound, Compliance, EvidenceRule, Field, FieldType, Input, JurisdictionSource, MassHook,
    MassSpec, Method, Model, Op, Orchestrated, OrchestratedAudit, Response, Route, Service,
    Subject,
};

/// Parses one spec file. `file` is the name used in diagnostics (`spec/zone.yaml`).
pub fn parse_service(file: &str, text: &str, diags: &mut Diagnostics) -> Option<Service> {
    if !check_stream(file, text, diags) {
        return None;
    }
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let root = match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(node) => node,
        Err(err) => {
            let (line, col, message) = load_error(&err);
            diags.push(
                &Pos {
                    file: file.to_string(),
                    line,
                    col,
                },
                message,
            );
            return None;
        }
    };
    let p = Parser { file, diags };
    p.service(&root)
}

/// Checks what the YAML loader does not: characters YAML forbids (a NUL would silently end
/// the file) and a second document after `---` or text after `...` (the loader reads only
/// the first document). Returns false when the text cannot be parsed as it stands.
fn check_stream(file: &str, text: &str, diags: &mut Diagnostics) -> bool {
    let at = |line: usize, col: usize| Pos {
        file: file.to_string(),
        line,
        col,
    };
    let mut printable = true;
    // A document marker is `---` or `...` at the start of a line, alone or before a blank.
    let marker = |line: &str, m: &str| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let (mut in_document, mut ended) = (false, false);
    for (i, line) in text.split('\n').enumerate() {
        for (col, c) in line.chars().enumerate() {
            if !is_yaml_printable(c) {
                printable = false;
                diags.push(
                    &at(i + 1, col + 1),
                    format!(
                        "character U+{:04X} is not allowed in a YAML file; write it as an escape in a double-quoted string",
                        u32::from(c)
                    ),
                );
            }
        }
        if marker(line, "---") {
            if in_document || ended {
                diags.push(
                    &at(i + 1, 1),
                    "a second YAML document starts here; a spec file holds exactly one",
                );
                break;
            }
            in_document = true;
        } else if marker(line, "...") {
            ended = true;
        } else {
            let content = line.trim_start();
            let blank = content.is_empty() || content.starts_with('#');
            let directive = !in_document && line.starts_with('%');
            if !blank && !directive {
                if ended {
                    diags.push(
                        &at(i + 1, 1),
                        "text after the end of the YAML document (\"...\"); a spec file holds exactly one document",
                    );
                    break;
                }
                in_document = true;
            }
        }
    }
    printable
}

/// YAML's printable characters (YAML 1.2, `c-printable`); the rest may not appear raw.
fn is_yaml_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}'
        | '\u{10000}'..='\u{10ffff}')
}

/// Position and message of a YAML load error (syntax, duplicate key, ...).
fn load_error(err: &marked_yaml::LoadError) -> (usize, usize, String) {
    use marked_yaml::LoadError as E;
    let at = |m: &marked_yaml::Marker| (m.line(), m.column());
    let ((line, col), message) = match err {
        E::TopLevelMustBeMapping(m) => (at(m), "the top level must be a mapping".to_string()),
        E::TopLevelMustBeSequence(m) => (at(m), "the top level must be a sequence".to_string()),
        E::UnexpectedAnchor(m) => (at(m), "YAML anchors are not supported in the spec".into()),
        E::MappingKeyMustBeScalar(m) => (at(m), "mapping keys must be plain scalars".into()),
        E::UnexpectedTag(m) => (at(m), "YAML tags are not supported in the spec".into()),
        E::ScanError(m, e) => (at(m), format!("YAML syntax error: {e}")),
        E::DuplicateKey(inner) => {
            let first = inner
                .prev_key
                .span()
                .start()
                .map(|m| format!("{}:{}", m.line(), m.column()))
                .unwrap_or_default();
            let here = inner.key.span().start().map(at).unwrap_or((1, 1));
            (
                here,
                format!(
                    "duplicate key \"{}\" (first defined at line {first})",
                    inner.key.as_str()
                ),
            )
        }
    };
    (line, col, message)
}

struct Parser<'a> {
    file: &'a str,
    diags: &'a mut Diagnostics,
}

const SERVICE_KEYS: &[&str] = &[
    "service",
    "context_path",
    "url_env",
    "models",
    "routes",
    "data",
    "compliance",
    "orchestrated",
    "mass_hooks",
    "policies",
];
const MASS_HOOK_KEYS: &[&str] = &["doc", "calls", "outputs", "keeps"];
const COMPLIANCE_KEYS: &[&str] = &[
    "domains",
    "hard_block",
    "categories",
    "jurisdictions",
    "currencies",
    "evidence",
];
const EVIDENCE_KEYS: &[&str] = &[
    "rule",
    "doc",
    "id_kind",
    "valid_for",
    "non_filer",
    "status",
    "domains",
    "licensed_types",
];
const SUBJECT_KEYS: &[&str] = &["entity", "account"];
const ORCHESTRATED_KEYS: &[&str] = &[
    "route",
    "doc",
    "request",
    "mass",
    "jurisdiction",
    "domains",
    "screen",
    "screen_entities",
    "screen_accounts",
    "answer_id",
    "screen_answer",
    "credential",
    "subject",
    "audit",
    "fires",
    "access",
    "status",
    "example",
];
const MASS_KEYS: &[&str] = &["call", "map", "hook"];
const JURISDICTION_KEYS: &[&str] = &["field", "currency", "entity", "value"];
const AUDIT_KEYS: &[&str] = &["event", "resource", "action", "metadata"];
const MODEL_KEYS: &[&str] = &["doc", "store", "timestamps", "open", "entity", "fields"];
const FIELD_KEYS: &[&str] = &[
    "type",
    "required",
    "default",
    "server_set",
    "transient",
    "input",
    "trim",
    "min_len",
    "max_len",
    "min_items",
    "max_items",
    "min",
    "max",
    "values",
    "doc",
    "unique",
];
const ROUTE_KEYS: &[&str] = &[
    "route",
    "name",
    "op",
    "model",
    "audit",
    "status",
    "doc",
    "input",
    "hook",
    "request",
    "read_only",
    "ids_param",
    "filters",
    "field",
    "from",
    "to",
    "data",
    "key",
    "example",
    "response",
    "hook_rules",
    "fires",
    "access",
];
const OPS: &[&str] = &[
    "create",
    "get",
    "update",
    "delete",
    "list",
    "search",
    "list_by",
    "get_by",
    "transition",
    "static",
    "hook",
];
const TYPES: &[&str] = &[
    "string",
    "integer",
    "boolean",
    "decimal",
    "uuid",
    "datetime",
    "json",
    "object",
    "enum",
    "list<string>",
    "list<json>",
    "list<ModelName>",
];

impl Parser<'_> {
    fn pos(&self, span: &Span) -> Pos {
        let (line, col) = span
            .start()
            .map(|m| (m.line(), m.column()))
            .unwrap_or((1, 1));
        Pos {
            file: self.file.to_string(),
            line,
            col,
        }
    }

    fn err(&mut self, span: &Span, message: impl Into<String>) {
        let pos = self.pos(span);
        self.diags.push(&pos, message);
    }

    /// Reports every key of `map` that is not in `known`.
    fn known_keys(&mut self, map: &MarkedMappingNode, what: &str, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                self.err(
                    key.span(),
                    format!(
                        "unknown key \"{}\" in {what} (expected one of: {})",
                        key.as_str(),
                        known.join(", ")
                    ),
                );
            }
        }
    }

    fn mapping<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n MarkedMappingNode> {
        let map = node.as_mapping();
        if map.is_none() {
            self.err(node.span(), format!("{what} must be a mapping"));
        }
        map
    }

    fn sequence<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n MarkedSequenceNode> {
        let seq = node.as_sequence();
        if seq.is_none() {
            self.err(node.span(), format!("{what} must be a list"));
        }
        seq
    }

    fn scalar<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n MarkedScalarNode> {
        let s = node.as_scalar();
        if s.is_none() {
            self.err(node.span(), format!("{what} must be a single value"));
        }
        s
    }

    fn string(&mut self, map: &MarkedMappingNode, key: &str, what: &str) -> Option<String> {
        let node = map.get_node(key)?;
        self.scalar(node, &format!("\"{key}\" of {what}"))
            .map(|s| s.as_str().to_string())
    }

    fn required_string(
        &mut self,
        map: &MarkedMappingNode,
        key: &str,
        what: &str,
    ) -> Option<String> {
        if map.get_node(key).is_none() {
            self.err(map.span(), format!("{what} is missing \"{key}\""));
            return None;
        }
        self.string(map, key, what)
    }

    fn bool(&mut self, map: &MarkedMappingNode, key: &str, what: &str) -> bool {
        let Some(node) = map.get_node(key) else {
            return false;
        };
        match node.as_scalar().and_then(|s| s.as_bool()) {
            Some(b) => b,
            None => {
                self.err(
                    node.span(),
                    format!("\"{key}\" of {what} must be true or false"),
                );
                false
            }
        }
    }

    fn uint(&mut self, map: &MarkedMappingNode, key: &str, what: &str) -> Option<u64> {
        let node = map.get_node(key)?;
        let value = node.as_scalar().and_then(|s| s.as_u64());
        if value.is_none() {
            self.err(
                node.span(),
                format!("\"{key}\" of {what} must be a non-negative integer"),
            );
        }
        value
    }

    fn service(mut self, root: &Node) -> Option<Service> {
        let map = self.mapping(root, "a spec file")?;
        self.known_keys(map, "a service", SERVICE_KEYS);
        let pos = self.pos(map.span());
        let name = self.required_string(map, "service", "the service")?;
        let context_path = self
            .required_string(map, "context_path", "the service")
            .unwrap_or_default();
        if !context_path.is_empty()
            && (!context_path.starts_with('/') || context_path.ends_with('/'))
        {
            let span = map
                .get_node("context_path")
                .map(|n| *n.span())
                .unwrap_or(*map.span());
            self.err(
                &span,
                format!("context_path \"{context_path}\" must start with '/' and not end with one"),
            );
        }
        self.context_path_syntax(map, &context_path);
        let url_env = self.string(map, "url_env", "the service");

        let mut models = Vec::new();
        if let Some(node) = map.get_node("models") {
            if let Some(models_map) = self.mapping(node, "\"models\"") {
                for (key, value) in models_map.iter() {
                    if let Some(model) = self.model(key, value) {
                        models.push(model);
                    }
                }
            }
        }

        let mut routes = Vec::new();
        if let Some(node) = map.get_node("routes") {
            if let Some(seq) = self.sequence(node, "\"routes\"") {
                for item in seq.iter() {
                    if let Some(mut route) = self.route(item) {
                        if !route.named {
                            route.name = crate::rust::snake(&format!(
                                "{} {} {}",
                                name,
                                route.method.as_str().to_ascii_lowercase(),
                                route.path.replace(['{', '}'], "")
                            ));
                        }
                        routes.push(route);
                    }
                }
            }
        }

        let mut data = BTreeMap::new();
        if let Some(node) = map.get_node("data") {
            if let Some(data_map) = self.mapping(node, "\"data\"") {
                for (key, value) in data_map.iter() {
                    data.insert(key.as_str().to_string(), to_json(value));
                }
            }
        }

        let compliance = map.get_node("compliance").and_then(|n| self.compliance(n));
        let mut orchestrated = Vec::new();
        if let Some(node) = map.get_node("orchestrated") {
            if let Some(seq) = self.sequence(node, "\"orchestrated\"") {
                for item in seq.iter() {
                    if let Some(o) = self.orchestrated(item) {
                        orchestrated.push(o);
                    }
                }
            }
        }

        let mut mass_hooks = Vec::new();
        if let Some(node) = map.get_node("mass_hooks") {
            if let Some(hooks_map) = self.mapping(node, "\"mass_hooks\"") {
                for (key, value) in hooks_map.iter() {
                    if let Some(hook) = self.mass_hook(key, value) {
                        mass_hooks.push(hook);
                    }
                }
            }
        }

        let policies = map.get_node("policies").and_then(|n| self.policies(n));
        Some(Service {
            name,
            context_path,
            url_env,
            models,
            routes,
            data,
            compliance,
            orchestrated,
            mass_hooks,
            policies,
            pos,
        })
    }

    /// `name: { doc, calls: [route names] }` of `mass_hooks`.
    fn mass_hook(&mut self, key: &MarkedScalarNode, node: &Node) -> Option<MassHook> {
        let name = key.as_str().to_string();
        let what = format!("mass hook \"{name}\"");
        let map = self.mapping(node, &what)?;
        self.known_keys(map, &what, MASS_HOOK_KEYS);
        let mut calls = Vec::new();
        match map.get_node("calls") {
            Some(cnode) => {
                if let Some(seq) = self.sequence(cnode, &format!("\"calls\" of {what}")) {
                    for item in seq.iter() {
                        if let Some(s) =
                            self.scalar(item, &format!("an item of \"calls\" of {what}"))
                        {
                            calls.push((s.as_str().to_string(), self.pos(s.span())));
                        }
                    }
                }
            }
            None => self.err(map.span(), format!("{what} is missing \"calls\"")),
        }
        let outputs = self.string_list(map, "outputs", &what);
        let keeps = self.string_list(map, "keeps", &what);
        Some(MassHook {
            name,
            doc: self.string(map, "doc", &what),
            calls,
            outputs,
            keeps,
            pos: self.pos(key.span()),
        })
    }

    /// A context path is a URL path prefix: `/` and segments of unreserved URL characters.
    fn context_path_syntax(&mut self, map: &MarkedMappingNode, context_path: &str) {
        if context_path.is_empty() || !context_path.starts_with('/') || context_path.ends_with('/')
        {
            // Empty (the zone's own routes), or already reported above.
            return;
        }
        let bad = context_path[1..]
            .split('/')
            .any(|segment| segment.is_empty() || !segment.chars().all(is_url_unreserved));
        if bad {
            let span = map
                .get_node("context_path")
                .map(|n| *n.span())
                .unwrap_or(*map.span());
            self.err(
                &span,
                format!("context_path \"{context_path}\" must be '/'-separated segments of letters, digits, '-', '.', '_' and '~' (no spaces, no empty segments)"),
            );
        }
    }

    /// A list of plain strings.
    fn strings(&mut self, node: &Node, what: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(seq) = self.sequence(node, what) {
            for item in seq.iter() {
                if let Some(s) = self.scalar(item, &format!("an item of {what}")) {
                    out.push(s.as_str().to_string());
                }
            }
        }
        out
    }

    fn string_list(&mut self, map: &MarkedMappingNode, key: &str, what: &str) -> Vec<String> {
        match map.get_node(key) {
            Some(node) => self.strings(node, &format!("\"{key}\" of {what}")),
            None => Vec::new(),
        }
    }

    /// `name: [a, b]` pairs of a mapping, in file order.
    fn named_lists(&mut self, map: &MarkedMappingNode, key: &str) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        if let Some(node) = map.get_node(key) {
            if let Some(m) = self.mapping(node, &format!("\"{key}\"")) {
                for (k, v) in m.iter() {
                    let items = self.strings(v, &format!("\"{key}.{}\"", k.as_str()));
                    out.push((k.as_str().to_string(), items));
                }
            }
        }
        out
    }

    /// `key: value` pairs of a mapping of scalars, in file order.
    fn pairs(&mut self, map: &MarkedMappingNode, key: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(node) = map.get_node(key) {
            if let Some(m) = self.mapping(node, &format!("\"{key}\"")) {
                for (k, v) in m.iter() {
                    if let Some(s) = self.scalar(v, &format!("\"{key}.{}\"", k.as_str())) {
                        out.push((k.as_str().to_string(), s.as_str().to_string()));
                    }
                }
            }
        }
        out
    }

    fn compliance(&mut self, node: &Node) -> Option<Compliance> {
        let map = self.mapping(node, "\"compliance\"")?;
        self.known_keys(map, "\"compliance\"", COMPLIANCE_KEYS);
        Some(Compliance {
            domains: self.string_list(map, "domains", "\"compliance\""),
            hard_block: self.string_list(map, "hard_block", "\"compliance\""),
            categories: self.named_lists(map, "categories"),
            jurisdictions: self.named_lists(map, "jurisdictions"),
            currencies: self.pairs(map, "currencies"),
            evidence: self.evidence(map),
            pos: self.pos(map.span()),
        })
    }

    /// `evidence: {domain: {rule: KIND, ...}}`, in file order.
    fn evidence(&mut self, map: &MarkedMappingNode) -> Vec<EvidenceRule> {
        let mut out = Vec::new();
        let Some(node) = map.get_node("evidence") else {
            return out;
        };
        let Some(rules) = self.mapping(node, "\"evidence\"") else {
            return out;
        };
        for (domain, rule) in rules.iter() {
            let what = format!("the evidence rule of \"{}\"", domain.as_str());
            let Some(m) = self.mapping(rule, &what) else {
                continue;
            };
            self.known_keys(m, &what, EVIDENCE_KEYS);
            let Some(kind) = self.required_string(m, "rule", &what) else {
                continue;
            };
            out.push(EvidenceRule {
                domain: domain.as_str().to_string(),
                kind,
                doc: self.string(m, "doc", &what),
                id_kind: self.string(m, "id_kind", &what),
                valid_for: self.string(m, "valid_for", &what),
                non_filer: self.string(m, "non_filer", &what),
                status: self.string(m, "status", &what),
                domains: self.string_list(m, "domains", &what),
                licensed_types: self.string_list(m, "licensed_types", &what),
                pos: self.pos(m.span()),
            });
        }
        out
    }

    /// `subject: {entity: PATH}` or `subject: {account: PATH}`.
    /// A route's declared `access:`, one of [`Access::NAMES`].
    fn access(&mut self, map: &MarkedMappingNode, what: &str) -> Option<Access> {
        let node = map.get_node("access")?;
        let text = self.scalar(node, &format!("\"access\" of {what}"))?;
        let name = text.as_str().to_string();
        let access = Access::parse(&name);
        if access.is_none() {
            self.err(
                node.span(),
                format!(
                    "unknown access \"{name}\" in {what} (expected one of: {})",
                    Access::NAMES.join(", ")
                ),
            );
        }
        access
    }

    fn subject(&mut self, map: &MarkedMappingNode, what: &str) -> Option<Subject> {
        let node = map.get_node("subject")?;
        let swhat = format!("\"subject\" of {what}");
        let m = self.mapping(node, &swhat)?;
        self.known_keys(m, &swhat, SUBJECT_KEYS);
        match (
            self.string(m, "entity", &swhat),
            self.string(m, "account", &swhat),
        ) {
            (Some(path), None) => Some(Subject::Entity(path)),
            (None, Some(path)) => Some(Subject::Account(path)),
            _ => {
                self.err(
                    m.span(),
                    format!("{swhat} needs exactly one of \"entity\" or \"account\""),
                );
                None
            }
        }
    }

    /// Splits `METHOD /path`, reporting a malformed line.
    fn route_line(&mut self, line: &str, span: &Span) -> Option<(Method, String)> {
        let what = format!("route \"{line}\"");
        let (method, path) = match line.split_once(' ') {
            Some((m, p)) => (m.trim(), p.trim()),
            None => {
                self.err(span, format!("{what} must read \"METHOD /path\""));
                return None;
            }
        };
        let method = match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            other => {
                self.err(
                    span,
                    format!(
                        "unknown method \"{other}\" in {what} (expected GET, POST, PUT or DELETE)"
                    ),
                );
                return None;
            }
        };
        if !path.starts_with('/') || path.contains(' ') {
            self.err(
                span,
                format!("the path of {what} must start with '/' and hold no spaces"),
            );
        }
        Some((method, path.to_string()))
    }

    fn status(&mut self, map: &MarkedMappingNode, what: &str, default: u16) -> u16 {
        match map.get_node("status") {
            Some(node) => match node.as_scalar().and_then(|s| s.as_u16()) {
                Some(s) if (200..300).contains(&s) => s,
                _ => {
                    self.err(
                        node.span(),
                        format!("\"status\" of {what} must be a 2xx status code"),
                    );
                    default
                }
            },
            None => default,
        }
    }

    fn orchestrated(&mut self, node: &Node) -> Option<Orchestrated> {
        let map = self.mapping(node, "an orchestrated route")?;
        self.known_keys(map, "an orchestrated route", ORCHESTRATED_KEYS);
        let pos = self.pos(map.span());
        let line = self.required_string(map, "route", "an orchestrated route")?;
        let span = map
            .get_node("route")
            .map(|n| *n.span())
            .unwrap_or(*map.span());
        let (method, path) = self.route_line(&line, &span)?;
        let what = format!("route \"{line}\"");
        let Some(mass_node) = map.get_node("mass") else {
            self.err(map.span(), format!("{what} is missing \"mass\""));
            return None;
        };
        let mass_what = format!("\"mass\" of {what}");
        let mass_map = self.mapping(mass_node, &mass_what)?;
        self.known_keys(mass_map, &mass_what, MASS_KEYS);
        let mass = match (
            self.string(mass_map, "call", &what),
            self.string(mass_map, "hook", &what),
        ) {
            (Some(call), None) => {
                let cspan = mass_map
                    .get_node("call")
                    .map(|n| *n.span())
                    .unwrap_or(*mass_map.span());
                let (m, p) = self.route_line(&call, &cspan)?;
                MassSpec::Call {
                    method: m,
                    path: p,
                    map: mass_map.get_node("map").map(to_json),
                }
            }
            (None, Some(hook)) => MassSpec::Hook(hook),
            _ => {
                self.err(
                    mass_map.span(),
                    format!("{mass_what} needs exactly one of \"call\" or \"hook\""),
                );
                return None;
            }
        };
        let mut jurisdiction = JurisdictionSource::default();
        if let Some(jnode) = map.get_node("jurisdiction") {
            let jwhat = format!("\"jurisdiction\" of {what}");
            if let Some(jmap) = self.mapping(jnode, &jwhat) {
                self.known_keys(jmap, &jwhat, JURISDICTION_KEYS);
                jurisdiction = JurisdictionSource {
                    field: self.string(jmap, "field", &jwhat),
                    currency: self.string(jmap, "currency", &jwhat),
                    entity: self.string(jmap, "entity", &jwhat),
                    value: self.string(jmap, "value", &jwhat),
                };
            }
        }
        let audit = match map.get_node("audit") {
            Some(anode) => {
                let awhat = format!("\"audit\" of {what}");
                let amap = self.mapping(anode, &awhat)?;
                self.known_keys(amap, &awhat, AUDIT_KEYS);
                Some(OrchestratedAudit {
                    event: self.required_string(amap, "event", &awhat)?,
                    resource: self.required_string(amap, "resource", &awhat)?,
                    action: self.required_string(amap, "action", &awhat)?,
                    metadata: self.pairs(amap, "metadata"),
                })
            }
            None => None,
        };
        let default_status = if method == Method::Post && audit.is_some() {
            201
        } else {
            200
        };
        Some(Orchestrated {
            status: self.status(map, &what, default_status),
            method,
            path,
            request: self.string(map, "request", &what),
            mass,
            jurisdiction,
            domains: self.string_list(map, "domains", &what),
            screen: self.string_list(map, "screen", &what),
            screen_entities: self.string_list(map, "screen_entities", &what),
            screen_accounts: self.string_list(map, "screen_accounts", &what),
            answer_id: self.string(map, "answer_id", &what),
            screen_answer: self.string_list(map, "screen_answer", &what),
            credential: self.string(map, "credential", &what),
            subject: self.subject(map, &what),
            audit,
            fires: self.fires(map, &what),
            access: self.access(map, &what),
            doc: self.string(map, "doc", &what),
            example: map.get_node("example").map(to_json),
            pos,
        })
    }

    fn model(&mut self, key: &MarkedScalarNode, node: &Node) -> Option<Model> {
        let name = key.as_str().to_string();
        let what = format!("model \"{name}\"");
        let map = self.mapping(node, &what)?;
        self.known_keys(map, &what, MODEL_KEYS);
        let store = self.string(map, "store", &what);
        let open = self.bool(map, "open", &what);
        let entity = self.string(map, "entity", &what);
        let doc = self.string(map, "doc", &what);
        let (mut created_at, mut updated_at) = (store.is_some(), store.is_some());
        if let Some(ts) = map.get_node("timestamps") {
            if let Some(seq) = self.sequence(ts, "\"timestamps\"") {
                created_at = false;
                updated_at = false;
                for item in seq.iter() {
                    match item.as_scalar().map(|s| s.as_str()) {
                        Some("createdAt") => created_at = true,
                        Some("updatedAt") => updated_at = true,
                        _ => self.err(
                            item.span(),
                            "timestamps may only list createdAt and updatedAt",
                        ),
                    }
                }
            }
        }
        let mut fields = Vec::new();
        match map.get_node("fields") {
            Some(fnode) => {
                if let Some(fmap) = self.mapping(fnode, &format!("fields of {what}")) {
                    if fmap.is_empty() {
                        self.err(fnode.span(), format!("{what} declares no fields"));
                    }
                    for (fkey, fvalue) in fmap.iter() {
                        if let Some(field) = self.field(&name, fkey, fvalue) {
                            fields.push(field);
                        }
                    }
                }
            }
            None => self.err(map.span(), format!("{what} has no \"fields\"")),
        }
        Some(Model {
            name,
            doc,
            store,
            created_at,
            updated_at,
            open,
            entity,
            fields,
            pos: self.pos(key.span()),
        })
    }

    fn field(&mut self, model: &str, key: &MarkedScalarNode, node: &Node) -> Option<Field> {
        let name = key.as_str().to_string();
        let what = format!("field \"{model}.{name}\"");
        let map = self.mapping(node, &what)?;
        self.known_keys(map, &what, FIELD_KEYS);
        let ty_name = self.required_string(map, "type", &what)?;
        let ty_span = map
            .get_node("type")
            .map(|n| *n.span())
            .unwrap_or(*map.span());
        let ty = match ty_name.as_str() {
            "string" => FieldType::String,
            "integer" => FieldType::Integer,
            "boolean" => FieldType::Boolean,
            "decimal" => FieldType::Decimal,
            "uuid" => FieldType::Uuid,
            "datetime" => FieldType::DateTime,
            "json" => FieldType::Json,
            "object" => FieldType::Object,
            "list<string>" => FieldType::StringList,
            "list<json>" => FieldType::JsonList,
            other
                if other.starts_with("list<")
                    && other.ends_with('>')
                    && other[5..other.len() - 1].starts_with(|c: char| c.is_ascii_uppercase()) =>
            {
                FieldType::ModelList(other[5..other.len() - 1].to_string())
            }
            "enum" => {
                let mut values = Vec::new();
                match map.get_node("values") {
                    Some(v) => {
                        if let Some(seq) = self.sequence(v, &format!("\"values\" of {what}")) {
                            for item in seq.iter() {
                                if let Some(s) = self.scalar(item, "an enum value") {
                                    values.push(s.as_str().to_string());
                                }
                            }
                            if values.is_empty() {
                                self.err(v.span(), format!("{what} has an empty \"values\" list"));
                            }
                        }
                    }
                    None => self.err(&ty_span, format!("enum {what} has no \"values\"")),
                }
                FieldType::Enum(values)
            }
            other => {
                self.err(
                    &ty_span,
                    format!(
                        "unknown type \"{other}\" for {what} (expected one of: {})",
                        TYPES.join(", ")
                    ),
                );
                return None;
            }
        };
        if map.get_node("values").is_some() && !matches!(ty, FieldType::Enum(_)) {
            let span = map
                .get_node("values")
                .map(|n| *n.span())
                .unwrap_or(*map.span());
            self.err(
                &span,
                format!("\"values\" only applies to enums, but {what} is {ty_name}"),
            );
        }
        let bound = |p: &mut Self, key: &str| -> Option<Bound> {
            let node = map.get_node(key)?;
            let Some(s) = node.as_scalar() else {
                p.err(node.span(), format!("\"{key}\" of {what} must be a number"));
                return None;
            };
            match &ty {
                FieldType::Integer => match s.as_i64() {
                    Some(i) => Some(Bound::Int(i)),
                    None => {
                        p.err(
                            node.span(),
                            format!("\"{key}\" of {what} must be an integer"),
                        );
                        None
                    }
                },
                FieldType::Decimal => {
                    if is_decimal(s.as_str()) {
                        Some(Bound::Decimal(s.as_str().to_string()))
                    } else {
                        p.err(
                            node.span(),
                            format!("\"{key}\" of {what} must be a decimal number"),
                        );
                        None
                    }
                }
                _ => {
                    p.err(
                        node.span(),
                        format!("\"{key}\" only applies to integer and decimal fields, but {what} is {ty_name}"),
                    );
                    None
                }
            }
        };
        let min = bound(self, "min");
        let max = bound(self, "max");
        let default = map.get_node("default").map(to_json);
        let field = Field {
            input: self
                .string(map, "input", &what)
                .unwrap_or_else(|| name.clone()),
            required: self.bool(map, "required", &what),
            server_set: self.bool(map, "server_set", &what),
            transient: self.bool(map, "transient", &what),
            unique: self.bool(map, "unique", &what),
            trim: self.bool(map, "trim", &what),
            min_len: self.uint(map, "min_len", &what),
            max_len: self.uint(map, "max_len", &what),
            min_items: self.uint(map, "min_items", &what),
            max_items: self.uint(map, "max_items", &what),
            doc: self.string(map, "doc", &what),
            name,
            ty,
            default,
            min,
            max,
            pos: self.pos(key.span()),
        };
        Some(field)
    }

    fn route(&mut self, node: &Node) -> Option<Route> {
        let map = self.mapping(node, "a route")?;
        self.known_keys(map, "a route", ROUTE_KEYS);
        let pos = self.pos(map.span());
        let line = self.required_string(map, "route", "a route")?;
        let route_span = map
            .get_node("route")
            .map(|n| *n.span())
            .unwrap_or(*map.span());
        let what = format!("route \"{line}\"");
        let (method, path) = self.route_line(&line, &route_span)?;
        let path = path.as_str();
        let op_name = self.required_string(map, "op", &what)?;
        let model = self.string(map, "model", &what);
        let need_model = |p: &mut Self| -> Option<String> {
            if model.is_none() {
                p.err(
                    map.span(),
                    format!("{what} (op {op_name}) needs a \"model\""),
                );
            }
            model.clone()
        };
        let op = match op_name.as_str() {
            "create" => {
                let input = match self.string(map, "input", &what).as_deref() {
                    None | Some("body") => Input::Body,
                    Some("query") => Input::Query,
                    Some(other) => {
                        let span = map
                            .get_node("input")
                            .map(|n| *n.span())
                            .unwrap_or(*map.span());
                        self.err(
                            &span,
                            format!("unknown input \"{other}\" (expected body or query)"),
                        );
                        Input::Body
                    }
                };
                Op::Create {
                    model: need_model(self)?,
                    input,
                    hook: self.string(map, "hook", &what),
                }
            }
            "get" => Op::Get {
                model: need_model(self)?,
            },
            "update" => Op::Update {
                model: need_model(self)?,
            },
            "delete" => Op::Delete {
                model: need_model(self)?,
            },
            "list_by" => Op::ListBy {
                model: need_model(self)?,
            },
            "get_by" => Op::GetBy {
                model: need_model(self)?,
            },
            "list" => {
                let mut filters = Vec::new();
                if let Some(fnode) = map.get_node("filters") {
                    if let Some(fmap) = self.mapping(fnode, "\"filters\"") {
                        for (k, v) in fmap.iter() {
                            if let Some(s) = self.scalar(v, "a filter's field") {
                                filters.push((k.as_str().to_string(), s.as_str().to_string()));
                            }
                        }
                    }
                }
                Op::List {
                    model: need_model(self)?,
                    ids_param: self.string(map, "ids_param", &what),
                    filters,
                }
            }
            "search" => Op::Search {
                model: need_model(self)?,
                field: self.required_string(map, "field", &what)?,
            },
            "transition" => {
                let mut from = Vec::new();
                if let Some(fnode) = map.get_node("from") {
                    if let Some(seq) = self.sequence(fnode, "\"from\"") {
                        for item in seq.iter() {
                            if let Some(s) = self.scalar(item, "a state") {
                                from.push(s.as_str().to_string());
                            }
                        }
                    }
                }
                Op::Transition {
                    model: need_model(self)?,
                    field: self.required_string(map, "field", &what)?,
                    from,
                    to: self.required_string(map, "to", &what)?,
                }
            }
            "static" => Op::Static {
                data: self.string(map, "data", &what),
                key: self.string(map, "key", &what),
            },
            "hook" => Op::Hook {
                hook: self.required_string(map, "hook", &what)?,
                request: self.string(map, "request", &what),
                read_only: self.bool(map, "read_only", &what),
            },
            other => {
                let span = map.get_node("op").map(|n| *n.span()).unwrap_or(*map.span());
                self.err(
                    &span,
                    format!(
                        "unknown op \"{other}\" in {what} (expected one of: {})",
                        OPS.join(", ")
                    ),
                );
                return None;
            }
        };
        let default_status = if matches!(op, Op::Create { .. }) {
            201
        } else {
            200
        };
        let status = self.status(map, &what, default_status);
        let name = self.string(map, "name", &what);
        let response = self
            .string(map, "response", &what)
            .map(|text| match text.as_str() {
                "empty" => Response::Empty,
                "list<json>" => Response::JsonList,
                other => match other
                    .strip_prefix("list<")
                    .and_then(|t| t.strip_suffix('>'))
                {
                    Some(item) => Response::ModelList(item.to_string()),
                    None => Response::Model(other.to_string()),
                },
            });
        Some(Route {
            response,
            named: name.is_some(),
            name: name.unwrap_or_default(),
            method,
            path: path.to_string(),
            op,
            audit: self.string(map, "audit", &what),
            status,
            doc: self.string(map, "doc", &what),
            example: map.get_node("example").map(to_json),
            hook_rules: self.string_list(map, "hook_rules", &what),
            fires: self.fires(map, &what),
            access: self.access(map, &what),
            pos,
        })
    }
}

/// An unreserved URL character (RFC 3986): letters, digits, `-`, `.`, `_`, `~`.
pub fn is_url_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Whether text is a plain decimal number: the runtime's own definition, compiled here too.
pub fn is_decimal(text: &str) -> bool {
    decimal::is_plain_decimal(text)
}

#[path = "../../mez-api/src/runtime/decimal.rs"]
pub(crate) mod decimal;

/// Converts a YAML node to JSON with YAML 1.2 core-schema typing of plain scalars; quoted
/// scalars are always strings.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Scalar(s) => {
            if !s.may_coerce() {
                return Value::String(s.as_str().to_string());
            }
            let text = s.as_str();
            match text {
                "" | "~" | "null" => Value::Null,
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    if let Ok(i) = text.parse::<i64>() {
                        Value::from(i)
                    } else if let Some(n) = text
                        .parse::<f64>()
                        .ok()
                        .filter(|_| is_decimal(text))
                        .and_then(serde_json::Number::from_f64)
                    {
                        Value::Number(n)
                    } else {
                        Value::String(text.to_string())
                    }
                }
            }
        }
        Node::Sequence(seq) => Value::Array(seq.iter().map(to_json).collect()),
        Node::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().to_string(), to_json(v)))
                .collect(),
        ),
    }
}
