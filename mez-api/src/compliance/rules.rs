// SPDX-License-Identifier: BUSL-1.1
//! The compliance facts of the spec, as the code generator emits them, and the two questions
//! the pipeline asks of them: which domains apply in a jurisdiction, and which jurisdiction a
//! currency points to.
//!
//! Both lookups ignore ASCII case, because the same code arrives spelled both ways (`PK` from
//! a currency, `pk` from a request); the earlier implementation matched exactly, so regional
//! scoping never applied to fiscal operations. Jurisdiction and currency codes are ASCII, so
//! ASCII folding is used rather than Unicode folding, which would let look-alike characters
//! (the Kelvin sign folds to `k`) select a jurisdiction.

use std::collections::BTreeSet;

use super::evidence::{DomainRule, EvidenceRule};

/// The jurisdiction reported when none is given or a currency is not in the table.
pub const UNKNOWN_JURISDICTION: &str = "UNKNOWN";

/// The compliance section of the spec. The code generator emits one `static` of this type;
/// the runtime only reads it.
#[derive(Debug, Clone, Copy)]
pub struct ComplianceRules {
    /// Every domain, in canonical order. Every evaluation gives each of them a state.
    pub domains: &'static [&'static str],
    /// Domains whose non-compliance blocks an operation outright.
    pub hard_block: &'static [&'static str],
    /// Named groups of domains that jurisdiction entries may use (`financial`).
    pub categories: &'static [(&'static str, &'static [&'static str])],
    /// Jurisdiction code (lower case) to the categories and domains that apply there.
    pub jurisdictions: &'static [(&'static str, &'static [&'static str])],
    /// Currency code (upper case) to the jurisdiction it implies.
    pub currencies: &'static [(&'static str, &'static str)],
    /// How domains are decided from evidence; a domain without a rule stays pending.
    pub evidence: &'static [DomainRule],
}

impl ComplianceRules {
    /// The domains that apply in `jurisdiction`, in canonical order, without repeats.
    ///
    /// The jurisdiction is matched ignoring case: exactly first, then by the part before the
    /// first `-`, so a sub-zone such as `pk-sifc` inherits `pk`'s domains. A jurisdiction the
    /// rules do not know (including an empty one) gets **every** domain: failing closed means
    /// an unknown place is held to everything rather than to nothing.
    pub fn applicable(&self, jurisdiction: &str) -> Vec<&'static str> {
        match self.jurisdiction_entry(jurisdiction) {
            Some((_, names)) => self.expand(names),
            None => self.domains.to_vec(),
        }
    }

    /// The jurisdiction entry of the rules that `jurisdiction` resolves to (`pk-sifc` → `pk`),
    /// or `None` when it resolves to none and every domain applies. Recorded alongside an
    /// evaluation, it says why a set of domains was chosen.
    pub fn matched_jurisdiction(&self, jurisdiction: &str) -> Option<&'static str> {
        self.jurisdiction_entry(jurisdiction).map(|(code, _)| code)
    }

    /// The jurisdiction a currency implies (`pkr` → `PK`), or `UNKNOWN` for a currency the
    /// table does not list.
    pub fn jurisdiction_for_currency(&self, currency: &str) -> String {
        let wanted = currency.trim();
        self.currencies
            .iter()
            .find(|(code, _)| code.eq_ignore_ascii_case(wanted))
            .map_or(UNKNOWN_JURISDICTION, |(_, jurisdiction)| jurisdiction)
            .to_string()
    }

    /// Whether `name` is one of the domains (exact, as the spec spells it).
    pub fn is_domain(&self, name: &str) -> bool {
        self.domains.contains(&name)
    }

    /// The evidence rule that decides `domain`, if the spec gives one.
    pub fn rule(&self, domain: &str) -> Option<&'static EvidenceRule> {
        self.evidence
            .iter()
            .find(|r| r.domain == domain)
            .map(|r| &r.rule)
    }

    /// Whether non-compliance in `domain` blocks an operation outright.
    pub fn is_hard_block(&self, domain: &str) -> bool {
        self.hard_block.contains(&domain)
    }

    fn jurisdiction_entry(
        &self,
        jurisdiction: &str,
    ) -> Option<(&'static str, &'static [&'static str])> {
        let wanted = jurisdiction.trim();
        let find = |key: &str| {
            if key.is_empty() {
                return None;
            }
            self.jurisdictions
                .iter()
                .find(|(code, _)| code.eq_ignore_ascii_case(key))
                .copied()
        };
        find(wanted).or_else(|| {
            let (base, _) = wanted.split_once('-')?;
            find(base)
        })
    }

    /// Expands categories into their domains and returns the result in canonical order.
    ///
    /// The code generator checks that every name is a category or a domain, so an unknown
    /// name means the rules were built some other way and cannot be trusted: the answer is
    /// then every domain, failing closed as for an unknown jurisdiction.
    fn expand(&self, names: &[&str]) -> Vec<&'static str> {
        let mut wanted = BTreeSet::new();
        for &name in names {
            let members: &[&str] = match self.categories.iter().find(|(cat, _)| *cat == name) {
                Some((_, members)) => members,
                None => std::slice::from_ref(&name),
            };
            for &member in members {
                if !self.is_domain(member) {
                    tracing::warn!(
                        name = member,
                        "compliance rules name an unknown domain; treating every domain as applicable"
                    );
                    return self.domains.to_vec();
                }
                wanted.insert(member);
            }
        }
        self.domains
            .iter()
            .copied()
            .filter(|domain| wanted.contains(domain))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::COMPLIANCE as RULES;

    const FINANCIAL: [&str; 8] = [
        "aml",
        "kyc",
        "tax",
        "securities",
        "corporate",
        "licensing",
        "banking",
        "payments",
    ];

    /// `FINANCIAL` plus the extra domains, in canonical order.
    fn canonical(extra: &[&str]) -> Vec<&'static str> {
        RULES
            .domains
            .iter()
            .copied()
            .filter(|d| FINANCIAL.contains(d) || extra.contains(d))
            .collect()
    }

    #[test]
    fn pk_gets_financial_and_sanctions_in_canonical_order() {
        assert_eq!(
            RULES.applicable("pk"),
            vec![
                "aml",
                "kyc",
                "sanctions",
                "tax",
                "securities",
                "corporate",
                "licensing",
                "banking",
                "payments"
            ]
        );
    }

    #[test]
    fn matching_ignores_case() {
        assert_eq!(RULES.applicable("PK"), RULES.applicable("pk"));
        assert_eq!(RULES.applicable("Ae"), RULES.applicable("ae"));
        assert_eq!(RULES.applicable(" pk "), RULES.applicable("pk"));
    }

    #[test]
    fn sub_zone_falls_back_to_the_part_before_the_dash() {
        assert_eq!(RULES.applicable("pk-sifc"), RULES.applicable("pk"));
        assert_eq!(RULES.applicable("PK-SIFC-2"), RULES.applicable("pk"));
        assert_eq!(RULES.matched_jurisdiction("pk-sifc"), Some("pk"));
        assert_eq!(RULES.matched_jurisdiction("PK"), Some("pk"));
    }

    #[test]
    fn each_jurisdiction_expands_its_categories() {
        assert_eq!(
            RULES.applicable("ae"),
            canonical(&["sanctions", "digital_assets", "custody", "data_privacy"])
        );
        assert_eq!(
            RULES.applicable("sg"),
            canonical(&["sanctions", "digital_assets", "data_privacy"])
        );
        assert_eq!(
            RULES.applicable("hk"),
            canonical(&["sanctions", "digital_assets"])
        );
        assert_eq!(
            RULES.applicable("ky"),
            canonical(&["sanctions", "digital_assets", "custody"])
        );
    }

    #[test]
    fn unknown_jurisdictions_fail_closed_to_every_domain() {
        for unknown in ["xx", "", "   ", "UNKNOWN", "GLOBAL", "xx-pk", "-pk", "pkx"] {
            let applicable = RULES.applicable(unknown);
            assert_eq!(applicable.len(), 20, "{unknown:?}");
            assert_eq!(applicable, RULES.domains.to_vec(), "{unknown:?}");
            assert_eq!(RULES.matched_jurisdiction(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn look_alike_characters_do_not_select_a_jurisdiction() {
        // U+212A KELVIN SIGN lower-cases to `k` under Unicode rules; codes are ASCII.
        assert_eq!(RULES.applicable("p\u{212A}").len(), 20);
    }

    #[test]
    fn entries_may_name_domains_directly_and_repeats_collapse() {
        static JURISDICTIONS: &[(&str, &[&str])] = &[
            (
                "zz",
                &["trade", "sanctions", "financial", "aml", "sanctions"],
            ),
            ("yy", &["ip"]),
        ];
        let rules = ComplianceRules {
            jurisdictions: JURISDICTIONS,
            ..RULES
        };
        assert_eq!(rules.applicable("zz"), canonical(&["sanctions", "trade"]));
        assert_eq!(rules.applicable("yy"), vec!["ip"]);
    }

    #[test]
    fn an_unknown_name_in_the_rules_fails_closed() {
        static JURISDICTIONS: &[(&str, &[&str])] = &[("zz", &["sanctions", "aml2"])];
        static CATEGORIES: &[(&str, &[&str])] = &[("broken", &["aml", "nope"])];
        static JURISDICTIONS2: &[(&str, &[&str])] = &[("zz", &["broken"])];
        let rules = ComplianceRules {
            jurisdictions: JURISDICTIONS,
            ..RULES
        };
        assert_eq!(rules.applicable("zz").len(), 20);
        let rules = ComplianceRules {
            categories: CATEGORIES,
            jurisdictions: JURISDICTIONS2,
            ..RULES
        };
        assert_eq!(rules.applicable("zz").len(), 20);
    }

    #[test]
    fn currencies_map_to_jurisdictions_ignoring_case() {
        assert_eq!(RULES.jurisdiction_for_currency("PKR"), "PK");
        assert_eq!(RULES.jurisdiction_for_currency("pkr"), "PK");
        assert_eq!(RULES.jurisdiction_for_currency(" aed "), "AE");
        assert_eq!(RULES.jurisdiction_for_currency("Usd"), "US");
        assert_eq!(RULES.jurisdiction_for_currency("CNY"), "CN");
        assert_eq!(RULES.jurisdiction_for_currency("rmb"), "CN");
        assert_eq!(RULES.jurisdiction_for_currency("TRY"), "TR");
        assert_eq!(RULES.jurisdiction_for_currency("XYZ"), "UNKNOWN");
        assert_eq!(RULES.jurisdiction_for_currency(""), "UNKNOWN");
    }

    #[test]
    fn a_currency_jurisdiction_scopes_like_the_lower_case_code() {
        // The earlier implementation's PK never matched its pk entry.
        let jurisdiction = RULES.jurisdiction_for_currency("PKR");
        assert_eq!(RULES.applicable(&jurisdiction), RULES.applicable("pk"));
    }

    #[test]
    fn hard_block_and_domain_membership() {
        assert!(RULES.is_hard_block("sanctions"));
        assert!(!RULES.is_hard_block("aml"));
        assert!(RULES.is_domain("digital_assets"));
        assert!(!RULES.is_domain("AML"));
        assert!(!RULES.is_domain("financial"));
    }
}
