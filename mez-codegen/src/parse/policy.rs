// SPDX-License-Identifier: BUSL-1.1
//! Parsing the policy engine's data: `policies:` (approvals and policies) and the `fires:`
//! lists of routes, with their conditions. Meaning (known trigger types and actions, paths
//! that resolve, duplicate ids) is checked in `check::policy`.

use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

use super::{Parser, to_json};
use crate::model::{Condition, Fire, Policies, Policy};

const POLICIES_KEYS: &[&str] = &["approvals", "rules"];
const POLICY_KEYS: &[&str] = &[
    "id",
    "description",
    "trigger",
    "condition",
    "action",
    "priority",
    "jurisdiction_scope",
    "authorization",
    "enabled",
];
const FIRE_KEYS: &[&str] = &["trigger", "subject", "data", "when"];

/// The predicates of a condition and the keys each takes besides `type`.
pub const CONDITION_TYPES: &[(&str, &[&str])] = &[
    ("threshold", &["field", "threshold"]),
    ("equals", &["field", "value"]),
    ("not_equals", &["field", "value"]),
    ("contains", &["field", "item"]),
    ("in", &["field", "values"]),
    ("less_than", &["field", "value"]),
    ("greater_than", &["field", "value"]),
    ("exists", &["field"]),
    ("and", &["conditions"]),
    ("or", &["conditions"]),
];

impl Parser<'_> {
    /// `policies: {approvals: {requirement: n}, rules: [policy, ...]}`.
    pub(super) fn policies(&mut self, node: &Node) -> Option<Policies> {
        let map = self.mapping(node, "\"policies\"")?;
        self.known_keys(map, "\"policies\"", POLICIES_KEYS);
        let mut approvals = Vec::new();
        match map.get_node("approvals") {
            Some(anode) => {
                if let Some(amap) = self.mapping(anode, "\"approvals\" of \"policies\"") {
                    for (key, value) in amap.iter() {
                        let n = value.as_scalar().and_then(|s| s.as_u64());
                        match n {
                            Some(n) => {
                                approvals.push((key.as_str().to_string(), n, self.pos(key.span())))
                            }
                            None => self.err(
                                value.span(),
                                format!(
                                    "the approvals of \"{}\" must be a non-negative integer",
                                    key.as_str()
                                ),
                            ),
                        }
                    }
                }
            }
            None => self.err(map.span(), "\"policies\" is missing \"approvals\""),
        }
        let mut rules = Vec::new();
        if let Some(rnode) = map.get_node("rules") {
            if let Some(seq) = self.sequence(rnode, "\"rules\" of \"policies\"") {
                for item in seq.iter() {
                    if let Some(policy) = self.policy(item) {
                        rules.push(policy);
                    }
                }
            }
        }
        Some(Policies {
            approvals,
            rules,
            pos: self.pos(map.span()),
        })
    }

    fn policy(&mut self, node: &Node) -> Option<Policy> {
        let map = self.mapping(node, "a policy")?;
        self.known_keys(map, "a policy", POLICY_KEYS);
        let id = self.required_string(map, "id", "a policy")?;
        let what = format!("policy \"{id}\"");
        let priority = match map.get_node("priority") {
            Some(p) => match p.as_scalar().and_then(|s| s.as_str().parse::<i64>().ok()) {
                Some(n) if (-1_000_000..=1_000_000).contains(&n) => n,
                _ => {
                    self.err(
                        p.span(),
                        format!(
                            "\"priority\" of {what} must be an integer from -1000000 to 1000000"
                        ),
                    );
                    0
                }
            },
            None => {
                self.err(map.span(), format!("{what} is missing \"priority\""));
                0
            }
        };
        let enabled = match map.get_node("enabled") {
            Some(_) => self.bool(map, "enabled", &what),
            None => true,
        };
        Some(Policy {
            description: self
                .required_string(map, "description", &what)
                .unwrap_or_default(),
            trigger: self
                .required_string(map, "trigger", &what)
                .unwrap_or_default(),
            condition: map
                .get_node("condition")
                .and_then(|c| self.condition(c, &format!("the condition of {what}"))),
            action: self
                .required_string(map, "action", &what)
                .unwrap_or_default(),
            priority,
            scope: self.string_list(map, "jurisdiction_scope", &what),
            authorization: self
                .string(map, "authorization", &what)
                .unwrap_or_else(|| "automatic".to_string()),
            enabled,
            pos: self.pos(map.span()),
            id,
        })
    }

    /// A condition: `{type: PREDICATE, ...its keys}`.
    pub(super) fn condition(&mut self, node: &Node, what: &str) -> Option<Condition> {
        let map = self.mapping(node, what)?;
        let kind = self.required_string(map, "type", what)?;
        let Some((_, keys)) = CONDITION_TYPES.iter().find(|(t, _)| *t == kind) else {
            let known: Vec<&str> = CONDITION_TYPES.iter().map(|(t, _)| *t).collect();
            let span = map
                .get_node("type")
                .map(|n| *n.span())
                .unwrap_or(*map.span());
            self.err(
                &span,
                format!(
                    "{what}: unknown predicate \"{kind}\" (expected one of: {})",
                    known.join(", ")
                ),
            );
            return None;
        };
        let mut known: Vec<&str> = vec!["type"];
        known.extend_from_slice(keys);
        self.known_keys(map, &format!("{what} (\"{kind}\")"), &known);
        let pos = self.pos(map.span());
        if kind == "and" || kind == "or" {
            let mut items = Vec::new();
            match map.get_node("conditions") {
                Some(cnode) => {
                    if let Some(seq) = self.sequence(cnode, &format!("\"conditions\" of {what}")) {
                        if seq.is_empty() {
                            self.err(
                                cnode.span(),
                                format!("{what}: \"{kind}\" needs at least one condition"),
                            );
                        }
                        for item in seq.iter() {
                            if let Some(c) = self.condition(item, what) {
                                items.push(c);
                            }
                        }
                    }
                }
                None => self.err(map.span(), format!("{what} is missing \"conditions\"")),
            }
            return Some(if kind == "and" {
                Condition::And(items, pos)
            } else {
                Condition::Or(items, pos)
            });
        }
        let field = self.required_string(map, "field", what)?;
        let value = |p: &mut Self, key: &str| -> Option<serde_json::Value> {
            match map.get_node(key) {
                Some(n) => Some(to_json(n)),
                None => {
                    p.err(map.span(), format!("{what} is missing \"{key}\""));
                    None
                }
            }
        };
        let number = |p: &mut Self, key: &str| -> Option<String> {
            let n = map.get_node(key);
            let text = n
                .and_then(|n| n.as_scalar())
                .map(|s| s.as_str().to_string());
            match text {
                Some(t) if super::is_decimal(t.strip_prefix('-').unwrap_or(&t)) => Some(t),
                _ => {
                    let span = n.map(|n| *n.span()).unwrap_or(*map.span());
                    p.err(&span, format!("{what}: \"{key}\" must be a decimal number"));
                    None
                }
            }
        };
        Some(match kind.as_str() {
            "threshold" => Condition::Threshold {
                value: number(self, "threshold")?,
                field,
                pos,
            },
            "less_than" => Condition::LessThan {
                value: number(self, "value")?,
                field,
                pos,
            },
            "greater_than" => Condition::GreaterThan {
                value: number(self, "value")?,
                field,
                pos,
            },
            "equals" => Condition::Equals {
                value: value(self, "value")?,
                field,
                pos,
            },
            "not_equals" => Condition::NotEquals {
                value: value(self, "value")?,
                field,
                pos,
            },
            "contains" => Condition::Contains {
                item: value(self, "item")?,
                field,
                pos,
            },
            "in" => match value(self, "values")? {
                serde_json::Value::Array(values) => Condition::In { values, field, pos },
                _ => {
                    self.err(map.span(), format!("{what}: \"values\" must be a list"));
                    return None;
                }
            },
            _ => Condition::Exists { field, pos },
        })
    }

    /// `fires: [{trigger, subject?, data: {key: path}, when?}]` of a route.
    pub(super) fn fires(&mut self, map: &MarkedMappingNode, what: &str) -> Vec<Fire> {
        let mut out = Vec::new();
        let Some(node) = map.get_node("fires") else {
            return out;
        };
        let Some(seq) = self.sequence(node, &format!("\"fires\" of {what}")) else {
            return out;
        };
        for item in seq.iter() {
            let fwhat = format!("a trigger {what} fires");
            let Some(m) = self.mapping(item, &fwhat) else {
                continue;
            };
            self.known_keys(m, &fwhat, FIRE_KEYS);
            let Some(trigger) = self.required_string(m, "trigger", &fwhat) else {
                continue;
            };
            let fwhat = format!("the \"{trigger}\" trigger {what} fires");
            let data = self.pairs(m, "data");
            if m.get_node("data").is_none() {
                self.err(m.span(), format!("{fwhat} is missing \"data\""));
            }
            out.push(Fire {
                subject: self.string(m, "subject", &fwhat),
                when: m
                    .get_node("when")
                    .and_then(|w| self.condition(w, &format!("\"when\" of {fwhat}"))),
                data,
                trigger,
                pos: self.pos(m.span()),
            });
        }
        out
    }
}
