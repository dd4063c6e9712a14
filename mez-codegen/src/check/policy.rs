// SPDX-License-Identifier: BUSL-1.1
//! Checks of the policy engine's data: the policies (known trigger types, actions and
//! authorization requirements, unique ids, well-formed conditions), the triggers routes fire
//! (known types, data paths that resolve against the route's request, answer or hook
//! outputs, a subject and conditions over the trigger's own data), and the models' entity
//! links.

use std::collections::BTreeMap;

use super::{is_snake, resolve_path};
use crate::diag::{Diagnostics, Pos};
use crate::model::{Condition, Fire, MassSpec, Model, Policies, Response, Route, Spec};

/// The trigger types of the policy engine (reference 7.1).
pub const TRIGGER_TYPES: &[&str] = &[
    "sanctions_list_update",
    "license_status_change",
    "guidance_update",
    "compliance_deadline",
    "dispute_filed",
    "ruling_received",
    "appeal_period_expired",
    "enforcement_due",
    "corridor_state_change",
    "settlement_anchor_available",
    "watcher_quorum_reached",
    "checkpoint_due",
    "key_rotation_due",
    "governance_vote_resolved",
    "tax_year_end",
    "withholding_due",
    "entity_dissolution",
    "pack_updated",
    "asset_transfer_initiated",
    "migration_deadline",
];

/// The actions a policy may produce (reference 7.2).
pub const ACTIONS: &[&str] = &[
    "transfer",
    "mint",
    "burn",
    "activate_binding",
    "deactivate_binding",
    "migrate_binding",
    "update_manifest",
    "amend_governance",
    "add_governor",
    "remove_governor",
    "dividend",
    "split",
    "merger",
    "halt",
    "resume",
    "arbitration_enforce",
];

/// The authorization requirements; `policies.approvals` gives each its number of approvals.
pub const AUTHORIZATIONS: &[&str] = &["automatic", "quorum", "unanimous", "governance"];

/// A dot path of identifiers (`a.b.c`).
fn is_dot_path(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('.')
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// Checks every condition leaf's field; `known_roots`, when given, are the only first
/// segments a field may start with (a trigger's data keys).
fn check_condition(
    c: &Condition,
    what: &str,
    known_roots: Option<&[&str]>,
    diags: &mut Diagnostics,
) {
    for leaf in c.leaves() {
        let Some(field) = leaf.field() else { continue };
        if !is_dot_path(field) {
            diags.push(
                leaf.pos(),
                format!("{what}: field \"{field}\" must be a dot path of letters, digits and '_'"),
            );
            continue;
        }
        if let Some(roots) = known_roots {
            let root = field.split('.').next().unwrap_or(field);
            if !roots.contains(&root) {
                diags.push(
                    leaf.pos(),
                    format!(
                        "{what}: field \"{field}\" is not in the trigger's data (its keys: {})",
                        roots.join(", ")
                    ),
                );
            }
        }
        if let Condition::In { values, .. } = leaf {
            if values.is_empty() {
                diags.push(
                    leaf.pos(),
                    format!("{what}: \"in\" needs at least one value"),
                );
            }
        }
    }
}

/// The policies: at most one file declares them; approvals for exactly the four
/// requirements; ids unique snake_case; trigger types, actions and requirements known.
pub fn check_policies(spec: &Spec, diags: &mut Diagnostics) {
    let declared: Vec<(&Policies, &Pos)> = spec
        .services
        .iter()
        .filter_map(|s| s.policies.as_ref().map(|p| (p, &s.pos)))
        .collect();
    if let Some(((_, first), rest)) = declared.split_first() {
        for (_, pos) in rest {
            diags.push(
                pos,
                format!("\"policies\" is declared twice (first at {first})"),
            );
        }
    }
    for (policies, _) in declared {
        let mut seen: BTreeMap<&str, &Pos> = BTreeMap::new();
        for (name, _, pos) in &policies.approvals {
            if !AUTHORIZATIONS.contains(&name.as_str()) {
                diags.push(
                    pos,
                    format!(
                        "unknown authorization requirement \"{name}\" in \"approvals\" (expected one of: {})",
                        AUTHORIZATIONS.join(", ")
                    ),
                );
            }
            if let Some(first) = seen.insert(name, pos) {
                diags.push(
                    pos,
                    format!("the approvals of \"{name}\" are declared twice (first at {first})"),
                );
            }
        }
        for (name, n, pos) in &policies.approvals {
            if name == "automatic" && *n != 0 {
                diags.push(pos, "\"automatic\" needs 0 approvals (it runs at once)");
            }
            if name != "automatic" && *n == 0 {
                diags.push(pos, format!("\"{name}\" needs at least 1 approval"));
            }
        }
        for name in AUTHORIZATIONS {
            if !seen.contains_key(name) {
                diags.push(
                    &policies.pos,
                    format!("\"approvals\" does not say how many approvals \"{name}\" needs"),
                );
            }
        }
        let mut ids: BTreeMap<&str, &Pos> = BTreeMap::new();
        for p in &policies.rules {
            let what = format!("policy \"{}\"", p.id);
            if !is_snake(&p.id) || !p.id.starts_with(|c: char| c.is_ascii_lowercase()) {
                diags.push(
                    &p.pos,
                    format!("{what}: the id must be snake_case, starting with a letter"),
                );
            }
            if let Some(first) = ids.insert(&p.id, &p.pos) {
                diags.push(
                    &p.pos,
                    format!(
                        "duplicate policy id \"{}\" (first declared at {first})",
                        p.id
                    ),
                );
            }
            if p.description.trim().is_empty() {
                diags.push(&p.pos, format!("{what}: the description is empty"));
            }
            if !TRIGGER_TYPES.contains(&p.trigger.as_str()) {
                diags.push(
                    &p.pos,
                    format!(
                        "{what}: unknown trigger type \"{}\" (expected one of: {})",
                        p.trigger,
                        TRIGGER_TYPES.join(", ")
                    ),
                );
            }
            if !ACTIONS.contains(&p.action.as_str()) {
                diags.push(
                    &p.pos,
                    format!(
                        "{what}: unknown action \"{}\" (expected one of: {})",
                        p.action,
                        ACTIONS.join(", ")
                    ),
                );
            }
            if !AUTHORIZATIONS.contains(&p.authorization.as_str()) {
                diags.push(
                    &p.pos,
                    format!(
                        "{what}: unknown authorization \"{}\" (expected one of: {})",
                        p.authorization,
                        AUTHORIZATIONS.join(", ")
                    ),
                );
            }
            for j in &p.scope {
                if j.trim().is_empty() || j.trim() != j {
                    diags.push(
                        &p.pos,
                        format!("{what}: jurisdiction \"{j}\" must be a plain code"),
                    );
                }
            }
            if let Some(c) = &p.condition {
                check_condition(c, &what, None, diags);
            }
        }
    }
}

/// Where a trigger's data comes from.
struct Sources<'s> {
    /// The request model (`request.X`), if the route takes one.
    request: Option<&'s Model>,
    /// The answer model (`answer.X`), when the spec knows it.
    answer: Option<&'s Model>,
    /// Whether the answer is known only at run time (a hook's), so `answer.X` is unchecked.
    answer_open: bool,
    /// The hook outputs (`outputs.X`); `None` when the route has no hook outputs.
    outputs: Option<&'s [String]>,
}

/// Record keys every stored record has besides its fields.
const RECORD_KEYS: &[&str] = &["id", "createdAt", "updatedAt"];

fn check_fire_path(spec: &Spec, src: &Sources<'_>, path: &str) -> Result<(), String> {
    let Some((root, rest)) = path.split_once('.') else {
        return Err(format!(
            "\"{path}\" must start with request., answer. or outputs."
        ));
    };
    let in_model = |m: &Model| -> Result<(), String> {
        let first = rest.split(['.', '[']).next().unwrap_or(rest);
        if RECORD_KEYS.contains(&first) && rest == first {
            return Ok(());
        }
        // A field may also be named by its request alias (`entity_id` for `entityId`).
        if m.fields.iter().any(|f| f.input == first && rest == first) {
            return Ok(());
        }
        resolve_path(spec, m, rest).map(|_| ())
    };
    match root {
        "request" => match src.request {
            Some(m) => in_model(m),
            None => Err(format!("\"{path}\": the route takes no request model")),
        },
        "answer" => match (src.answer, src.answer_open) {
            (_, true) => Ok(()),
            (Some(m), false) => in_model(m),
            (None, false) => Err(format!("\"{path}\": the route's answer has no model")),
        },
        "outputs" => match src.outputs {
            Some(outputs) if outputs.iter().any(|o| o == rest) => Ok(()),
            Some(outputs) => Err(format!(
                "\"{path}\": the hook declares no output \"{rest}\" (its outputs: {})",
                outputs.join(", ")
            )),
            None => Err(format!("\"{path}\": the route has no hook outputs")),
        },
        other => Err(format!(
            "\"{path}\" starts with \"{other}\"; a path starts with request., answer. or outputs."
        )),
    }
}

fn check_fires(
    spec: &Spec,
    fires: &[Fire],
    what: &str,
    src: &Sources<'_>,
    diags: &mut Diagnostics,
) {
    for f in fires {
        let fwhat = format!("the \"{}\" trigger {what} fires", f.trigger);
        if !TRIGGER_TYPES.contains(&f.trigger.as_str()) {
            diags.push(
                &f.pos,
                format!(
                    "{what} fires unknown trigger type \"{}\" (expected one of: {})",
                    f.trigger,
                    TRIGGER_TYPES.join(", ")
                ),
            );
        }
        if f.data.is_empty() {
            diags.push(&f.pos, format!("{fwhat} has no data"));
        }
        let keys: Vec<&str> = f.data.iter().map(|(k, _)| k.as_str()).collect();
        for (key, path) in &f.data {
            if !is_snake(key) {
                diags.push(
                    &f.pos,
                    format!("{fwhat}: data key \"{key}\" must be snake_case"),
                );
            }
            if let Err(why) = check_fire_path(spec, src, path) {
                diags.push(&f.pos, format!("{fwhat}: data \"{key}\": {why}"));
            }
        }
        if let Some(subject) = &f.subject {
            if !keys.contains(&subject.as_str()) {
                diags.push(
                    &f.pos,
                    format!(
                        "{fwhat}: subject \"{subject}\" is not one of its data keys ({})",
                        keys.join(", ")
                    ),
                );
            }
        }
        if let Some(when) = &f.when {
            check_condition(when, &format!("\"when\" of {fwhat}"), Some(&keys), diags);
        }
    }
}

fn answer_model<'s>(spec: &'s Spec, route: &Route) -> Option<&'s Model> {
    match &route.response {
        Some(Response::Model(name)) => spec.model(name),
        Some(_) => None,
        None => route.model().and_then(|m| spec.model(m)),
    }
}

/// The triggers of direct and `/v1` routes, the hooks' outputs, and the models' entity links.
pub fn check_triggers(spec: &Spec, diags: &mut Diagnostics) {
    for (service, route) in spec.routes() {
        if route.fires.is_empty() {
            continue;
        }
        let what = format!(
            "route {} {}{}",
            route.method.as_str(),
            service.context_path,
            route.path
        );
        if route.audit.is_none() {
            diags.push(
                &route.pos,
                format!("{what} fires triggers but is not a write"),
            );
        }
        let src = Sources {
            request: route.request_model().and_then(|m| spec.model(m)),
            answer: answer_model(spec, route),
            answer_open: false,
            outputs: None,
        };
        check_fires(spec, &route.fires, &what, &src, diags);
    }
    let hooks: Vec<_> = spec.services.iter().flat_map(|s| &s.mass_hooks).collect();
    let stores: BTreeMap<&str, &str> = spec
        .services
        .iter()
        .flat_map(|s| &s.models)
        .filter_map(|m| m.store.as_deref().map(|st| (st, m.name.as_str())))
        .collect();
    for hook in &hooks {
        for (kind, names) in [("output", &hook.outputs), ("kept state", &hook.keeps)] {
            let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
            for o in names {
                if !is_snake(o) || !o.starts_with(|c: char| c.is_ascii_lowercase()) {
                    diags.push(
                        &hook.pos,
                        format!(
                            "mass hook \"{}\": {kind} \"{o}\" must be a snake_case name",
                            hook.name
                        ),
                    );
                }
                if seen.insert(o, ()).is_some() {
                    diags.push(
                        &hook.pos,
                        format!(
                            "mass hook \"{}\": {kind} \"{o}\" is declared twice",
                            hook.name
                        ),
                    );
                }
            }
        }
        for k in &hook.keeps {
            let collection = hook.kept_collection(k);
            if let Some(model) = stores.get(collection.as_str()) {
                diags.push(
                    &hook.pos,
                    format!(
                        "mass hook \"{}\": kept state \"{k}\" would be stored in \"{collection}\", which model {model} stores",
                        hook.name
                    ),
                );
            }
        }
    }
    for o in spec.services.iter().flat_map(|s| &s.orchestrated) {
        if o.fires.is_empty() {
            continue;
        }
        let what = format!("route {} {}", o.method.as_str(), o.path);
        if o.audit.is_none() {
            diags.push(&o.pos, format!("{what} fires triggers but is not a write"));
        }
        let (answer, answer_open, outputs) = match &o.mass {
            MassSpec::Call { method, path, .. } => {
                let target = spec.routes().find(|(s, r)| {
                    r.method == *method && format!("{}{}", s.context_path, r.path) == *path
                });
                (target.and_then(|(_, r)| answer_model(spec, r)), false, None)
            }
            MassSpec::Hook(name) => (
                None,
                true,
                hooks
                    .iter()
                    .find(|h| &h.name == name)
                    .map(|h| h.outputs.as_slice()),
            ),
        };
        let src = Sources {
            request: o.request.as_deref().and_then(|m| spec.model(m)),
            answer,
            answer_open,
            outputs,
        };
        check_fires(spec, &o.fires, &what, &src, diags);
    }
    for (_, model) in spec.models() {
        let Some(link) = &model.entity else { continue };
        let what = format!("model \"{}\"", model.name);
        if model.store.is_none() {
            diags.push(
                &model.pos,
                format!("{what} names an entity link but is not stored"),
            );
        }
        if link != "id" && model.field(link).is_none() {
            diags.push(
                &model.pos,
                format!("{what}: entity \"{link}\" is not one of its fields (or \"id\")"),
            );
        }
    }
}
