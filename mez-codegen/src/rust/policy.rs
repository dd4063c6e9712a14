// SPDX-License-Identifier: BUSL-1.1
//! Generating the policy engine's tables: the policies, the approvals each authorization
//! requirement needs, the triggers routes fire, and the models' entity links, as statics of
//! the runtime's types (`crate::policy`).

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use crate::model::{Condition, Fire, Policies, Spec};

/// A JSON literal of a condition.
fn lit(v: &Value) -> TokenStream {
    match v {
        Value::Null => quote!(crate::policy::Lit::Null),
        Value::Bool(b) => quote!(crate::policy::Lit::Bool(#b)),
        Value::Number(n) => {
            let text = n.to_string();
            quote!(crate::policy::Lit::Num(#text))
        }
        Value::String(s) => quote!(crate::policy::Lit::Str(#s)),
        // The parser reads scalars only where a literal goes; anything else is its JSON text.
        other => {
            let text = other.to_string();
            quote!(crate::policy::Lit::Str(#text))
        }
    }
}

/// A condition as a constant expression of the runtime's `Condition`.
pub fn condition(c: &Condition) -> TokenStream {
    let p = quote!(crate::policy::Condition);
    match c {
        Condition::Threshold { field, value, .. } => {
            quote!(#p::Threshold { field: #field, value: #value })
        }
        Condition::LessThan { field, value, .. } => {
            quote!(#p::LessThan { field: #field, value: #value })
        }
        Condition::GreaterThan { field, value, .. } => {
            quote!(#p::GreaterThan { field: #field, value: #value })
        }
        Condition::Equals { field, value, .. } => {
            let v = lit(value);
            quote!(#p::Equals { field: #field, value: #v })
        }
        Condition::NotEquals { field, value, .. } => {
            let v = lit(value);
            quote!(#p::NotEquals { field: #field, value: #v })
        }
        Condition::Contains { field, item, .. } => {
            let v = lit(item);
            quote!(#p::Contains { field: #field, item: #v })
        }
        Condition::In { field, values, .. } => {
            let vs = values.iter().map(lit);
            quote!(#p::In { field: #field, values: &[#(#vs),*] })
        }
        Condition::Exists { field, .. } => quote!(#p::Exists { field: #field }),
        Condition::And(items, _) => {
            let items = items.iter().map(condition);
            quote!(#p::And(&[#(#items),*]))
        }
        Condition::Or(items, _) => {
            let items = items.iter().map(condition);
            quote!(#p::Or(&[#(#items),*]))
        }
    }
}

fn opt_condition(c: Option<&Condition>) -> TokenStream {
    match c {
        Some(c) => {
            let c = condition(c);
            quote!(Some(&#c))
        }
        None => quote!(None),
    }
}

/// The triggers a route fires, as a slice of the runtime's `Fire`.
pub fn fires(fires: &[Fire]) -> TokenStream {
    let items = fires.iter().map(|f| {
        let trigger = &f.trigger;
        let subject = match &f.subject {
            Some(s) => quote!(Some(#s)),
            None => quote!(None),
        };
        let data = f.data.iter().map(|(k, v)| quote!((#k, #v)));
        let when = opt_condition(f.when.as_ref());
        quote!(crate::policy::Fire { trigger: #trigger, subject: #subject, data: &[#(#data),*], when: #when })
    });
    quote!(&[#(#items),*])
}

/// `POLICIES` (the table the engine evaluates) and `ENTITY_LINKS`.
pub fn tables(spec: &Spec) -> TokenStream {
    let empty = Policies::default();
    let p = spec
        .services
        .iter()
        .find_map(|s| s.policies.as_ref())
        .unwrap_or(&empty);
    let approvals = p.approvals.iter().map(|(name, n, _)| {
        let n = proc_macro2::Literal::u32_unsuffixed(u32::try_from(*n).unwrap_or(u32::MAX));
        quote!((#name, #n))
    });
    let rules = p.rules.iter().map(|r| {
        let (id, description, trigger, action, authorization) = (
            &r.id,
            &r.description,
            &r.trigger,
            &r.action,
            &r.authorization,
        );
        let priority = proc_macro2::Literal::i64_unsuffixed(r.priority);
        let scope = &r.scope;
        let enabled = r.enabled;
        let condition = opt_condition(r.condition.as_ref());
        quote! {
            crate::policy::Policy {
                id: #id,
                description: #description,
                trigger: #trigger,
                condition: #condition,
                action: #action,
                priority: #priority,
                jurisdiction_scope: &[#(#scope),*],
                authorization: #authorization,
                enabled: #enabled,
            }
        }
    });
    let links = spec.models().filter_map(|(_, m)| {
        let store = m.store.as_deref()?;
        let link = m.entity.as_deref()?;
        Some(quote!((#store, #link)))
    });
    let triggers = crate::check::policy::TRIGGER_TYPES;
    let actions = crate::check::policy::ACTIONS;
    quote! {
        /// The zone's policies and the approvals each authorization requirement needs
        /// (`spec/policies.yaml`).
        pub static POLICIES: crate::policy::PolicyTable = crate::policy::PolicyTable {
            approvals: &[#(#approvals),*],
            policies: &[#(#rules),*],
            trigger_types: &[#(#triggers),*],
            actions: &[#(#actions),*],
        };

        /// Per collection, the field linking a record to its entity (`id`: the record is the
        /// entity): a halted entity's records take no direct writes.
        pub static ENTITY_LINKS: &[(&str, &str)] = &[#(#links),*];
    }
}
