// SPDX-License-Identifier: BUSL-1.1
//! The policy engine: triggers in, actions out.
//!
//! The policies are spec data (`spec/policies.yaml`, generated as `surface::POLICIES`); the
//! triggers a write fires are declared next to its route (`fires:`, generated into the route
//! tables). This module is the one hand-written evaluator over those tables:
//!
//! ```text
//! trigger {type, subject, jurisdiction, data}
//!   -> every enabled policy of that type whose scope and condition match      (matches)
//!   -> by priority (descending), then id; the first of each action kept        (resolve)
//!   -> one durable action each (actions.rs): executed at once when automatic,
//!      else awaiting the approvals its authorization requirement needs
//! ```
//!
//! Conditions follow reference 7.3, fail-safe: a missing field or a value of the wrong type
//! is false, except that `equals` with `null` matches a missing field and `not_equals` with a
//! non-null value matches one too. Numbers are JSON numbers or decimal strings (the Mass API
//! writes amounts as strings), compared exactly as decimals.

pub mod actions;
pub mod reload;
pub mod routes;
#[cfg(test)]
mod tests;

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

/// The actor of the audit events the policy engine writes by itself (executions).
pub const POLICY_ACTOR: &str = "policy-engine";

/// A literal of a condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    /// A number, as written in the spec.
    Num(&'static str),
    Str(&'static str),
}

/// A condition over a trigger's data; fields are dot paths.
#[derive(Debug, Clone, Copy)]
pub enum Condition {
    /// The field is a number >= the value.
    Threshold {
        field: &'static str,
        value: &'static str,
    },
    Equals {
        field: &'static str,
        value: Lit,
    },
    NotEquals {
        field: &'static str,
        value: Lit,
    },
    /// The field is a list holding the item.
    Contains {
        field: &'static str,
        item: Lit,
    },
    /// The field's value is one of the values.
    In {
        field: &'static str,
        values: &'static [Lit],
    },
    LessThan {
        field: &'static str,
        value: &'static str,
    },
    GreaterThan {
        field: &'static str,
        value: &'static str,
    },
    /// The field is truthy: not null, false, 0, or an empty string, list or object.
    Exists {
        field: &'static str,
    },
    And(&'static [Condition]),
    Or(&'static [Condition]),
}

/// One policy of the spec.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub id: &'static str,
    pub description: &'static str,
    pub trigger: &'static str,
    pub condition: Option<&'static Condition>,
    pub action: &'static str,
    pub priority: i64,
    /// The jurisdictions it applies in; empty: every one.
    pub jurisdiction_scope: &'static [&'static str],
    pub authorization: &'static str,
    pub enabled: bool,
}

/// The generated policy table.
#[derive(Debug)]
pub struct PolicyTable {
    /// Authorization requirement -> distinct approvals needed.
    pub approvals: &'static [(&'static str, u32)],
    pub policies: &'static [Policy],
    pub trigger_types: &'static [&'static str],
    pub actions: &'static [&'static str],
}

/// A trigger a route's write fires (spec `fires:`).
#[derive(Debug, Clone, Copy)]
pub struct Fire {
    pub trigger: &'static str,
    /// The data key naming the entity the trigger is about.
    pub subject: Option<&'static str>,
    /// Data key -> source path (`request.X`, `answer.X`, `outputs.X`).
    pub data: &'static [(&'static str, &'static str)],
    pub when: Option<&'static Condition>,
}

/// A trigger: from a write, a sanctions list reload, or `POST /v1/triggers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub trigger_type: String,
    /// The entity (or other asset) it is about; `None`: the zone as a whole.
    pub subject: Option<String>,
    pub jurisdiction: Option<String>,
    pub data: Value,
}

impl Trigger {
    /// The trigger as audit metadata and API answers show it.
    pub fn to_json(&self) -> Value {
        json!({
            "trigger_type": self.trigger_type,
            "subject": self.subject,
            "jurisdiction": self.jurisdiction,
            "data": self.data,
        })
    }
}

/// The value at a dot path.
pub fn lookup<'v>(data: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(data, |v, key| v.get(key))
}

/// A JSON number or a decimal string, as an exact decimal.
fn number(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .ok()
            .or_else(|| n.as_f64().and_then(|f| Decimal::try_from(f).ok())),
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn lit_number(text: &str) -> Option<Decimal> {
    Decimal::from_str(text).ok()
}

/// Whether a value equals a literal: same type and value; numbers compared as decimals.
fn equals(v: &Value, lit: &Lit) -> bool {
    match (v, lit) {
        (Value::Null, Lit::Null) => true,
        (Value::Bool(a), Lit::Bool(b)) => a == b,
        (Value::Number(_), Lit::Num(n)) => number(v).is_some_and(|a| Some(a) == lit_number(n)),
        (Value::String(a), Lit::Str(b)) => a == b,
        _ => false,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(_) => number(v).is_some_and(|n| !n.is_zero()),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn compare(data: &Value, field: &str, value: &str, ok: fn(std::cmp::Ordering) -> bool) -> bool {
    match (lookup(data, field).and_then(number), lit_number(value)) {
        (Some(a), Some(b)) => ok(a.cmp(&b)),
        _ => false,
    }
}

/// Whether a condition holds over a trigger's data.
pub fn holds(c: &Condition, data: &Value) -> bool {
    use std::cmp::Ordering;
    match c {
        Condition::Threshold { field, value } => {
            compare(data, field, value, |o| o != Ordering::Less)
        }
        Condition::LessThan { field, value } => {
            compare(data, field, value, |o| o == Ordering::Less)
        }
        Condition::GreaterThan { field, value } => {
            compare(data, field, value, |o| o == Ordering::Greater)
        }
        Condition::Equals { field, value } => match lookup(data, field) {
            Some(v) => equals(v, value),
            None => *value == Lit::Null,
        },
        Condition::NotEquals { field, value } => match lookup(data, field) {
            Some(v) => match (v, value) {
                // A type mismatch is false (fail-safe), as for every other predicate.
                (Value::Null, Lit::Null) => false,
                (Value::Null, _) | (_, Lit::Null) => true,
                (Value::Bool(_), Lit::Bool(_))
                | (Value::Number(_), Lit::Num(_))
                | (Value::String(_), Lit::Str(_)) => !equals(v, value),
                _ => false,
            },
            None => *value != Lit::Null,
        },
        Condition::Contains { field, item } => match lookup(data, field) {
            Some(Value::Array(items)) => items.iter().any(|v| equals(v, item)),
            _ => false,
        },
        Condition::In { field, values } => {
            lookup(data, field).is_some_and(|v| values.iter().any(|l| equals(v, l)))
        }
        Condition::Exists { field } => lookup(data, field).is_some_and(truthy),
        Condition::And(items) => items.iter().all(|c| holds(c, data)),
        Condition::Or(items) => items.iter().any(|c| holds(c, data)),
    }
}

impl Policy {
    /// Whether the policy matches a trigger (reference 7.4): enabled, same type, in scope (a
    /// non-empty scope with no jurisdiction given does not match), and its condition holds.
    pub fn matches(&self, trigger: &Trigger) -> bool {
        self.enabled
            && self.trigger == trigger.trigger_type
            && (self.jurisdiction_scope.is_empty()
                || trigger.jurisdiction.as_deref().is_some_and(|j| {
                    self.jurisdiction_scope
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(j))
                }))
            && self.condition.is_none_or(|c| holds(c, &trigger.data))
    }

    /// The policy as `GET /v1/policies` shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "policy_id": self.id,
            "description": self.description,
            "trigger_type": self.trigger,
            "action": self.action,
            "priority": self.priority,
            "jurisdiction_scope": self.jurisdiction_scope,
            "authorization_requirement": self.authorization,
            "enabled": self.enabled,
            "condition": self.condition.map(condition_json),
        })
    }
}

fn lit_json(l: &Lit) -> Value {
    match l {
        Lit::Null => Value::Null,
        Lit::Bool(b) => json!(b),
        Lit::Num(n) => serde_json::from_str(n).unwrap_or_else(|_| json!(n)),
        Lit::Str(s) => json!(s),
    }
}

/// A condition in the spec's own JSON form (`{type, field, ...}`).
pub fn condition_json(c: &Condition) -> Value {
    let num = |n: &str| serde_json::from_str::<Value>(n).unwrap_or_else(|_| json!(n));
    match c {
        Condition::Threshold { field, value } => {
            json!({"type": "threshold", "field": field, "threshold": num(value)})
        }
        Condition::LessThan { field, value } => {
            json!({"type": "less_than", "field": field, "value": num(value)})
        }
        Condition::GreaterThan { field, value } => {
            json!({"type": "greater_than", "field": field, "value": num(value)})
        }
        Condition::Equals { field, value } => {
            json!({"type": "equals", "field": field, "value": lit_json(value)})
        }
        Condition::NotEquals { field, value } => {
            json!({"type": "not_equals", "field": field, "value": lit_json(value)})
        }
        Condition::Contains { field, item } => {
            json!({"type": "contains", "field": field, "item": lit_json(item)})
        }
        Condition::In { field, values } => {
            json!({"type": "in", "field": field, "values": values.iter().map(lit_json).collect::<Vec<_>>()})
        }
        Condition::Exists { field } => json!({"type": "exists", "field": field}),
        Condition::And(items) => {
            json!({"type": "and", "conditions": items.iter().map(condition_json).collect::<Vec<_>>()})
        }
        Condition::Or(items) => {
            json!({"type": "or", "conditions": items.iter().map(condition_json).collect::<Vec<_>>()})
        }
    }
}

impl PolicyTable {
    pub fn is_trigger_type(&self, t: &str) -> bool {
        self.trigger_types.contains(&t)
    }

    /// The distinct approvals an authorization requirement needs (0: runs at once).
    pub fn approvals_for(&self, requirement: &str) -> u32 {
        self.approvals
            .iter()
            .find(|(r, _)| *r == requirement)
            .map_or(0, |(_, n)| *n)
    }

    /// The policies a trigger produces actions from (reference 7.5): the matching ones by
    /// priority (descending), then id (ascending), keeping the first of each action.
    pub fn resolve(&self, trigger: &Trigger) -> Vec<&'static Policy> {
        let mut matched: Vec<&'static Policy> = self
            .policies
            .iter()
            .filter(|p| p.matches(trigger))
            .collect();
        matched.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.id.cmp(b.id)));
        let mut seen: Vec<&str> = Vec::new();
        matched.retain(|p| {
            if seen.contains(&p.action) {
                false
            } else {
                seen.push(p.action);
                true
            }
        });
        matched
    }
}

impl Fire {
    /// The trigger this declaration fires for a write, if its condition holds. `source` is
    /// `{request, answer, outputs}`: the validated request, the Mass answer, and the hook's
    /// outputs. A data path with no value gives `null`.
    pub fn trigger(&self, source: &Value, jurisdiction: Option<&str>) -> Option<Trigger> {
        let mut data = Map::new();
        for (key, path) in self.data {
            let value = crate::runtime::mapping::resolve(source, path)
                .into_iter()
                .next()
                .cloned()
                .unwrap_or(Value::Null);
            data.insert((*key).to_string(), value);
        }
        let data = Value::Object(data);
        if let Some(when) = self.when {
            if !holds(when, &data) {
                return None;
            }
        }
        let subject = self
            .subject
            .and_then(|k| data.get(k))
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(Trigger {
            trigger_type: self.trigger.to_string(),
            subject,
            jurisdiction: jurisdiction.map(str::to_string),
            data,
        })
    }
}

/// The triggers a write's `fires` declarations produce.
pub fn fired(fires: &[Fire], source: &Value, jurisdiction: Option<&str>) -> Vec<Trigger> {
    fires
        .iter()
        .filter_map(|f| f.trigger(source, jurisdiction))
        .collect()
}

/// The triggers one write fired and the actions they produced, planned with the write: the
/// actions are stored in the write's own commit, its audit event lists both (so a trigger
/// and its actions are recorded if and only if the write is), and the automatic ones with an
/// executor run once it has committed.
#[derive(Debug, Default)]
pub struct Fired {
    /// Each trigger with the actions it produced.
    pub triggers: Vec<(Trigger, Vec<crate::db::Record>)>,
}

impl Fired {
    /// Plans the triggers of a write: `source` gives `{request, answer, outputs}`, and is
    /// built only when the route fires something (most writes fire nothing, and the source
    /// copies the request and the answer).
    pub fn plan(
        fires: &[Fire],
        source: impl FnOnce() -> Value,
        jurisdiction: Option<&str>,
        now: &str,
    ) -> Fired {
        if fires.is_empty() {
            return Fired::default();
        }
        Fired {
            triggers: fired(fires, &source(), jurisdiction)
                .into_iter()
                .map(|t| {
                    let actions = actions::plan(&t, now);
                    (t, actions)
                })
                .collect(),
        }
    }

    /// The inserts of the planned actions, for the write's commit.
    pub fn ops(&self) -> Vec<crate::audit::RecordOp> {
        self.triggers
            .iter()
            .flat_map(|(_, actions)| actions.iter().map(actions::insert_op))
            .collect()
    }

    /// What the write's audit event records (`policy_triggers`); `None` when nothing fired.
    pub fn metadata(&self) -> Option<Value> {
        if self.triggers.is_empty() {
            return None;
        }
        Some(Value::Array(
            self.triggers
                .iter()
                .map(|(t, actions)| {
                    let mut v = t.to_json();
                    if let Value::Object(m) = &mut v {
                        m.insert(
                            "actions".into(),
                            Value::Array(actions.iter().map(actions::brief).collect()),
                        );
                    }
                    v
                })
                .collect(),
        ))
    }

    /// Once the write has committed: runs the automatic actions with an executor. A failure
    /// is kept on the action (or, for a store error, logged): the write itself stands.
    pub async fn run(self, state: &crate::state::AppState) {
        for (_, planned) in self.triggers {
            if let Err(err) = actions::run_pending(state, &planned).await {
                tracing::error!(error = %err, "a policy action fired by a write could not run");
            }
        }
    }
}
