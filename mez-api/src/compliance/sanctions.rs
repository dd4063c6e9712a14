// SPDX-License-Identifier: BUSL-1.1
//! Sanctions screening: a list of sanctioned parties, loaded from YAML, and an exact match of
//! a name against it after folding case and whitespace.
//!
//! The earlier implementation loaded a sanctions checker and never consulted it, so its hard
//! block could never fire. Here the list is loaded at start-up (a malformed list stops the
//! zone rather than leaving it screening against nothing) and every evaluation that names
//! parties screens them.
//!
//! Matching is deliberately simple and predictable:
//! - both sides are folded: Unicode lower case, leading and trailing whitespace removed, and
//!   each run of whitespace collapsed to one space (`"  IVAN   sanctionedov "` is
//!   `"ivan sanctionedov"`);
//! - a name hits when its folded form equals the folded name or any folded alias of an entry.
//!
//! There is **no fuzzy matching**: no edit distance, no phonetic keys, no transliteration, no
//! Unicode normalisation (a precomposed `é` and `e` + combining accent differ) and no full
//! case folding (`ß` does not match `ss`). A misspelling therefore slips through unless the
//! list carries it as an alias. This is a floor, not a screening product: a zone that must
//! screen seriously loads a list whose aliases cover the spellings it has to catch, or puts a
//! dedicated screening service behind this interface.

use std::collections::HashMap;
use std::path::Path;

use marked_yaml::{LoaderOptions, Marker, Node, Spanned};
use serde::{Deserialize, Serialize};

/// The committed sample list: fictional entries only, used when no list file is configured.
const SAMPLE_YAML: &str = include_str!("../../../spec/data/sanctions.yaml");

/// How the sample list names itself in errors and logs.
const SAMPLE_ORIGIN: &str = "built-in sample list (spec/data/sanctions.yaml)";

/// Why a sanctions list could not be loaded. Either way the zone must not start: screening
/// against a list it could not read would let every name through.
#[derive(Debug, thiserror::Error)]
pub enum SanctionsError {
    #[error("could not read the sanctions list {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `origin` is the file path (or the sample's name); `reason` starts with `LINE:COLUMN: `
    /// when the position is known.
    #[error("malformed sanctions list {origin}: {reason}")]
    Malformed { origin: String, reason: String },
}

/// A screened name that matched an entry of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanctionsHit {
    /// The entry's primary name, as the list spells it.
    pub entry: String,
    /// The name that was screened, exactly as the caller supplied it, so that the audit
    /// shows what in the request hit the list.
    pub matched: String,
}

/// A loaded sanctions list, indexed by folded name and alias.
#[derive(Debug, Clone)]
pub struct SanctionsList {
    origin: String,
    /// Each entry's primary name, as written.
    entries: Vec<String>,
    /// Folded name or alias → index into `entries`.
    index: HashMap<String, usize>,
}

/// The file format: `entries: [{name, aliases}]`. Unknown keys are refused so that a typo
/// (`alias:`) fails at start-up instead of silently dropping the spellings it held.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    entries: Vec<EntryFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile {
    name: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
}

impl SanctionsList {
    /// The committed sample list (fictional entries). It is for development, tests and
    /// demonstrations; a production zone configures its own file.
    pub fn sample() -> Result<Self, SanctionsError> {
        Self::parse(SAMPLE_ORIGIN, SAMPLE_YAML)
    }

    /// Loads a list file (the one `MEZ_SANCTIONS_FILE` names). A file that cannot be read or
    /// parsed, or that breaks the format, is an error naming the file and the reason.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SanctionsError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SanctionsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// The configured file when there is one, else the sample, logging a warning so that an
    /// operator sees that the zone screens against fictional names only.
    pub fn load(path: Option<&Path>) -> Result<Self, SanctionsError> {
        match path {
            Some(path) => Self::from_file(path),
            None => {
                tracing::warn!(
                    "no sanctions list configured (MEZ_SANCTIONS_FILE); screening against the \
                     built-in sample of fictional names"
                );
                Self::sample()
            }
        }
    }

    /// Parses a list from YAML text; `origin` names the source in errors.
    pub fn parse(origin: &str, yaml: &str) -> Result<Self, SanctionsError> {
        let malformed = |reason: String| SanctionsError::Malformed {
            origin: origin.to_string(),
            reason,
        };
        // A key given twice would otherwise silently keep only the last value.
        let options = LoaderOptions::default().error_on_duplicate_keys(true);
        let node = marked_yaml::parse_yaml_with_options(0, yaml, options)
            // The loader's messages already start with the position.
            .map_err(|err| malformed(err.to_string()))?;
        let file: ListFile = marked_yaml::from_node(&node)
            .map_err(|err| malformed(describe_shape_error(&node, &err)))?;
        if file.entries.is_empty() {
            // An empty list clears every name, which silently disables the hard block.
            return Err(malformed(
                "the list has no entries; an empty list would let every name through".into(),
            ));
        }

        let mut list = SanctionsList {
            origin: origin.to_string(),
            entries: Vec::with_capacity(file.entries.len()),
            index: HashMap::new(),
        };
        for (position, entry) in file.entries.iter().enumerate() {
            let number = position + 1;
            let slot = list.entries.len();
            list.entries.push(entry.name.trim().to_string());
            let terms = std::iter::once((&entry.name, "name"))
                .chain(entry.aliases.iter().map(|alias| (alias, "alias")));
            for (term, what) in terms {
                let folded = fold_name(term);
                if folded.is_empty() {
                    return Err(malformed(format!(
                        "{}entry {number} has an empty {what}",
                        span_prefix(term.span())
                    )));
                }
                // Lists do share spellings between entries; the first entry keeps the
                // spelling, so the answer does not depend on hash order.
                list.index.entry(folded).or_insert(slot);
            }
        }
        Ok(list)
    }

    /// Screens one name. `None` means no entry's folded name or alias equals the folded
    /// name (see the module documentation for what that does and does not catch). A name
    /// that folds to nothing (empty or blank) never hits.
    pub fn screen(&self, name: &str) -> Option<SanctionsHit> {
        let folded = fold_name(name);
        if folded.is_empty() {
            return None;
        }
        let slot = *self.index.get(&folded)?;
        let entry = self.entries.get(slot)?.clone();
        Some(SanctionsHit {
            entry,
            matched: name.to_string(),
        })
    }

    /// Screens each name and returns every hit, in the order of `names`.
    pub fn screen_all(&self, names: &[String]) -> Vec<SanctionsHit> {
        names.iter().filter_map(|name| self.screen(name)).collect()
    }

    /// Where the list came from: the file path, or the sample's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of entries (not counting aliases).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list has no entries; a loaded list never does.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Folds a name for matching: Unicode lower case, trimmed, inner whitespace runs collapsed
/// to single spaces.
pub fn fold_name(name: &str) -> String {
    name.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A shape error as `LINE:COLUMN: message` where the position can be found.
///
/// The deserialiser knows the position of some errors only. For an unknown key (what a typo
/// produces) the key is looked up in the parsed document; for the rest (a missing or
/// mistyped field) the entries are read one at a time to find the one at fault, so that the
/// message names the entry and where it starts.
fn describe_shape_error(document: &Node, err: &marked_yaml::FromNodeError) -> String {
    let mark = err.start_mark().or_else(|| match &**err {
        marked_yaml::Error::UnknownFieldError(key, _, _) => find_key(document, key),
        _ => None,
    });
    if let Some(mark) = mark {
        return format!("{}:{}: {err}", mark.line(), mark.column());
    }
    let Some(entries) = document.as_mapping().and_then(|map| map.get("entries")) else {
        return err.to_string();
    };
    if let Node::Sequence(items) = entries {
        for (position, item) in items.iter().enumerate() {
            if let Err(entry_err) = marked_yaml::from_node::<EntryFile>(item) {
                // A block mapping's own mark sits after its first key; its first key's mark
                // is where a reader looks for the entry.
                let start = match item {
                    Node::Mapping(map) => map.keys().next().map_or(item.span(), |key| key.span()),
                    _ => item.span(),
                };
                return format!("{}entry {}: {entry_err}", span_prefix(start), position + 1);
            }
        }
    }
    format!("{}`entries`: {err}", span_prefix(entries.span()))
}

/// `LINE:COLUMN: ` for the start of a span, or nothing when it has none.
fn span_prefix(span: &marked_yaml::Span) -> String {
    span.start()
        .map(|mark| format!("{}:{}: ", mark.line(), mark.column()))
        .unwrap_or_default()
}

/// The position of the first mapping key spelled `key`, depth first in document order.
fn find_key(node: &Node, key: &str) -> Option<Marker> {
    match node {
        Node::Scalar(_) => None,
        Node::Sequence(items) => items.iter().find_map(|item| find_key(item, key)),
        Node::Mapping(map) => map.iter().find_map(|(name, value)| {
            if name.as_str() == key {
                name.span().start().copied()
            } else {
                find_key(value, key)
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SanctionsList {
        SanctionsList::sample().unwrap()
    }

    #[test]
    fn the_sample_loads() {
        let list = sample();
        assert!(list.len() >= 10);
        assert!(!list.is_empty());
        assert_eq!(list.origin(), SAMPLE_ORIGIN);
    }

    #[test]
    fn folding_trims_collapses_and_lowercases() {
        assert_eq!(fold_name("  IVAN   sanctionedov "), "ivan sanctionedov");
        assert_eq!(fold_name("Ivan\t\nSanctionedov"), "ivan sanctionedov");
        assert_eq!(fold_name("ÉMILE\u{00A0}Ö"), "émile ö");
        assert_eq!(fold_name("   "), "");
    }

    #[test]
    fn screening_folds_case_and_whitespace() {
        let list = sample();
        let hit = list.screen("  IVAN   sanctionedov ").unwrap();
        assert_eq!(hit.entry, "Ivan Sanctionedov");
        assert_eq!(hit.matched, "  IVAN   sanctionedov ");
        assert!(list.screen("blocked trading co llc").is_some());
    }

    #[test]
    fn aliases_hit_the_entry() {
        let list = sample();
        let hit = list.screen("vanya THE embargoed").unwrap();
        assert_eq!(
            hit,
            SanctionsHit {
                entry: "Ivan Sanctionedov".into(),
                matched: "vanya THE embargoed".into(),
            }
        );
        assert_eq!(
            list.screen("Blocked Trading Company").unwrap().entry,
            "Blocked Trading Co LLC"
        );
    }

    #[test]
    fn matching_is_exact_not_fuzzy() {
        let list = sample();
        for near_miss in [
            "Ivan Sanctionedov Jr",
            "Ivan Sanctionedo",
            "Ivan",
            "IvanSanctionedov",
            "Blocked Trading Co",
            "",
            "   ",
        ] {
            assert_eq!(list.screen(near_miss), None, "{near_miss:?}");
        }
        assert_eq!(list.screen("Jane Citizen"), None);
    }

    #[test]
    fn screen_all_keeps_every_hit_in_order() {
        let list = sample();
        let names = vec![
            "Jane Citizen".to_string(),
            "Embargo Maritime".to_string(),
            "ivan sanctionedov".to_string(),
        ];
        let hits = list.screen_all(&names);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].entry, "Embargo Maritime Shipping SA");
        assert_eq!(hits[1].matched, "ivan sanctionedov");
    }

    #[test]
    fn the_first_entry_keeps_a_shared_spelling() {
        let list = SanctionsList::parse(
            "test",
            "entries:\n  - name: Alpha\n    aliases: [Shared]\n  - name: Beta\n    aliases: [shared]\n",
        )
        .unwrap();
        assert_eq!(list.screen("SHARED").unwrap().entry, "Alpha");
        assert_eq!(list.screen("beta").unwrap().entry, "Beta");
    }

    #[test]
    fn from_file_reads_a_list() {
        let dir = std::env::temp_dir().join(format!("mez-sanctions-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("list.yaml");
        std::fs::write(&path, "entries:\n  - name: Someone Listed\n").unwrap();
        let list = SanctionsList::from_file(&path).unwrap();
        assert_eq!(list.origin(), path.display().to_string());
        assert_eq!(
            list.screen("someone listed").unwrap().entry,
            "Someone Listed"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn from_file_reports_malformed_yaml_with_the_path_and_position() {
        let dir = std::env::temp_dir().join(format!("mez-sanctions-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.yaml");
        std::fs::write(&path, "entries:\n  - name: [unclosed\n").unwrap();
        let err = SanctionsList::from_file(&path).unwrap_err();
        assert!(matches!(err, SanctionsError::Malformed { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with("malformed sanctions list "),
            "{message}"
        );
        // The path, then the position the parser stopped at, then why.
        let located = format!("{}: 3:1: ", path.display());
        assert!(message.contains(&located), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn from_file_reports_a_missing_file() {
        let path = std::env::temp_dir().join(format!("mez-absent-{}.yaml", uuid::Uuid::new_v4()));
        let err = SanctionsList::from_file(&path).unwrap_err();
        assert!(matches!(err, SanctionsError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    fn reason(yaml: &str) -> String {
        match SanctionsList::parse("list.yaml", yaml) {
            Err(SanctionsError::Malformed { origin, reason }) => {
                assert_eq!(origin, "list.yaml");
                reason
            }
            other => panic!("expected a malformed-list error, got {other:?}"),
        }
    }

    #[test]
    fn shape_errors_are_refused_with_a_reason() {
        // Not a mapping at the top.
        assert_eq!(reason("- name: x\n"), "1:1: Top level must be a mapping");
        // No entries key, or the wrong type.
        assert_eq!(reason("{}\n"), "missing field `entries`");
        assert_eq!(reason(""), "missing field `entries`");
        assert_eq!(
            reason("entries: nope\n"),
            "1:10: `entries`: invalid type: string \"nope\", expected a sequence"
        );
        // An entry without a name, or with a name that is not a string, is found and named.
        assert_eq!(
            reason("entries:\n  - name: X\n  - aliases: [a]\n"),
            "3:5: entry 2: missing field `name`"
        );
        assert_eq!(
            reason("entries:\n  - name: {a: b}\n"),
            "2:5: entry 1: invalid type: map, expected a string"
        );
        // A typo in a key is refused rather than ignored.
        let typo = reason("entries:\n  - name: X\n    alias: [Y]\n");
        assert!(typo.contains("alias"), "{typo}");
        assert!(typo.starts_with("3:"), "{typo}");
        // A key given twice.
        assert!(reason("entries:\n  - name: X\n    name: Y\n").contains("Duplicate key \"name\""));
    }

    #[test]
    fn empty_lists_names_and_aliases_are_refused() {
        assert!(reason("entries: []\n").contains("no entries"));
        let blank = reason("entries:\n  - name: \"  \"\n");
        assert_eq!(blank, "2:11: entry 1 has an empty name");
        let alias = reason("entries:\n  - name: X\n  - name: Y\n    aliases: [\"\"]\n");
        assert!(alias.ends_with("entry 2 has an empty alias"), "{alias}");
        assert!(alias.starts_with("4:"), "{alias}");
    }
}
