// SPDX-License-Identifier: BUSL-1.1
//! Sanctions screening: the lists a zone screens against, loaded at start-up from the zone's
//! YAML, OFAC's SDN CSV files or OpenSanctions' `targets.simple.csv`, and a fuzzy,
//! order-insensitive match of each screened name against every spelling they hold.
//!
//! The earlier implementation loaded a sanctions checker and never consulted it, so its hard
//! block could never fire; the one after it matched a name only exactly after folding case and
//! whitespace, so `Ivan Sanctionedow` or `Sanctionedov Ivan` slipped through. Here:
//! - both sides are normalised ([`normalize`]): Unicode NFKD with diacritics dropped, what is
//!   left transliterated to ASCII, lower case, punctuation dropped, legal forms unified and
//!   dropped (`Co. L.L.C.`, `Ltd`, `GmbH`, ...), leading honorifics dropped (`Mr`, `Dr`,
//!   `Sheikh`, ...);
//! - the tokens are matched one to one in any order, each pair by Jaro-Winkler similarity
//!   within an edit budget, initials against first letters, and the name scored from how much
//!   of the listed spelling (and of the screened name) the pairs cover ([`matcher`], which
//!   states the exact rules); a name hits when its best score reaches the threshold
//!   (`MEZ_SANCTIONS_THRESHOLD`, default [`DEFAULT_THRESHOLD`], chosen on the labelled corpus
//!   `tests/fixtures/sanctions/corpus.csv`, whose test prints recall and precision);
//! - an index (a deletion neighbourhood of each word's skeleton) finds the candidates, so a
//!   name is screened against a 50,000-entry list in microseconds (BENCHMARKS.md).
//!
//! A hit ([`SanctionsHit`]) names the entry, the spelling that matched (the entry's name or an
//! alias), the score and the name as screened. A list that cannot be read, or breaks its
//! format, stops the zone rather than leaving it screening against nothing; each loaded file
//! is described by a [`ListSource`] (format, entry count, SHA-256, load time).
//!
//! What it still does not do: phonetic matching across scripts beyond transliteration, word
//! splits (`Abdulrahman` against `Abdul Rahman` scores on the other words only), or the
//! weighting of common names. It is a screening floor with measured behaviour, not a
//! screening product; a zone that must do more puts a dedicated service behind this interface.

mod buckets;
mod formats;
pub mod matcher;
pub mod normalize;

use std::path::{Path, PathBuf};

use marked_yaml::{LoaderOptions, Marker, Node, Spanned};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use formats::Format;
use matcher::Index;

/// The committed sample list: fictional entries only, used when no list file is configured.
const SAMPLE_YAML: &str = include_str!("../../../spec/data/sanctions.yaml");

/// How the sample list names itself in errors and logs.
const SAMPLE_ORIGIN: &str = "built-in sample list (spec/data/sanctions.yaml)";

/// The score a name needs to hit when `MEZ_SANCTIONS_THRESHOLD` is not set. Chosen on the
/// corpus (`tests/fixtures/sanctions/corpus.csv`): see README.md's configuration table.
pub const DEFAULT_THRESHOLD: f64 = 0.88;

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
    /// (YAML) or `line N: ` (CSV) when the position is known.
    #[error("malformed sanctions list {origin}: {reason}")]
    Malformed { origin: String, reason: String },
}

/// A screened name that matched an entry of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SanctionsHit {
    /// The entry's primary name, as the list spells it.
    pub entry: String,
    /// The name that was screened, exactly as the caller supplied it, so that the audit
    /// shows what in the request hit the list.
    pub matched: String,
    /// The spelling of the entry that matched best: its name or one of its aliases, as the
    /// list writes it.
    pub alias: String,
    /// The match score, 0 to 1 (rounded to three decimals), at or above the threshold.
    pub score: f64,
}

// Scores are never NaN (they are sums and quotients of finite, positive weights), so
// equality is an equivalence.
impl Eq for SanctionsHit {}

/// Where one part of the list came from: for the evidence a screening result rests on.
#[derive(Debug, Clone, Serialize)]
pub struct ListSource {
    /// The file's path as configured, or the sample's name.
    pub source: String,
    /// `mez-yaml`, `ofac-sdn-csv`, `opensanctions-csv` or `sample`.
    pub format: &'static str,
    /// The entries it contributed (aliases not counted).
    pub entries: usize,
    /// Lowercase hex SHA-256 of the file's bytes. For OFAC, of the two files together: the
    /// SHA-256 of the text `sha256sum sdn.csv alt.csv` prints (each file's hex digest, two
    /// spaces, its file name, a newline), so `cd DIR && sha256sum sdn.csv alt.csv |
    /// sha256sum` reproduces it.
    pub sha256: String,
    /// When it was loaded (RFC 3339, UTC).
    pub loaded_at: String,
}

/// One entry as a list format yields it.
#[derive(Debug, Clone)]
struct RawEntry {
    name: String,
    aliases: Vec<String>,
}

/// A loaded sanctions list, indexed for screening.
#[derive(Debug, Clone)]
pub struct SanctionsList {
    /// Each entry's primary name, as written.
    entries: Vec<String>,
    index: Index,
    sources: Vec<ListSource>,
    sample: bool,
    threshold: f64,
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

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn read(path: &Path) -> Result<Vec<u8>, SanctionsError> {
    std::fs::read(path).map_err(|source| SanctionsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl SanctionsList {
    /// The committed sample list (fictional entries). It is for development, tests and
    /// demonstrations; a production zone configures its own files.
    pub fn sample() -> Result<Self, SanctionsError> {
        let entries = parse_yaml(SAMPLE_ORIGIN, SAMPLE_YAML)?;
        let source = ListSource {
            source: SAMPLE_ORIGIN.to_string(),
            format: "sample",
            entries: entries.len(),
            sha256: sha256_hex(SAMPLE_YAML.as_bytes()),
            loaded_at: now_rfc3339(),
        };
        Ok(Self::build(entries, vec![source], true))
    }

    /// Loads one list file, its format told by its extension and first row (`.yaml`/`.yml`,
    /// or a `.csv` of OFAC's or OpenSanctions' layout). A file that cannot be read or parsed, or that breaks its format, is an
    /// error naming the file and the line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SanctionsError> {
        Self::from_files(&[path.as_ref().to_path_buf()])
    }

    /// Loads several list files into one list (the comma-separated `MEZ_SANCTIONS_FILE`).
    pub fn from_files(paths: &[PathBuf]) -> Result<Self, SanctionsError> {
        let mut entries = Vec::new();
        let mut sources = Vec::new();
        for path in paths {
            let (mut more, source) = load_one(path)?;
            entries.append(&mut more);
            sources.push(source);
        }
        Ok(Self::build(entries, sources, false))
    }

    /// The configured files when there are any, else the sample, logging a warning so that
    /// an operator sees that the zone screens against fictional names only.
    pub fn load(paths: &[PathBuf]) -> Result<Self, SanctionsError> {
        if paths.is_empty() {
            tracing::warn!(
                "no sanctions list configured (MEZ_SANCTIONS_FILE); screening against the \
                 built-in sample of fictional names"
            );
            return Self::sample();
        }
        let list = Self::from_files(paths)?;
        for source in list.sources() {
            tracing::info!(
                source = %source.source, format = source.format, entries = source.entries,
                sha256 = %source.sha256, "sanctions list loaded"
            );
        }
        Ok(list)
    }

    /// Parses a list from the zone's YAML text; `origin` names the source in errors.
    pub fn parse(origin: &str, yaml: &str) -> Result<Self, SanctionsError> {
        let entries = parse_yaml(origin, yaml)?;
        let source = ListSource {
            source: origin.to_string(),
            format: Format::MezYaml.name(),
            entries: entries.len(),
            sha256: sha256_hex(yaml.as_bytes()),
            loaded_at: now_rfc3339(),
        };
        Ok(Self::build(entries, vec![source], false))
    }

    fn build(raw: Vec<RawEntry>, sources: Vec<ListSource>, sample: bool) -> Self {
        let spellings = raw.iter().enumerate().flat_map(|(at, entry)| {
            std::iter::once((at, entry.name.trim().to_string())).chain(
                entry
                    .aliases
                    .iter()
                    .map(move |a| (at, a.trim().to_string())),
            )
        });
        let index = Index::build(spellings);
        SanctionsList {
            entries: raw.into_iter().map(|e| e.name.trim().to_string()).collect(),
            index,
            sources,
            sample,
            threshold: DEFAULT_THRESHOLD,
        }
    }

    /// The same list with another threshold (`MEZ_SANCTIONS_THRESHOLD`), in (0, 1].
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// The score a name needs to hit.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Screens one name: the entry whose spelling scores best, when that score reaches the
    /// threshold (see the module documentation). A name with no letters or digits never hits.
    pub fn screen(&self, name: &str) -> Option<SanctionsHit> {
        let probe = matcher::prepare(name);
        if probe.is_empty() {
            return None;
        }
        let best = self.index.best(&probe, self.threshold as f32)?;
        let variant = self.index.variants().get(best.variant)?;
        Some(SanctionsHit {
            entry: self.entries.get(variant.entry)?.clone(),
            matched: name.to_string(),
            alias: variant.spelling.to_string(),
            score: (f64::from(best.score) * 1000.0).round() / 1000.0,
        })
    }

    /// Screens each name and returns every hit, in the order of `names`.
    pub fn screen_all(&self, names: &[String]) -> Vec<SanctionsHit> {
        names.iter().filter_map(|name| self.screen(name)).collect()
    }

    /// Where the list came from: the sources' names, comma-separated.
    pub fn origin(&self) -> String {
        self.sources
            .iter()
            .map(|s| s.source.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Each file the list was loaded from (or the sample), in load order.
    pub fn sources(&self) -> &[ListSource] {
        &self.sources
    }

    /// Whether the list is the built-in sample of fictional names.
    pub fn is_sample(&self) -> bool {
        self.sample
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

/// Reads one file in whichever format it is.
fn load_one(path: &Path) -> Result<(Vec<RawEntry>, ListSource), SanctionsError> {
    let bytes = read(path)?;
    let format = formats::detect(path, &bytes)?;
    let (entries, sha256) = match format {
        Format::MezYaml => {
            let text =
                String::from_utf8(bytes.clone()).map_err(|err| SanctionsError::Malformed {
                    origin: path.display().to_string(),
                    reason: format!("the file is not UTF-8: {err}"),
                })?;
            (
                parse_yaml(&path.display().to_string(), &text)?,
                sha256_hex(&bytes),
            )
        }
        Format::OpenSanctions => (
            formats::read_opensanctions(path, &bytes)?,
            sha256_hex(&bytes),
        ),
        Format::OfacSdn => {
            let alt_path = formats::alt_path(path);
            let alt = std::fs::read(&alt_path).map_err(|err| SanctionsError::Malformed {
                origin: path.display().to_string(),
                reason: format!(
                    "an OFAC sdn.csv needs its alternate-names file beside it, and {} could \
                     not be read: {err}",
                    alt_path.display()
                ),
            })?;
            let manifest = format!(
                "{}  {}\n{}  {}\n",
                sha256_hex(&bytes),
                file_name(path),
                sha256_hex(&alt),
                file_name(&alt_path)
            );
            (
                formats::read_ofac(path, &bytes, &alt_path, &alt)?,
                sha256_hex(manifest.as_bytes()),
            )
        }
    };
    if entries.is_empty() {
        return Err(SanctionsError::Malformed {
            origin: path.display().to_string(),
            reason: "the list has no entries; an empty list would let every name through".into(),
        });
    }
    let source = ListSource {
        source: path.display().to_string(),
        format: format.name(),
        entries: entries.len(),
        sha256,
        loaded_at: now_rfc3339(),
    };
    Ok((entries, source))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parses the zone's YAML format; `origin` names the source in errors.
fn parse_yaml(origin: &str, yaml: &str) -> Result<Vec<RawEntry>, SanctionsError> {
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
    let mut entries = Vec::with_capacity(file.entries.len());
    for (position, entry) in file.entries.iter().enumerate() {
        let number = position + 1;
        let terms = std::iter::once((&entry.name, "name"))
            .chain(entry.aliases.iter().map(|alias| (alias, "alias")));
        for (term, what) in terms {
            if normalize::tokens(term).is_empty() {
                return Err(malformed(format!(
                    "{}entry {number} has an empty {what}",
                    span_prefix(term.span())
                )));
            }
        }
        entries.push(RawEntry {
            name: String::clone(&entry.name),
            aliases: entry.aliases.iter().map(|a| String::clone(a)).collect(),
        });
    }
    Ok(entries)
}

/// A name as screening sees it: its normalised tokens joined by single spaces (see
/// [`normalize`]). Empty for a name with no letters or digits, which screens nobody.
pub fn fold_name(name: &str) -> String {
    normalize::tokens(name).join(" ")
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
    use std::path::PathBuf;

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
    fn folding_normalises_the_name() {
        assert_eq!(fold_name("  IVAN   sanctionedov "), "ivan sanctionedov");
        assert_eq!(fold_name("Ivan\t\nSanctionedov"), "ivan sanctionedov");
        assert_eq!(fold_name("ÉMILE\u{00A0}Ö"), "emile o");
        assert_eq!(fold_name("Blocked Trading Co. L.L.C."), "blocked trading");
        assert_eq!(fold_name("   "), "");
        assert_eq!(fold_name("-- . --"), "");
    }

    #[test]
    fn screening_folds_case_and_whitespace() {
        let list = sample();
        let hit = list.screen("  IVAN   sanctionedov ").unwrap();
        assert_eq!(hit.entry, "Ivan Sanctionedov");
        assert_eq!(hit.matched, "  IVAN   sanctionedov ");
        assert_eq!(hit.alias, "Ivan Sanctionedov");
        assert_eq!(hit.score, 1.0);
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
                alias: "Vanya the Embargoed".into(),
                score: 1.0,
            }
        );
        let hit = list.screen("Blocked Trading Company").unwrap();
        assert_eq!(hit.entry, "Blocked Trading Co LLC");
    }

    /// The examples of the issue: each must hit a list naming `Ivan Sanctionedov` and
    /// `Blocked Trading Co LLC`.
    #[test]
    fn real_spellings_hit() {
        let list = SanctionsList::parse(
            "issue.yaml",
            "entries:\n  - name: Ivan Sanctionedov\n  - name: Blocked Trading Co LLC\n",
        )
        .unwrap();
        for (probe, entry) in [
            ("Sanctionedov Ivan", "Ivan Sanctionedov"),
            ("Ivan Sanctionedow", "Ivan Sanctionedov"),
            ("Ívan Sanctiónedov", "Ivan Sanctionedov"),
            ("SANCTIONEDOV, Ivan", "Ivan Sanctionedov"),
            ("I. Sanctionedov", "Ivan Sanctionedov"),
            ("Mr Ivan Sanctionedov", "Ivan Sanctionedov"),
            ("Blocked Trading Co. L.L.C.", "Blocked Trading Co LLC"),
            ("Blocked Trading Limited", "Blocked Trading Co LLC"),
        ] {
            let hit = list
                .screen(probe)
                .unwrap_or_else(|| panic!("{probe:?} must hit"));
            assert_eq!(hit.entry, entry, "{probe:?}");
            assert!(hit.score >= list.threshold() && hit.score <= 1.0, "{hit:?}");
        }
        // Reordering costs nothing; a typo costs a little.
        let exact = list.screen("Ivan Sanctionedov").unwrap().score;
        assert_eq!(list.screen("Sanctionedov Ivan").unwrap().score, exact);
        assert!(list.screen("Ivan Sanctionedow").unwrap().score < exact);
    }

    #[test]
    fn look_alikes_do_not_hit() {
        let list = sample();
        for near_miss in [
            "Ivan",
            "Ivan Petrov",
            "Ivan S.",
            "A. Sanctionedov",
            "Blocked",
            "Trading Co LLC",
            "Natalia Frozenberg",
            "Omar Khan",
            "Jane Citizen",
            "Clean Commerce Ltd",
            "Innocent Front Ltd",
            "Ali Khan",
            "",
            "   ",
            "...",
        ] {
            assert_eq!(list.screen(near_miss), None, "{near_miss:?}");
        }
    }

    #[test]
    fn the_threshold_decides() {
        let strict = sample().with_threshold(1.0);
        assert!(strict.screen("Ivan Sanctionedov").is_some());
        assert!(strict.screen("Ivan Sanctionedow").is_none());
        let loose = sample().with_threshold(0.5);
        assert!(loose.screen("Ivan Sanctionedow").is_some());
        assert_eq!(sample().threshold(), DEFAULT_THRESHOLD);
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

    fn fixture(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/sanctions")
            .join(path)
    }

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mez-sanctions-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_ofac_sdn_list_loads_with_its_alternate_names() {
        let path = fixture("ofac/sdn.csv");
        let list = SanctionsList::from_file(&path).unwrap();
        assert_eq!(list.len(), 5);
        assert!(!list.is_sample());
        let hit = list.screen("Ivan Sanctionedov").unwrap();
        assert_eq!(hit.entry, "SANCTIONEDOV, Ivan");
        let hit = list.screen("Vanya the Embargoed").unwrap();
        assert_eq!(hit.entry, "SANCTIONEDOV, Ivan");
        assert_eq!(hit.alias, "VANYA THE EMBARGOED");
        assert_eq!(
            list.screen("Blocked Trading Co LLC").unwrap().entry,
            "BLOCKED TRADING CO. L.L.C."
        );
        assert_eq!(
            list.screen("Blocked Frontier Holdings").unwrap().alias,
            "BLOCKED FRONTIER HOLDINGS LTD"
        );
        assert_eq!(list.screen("Jane Citizen"), None);
        // One source for the pair, hashed as `sha256sum sdn.csv alt.csv` prints them.
        let [source] = list.sources() else {
            panic!("{:?}", list.sources())
        };
        assert_eq!(source.format, "ofac-sdn-csv");
        assert_eq!(source.entries, 5);
        assert_eq!(source.source, path.display().to_string());
        let sdn = sha256_hex(&std::fs::read(&path).unwrap());
        let alt = sha256_hex(&std::fs::read(fixture("ofac/alt.csv")).unwrap());
        let manifest = format!("{sdn}  sdn.csv\n{alt}  alt.csv\n");
        assert_eq!(source.sha256, sha256_hex(manifest.as_bytes()));
        assert!(
            time::OffsetDateTime::parse(
                &source.loaded_at,
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()
        );
    }

    #[test]
    fn an_opensanctions_list_loads_with_its_aliases() {
        let path = fixture("opensanctions/targets.simple.csv");
        let list = SanctionsList::from_file(&path).unwrap();
        assert_eq!(list.len(), 3);
        let hit = list.screen("Natasha Frozenassets").unwrap();
        assert_eq!(hit.entry, "Natalia Frozenassets");
        assert_eq!(hit.alias, "Natasha Frozenassets");
        // The Cyrillic alias is transliterated.
        assert_eq!(
            list.screen("Наталья Фрозенассетс").unwrap().entry,
            "Natalia Frozenassets"
        );
        assert_eq!(
            list.screen("Umar Designatedi").unwrap().entry,
            "Omar Designatedi"
        );
        let source = &list.sources()[0];
        assert_eq!(source.format, "opensanctions-csv");
        assert_eq!(source.sha256, sha256_hex(&std::fs::read(&path).unwrap()));
    }

    #[test]
    fn several_files_make_one_list_and_the_sample_says_so() {
        let dir = temp_dir();
        let yaml = dir.join("zone.yaml");
        std::fs::write(&yaml, "entries:\n  - name: Someone Listed\n").unwrap();
        let list = SanctionsList::load(&[
            fixture("ofac/sdn.csv"),
            fixture("opensanctions/targets.simple.csv"),
            yaml.clone(),
        ])
        .unwrap();
        assert_eq!(list.len(), 5 + 3 + 1);
        let formats: Vec<_> = list.sources().iter().map(|s| s.format).collect();
        assert_eq!(formats, ["ofac-sdn-csv", "opensanctions-csv", "mez-yaml"]);
        assert_eq!(
            list.screen("Listed Someone").unwrap().entry,
            "Someone Listed"
        );
        assert_eq!(
            list.screen("Omar Designatedi").unwrap().entry,
            "Omar Designatedi"
        );
        assert!(!list.is_sample());
        let sample = SanctionsList::load(&[]).unwrap();
        assert!(sample.is_sample());
        assert_eq!(sample.sources()[0].format, "sample");
        assert_eq!(
            sample.sources()[0].sha256,
            sha256_hex(SAMPLE_YAML.as_bytes())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn load_error(name: &str, bytes: &[u8]) -> String {
        let dir = temp_dir();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let message = SanctionsList::from_file(&path).unwrap_err().to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
        message
    }

    #[test]
    fn malformed_csv_lists_name_the_file_and_line() {
        let message = load_error("list.txt", b"x");
        assert!(message.contains("unknown list format"), "{message}");
        let message = load_error("list.csv", b"a,b,c\n");
        assert!(
            message.contains("line 1: unrecognised CSV layout (3 fields)"),
            "{message}"
        );
        let message = load_error("alt.csv", b"1,2,\"aka\",\"X\",-0-\n");
        assert!(message.contains("alternate-names file"), "{message}");
        // An sdn.csv without its alt.csv beside it.
        let message = load_error(
            "sdn.csv",
            b"1,\"X Y\",-0-,P,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n",
        );
        assert!(message.contains("alt.csv"), "{message}");
        // A short OFAC row, an empty name, and an alternate name for no entry.
        let dir = temp_dir();
        let row = "1,\"X Y\",-0-,P,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n";
        std::fs::write(dir.join("alt.csv"), "2,3,\"aka\",\"Z\",-0-\n").unwrap();
        for (sdn, expected, file) in [
            (format!("{row}2,\"A\",-0-\n"), "line 2: 3 fields", "sdn.csv"),
            (
                format!("{row}2,-0-,-0-,P,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n"),
                "line 2: entry 2 has no SDN_Name",
                "sdn.csv",
            ),
            (row.to_string(), "line 1: ent_num 2 is not in", "alt.csv"),
        ] {
            std::fs::write(dir.join("sdn.csv"), sdn).unwrap();
            let message = SanctionsList::from_file(dir.join("sdn.csv"))
                .unwrap_err()
                .to_string();
            assert!(message.contains(expected), "{message}");
            assert!(
                message.contains(&dir.join(file).display().to_string()),
                "{message}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
        // OpenSanctions: a row without a name, and a header only.
        let header = "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,dataset,first_seen,last_seen,last_change\n";
        let message = load_error(
            "targets.simple.csv",
            format!("{header}a,Person,Ok Name,,,,,,,,,,,,\nb,Person,,,,,,,,,,,,,\n").as_bytes(),
        );
        assert!(
            message.contains("line 3: the entry has no name"),
            "{message}"
        );
        let message = load_error("targets.simple.csv", header.as_bytes());
        assert!(message.contains("no entries"), "{message}");
    }

    /// On one list holding every corpus entry, the index finds the very match that scoring
    /// every spelling finds, for every probe of the corpus and at several thresholds.
    #[test]
    fn the_index_loses_nothing_against_a_full_scan() {
        let text = std::fs::read_to_string(fixture("corpus.csv")).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[1].to_string())
            })
            .collect();
        let spellings = rows
            .iter()
            .enumerate()
            .map(|(at, (entry, _))| (at, entry.clone()));
        let index = Index::build(spellings);
        let mut agreed = 0;
        for (_, probe) in &rows {
            let tokens = matcher::prepare(probe);
            for threshold in [0.5, 0.8, 0.88, 0.95] {
                let fast = index.best(&tokens, threshold);
                let scan = index.best_by_scan(&tokens, threshold);
                assert_eq!(
                    fast.map(|b| (index.variants()[b.variant].spelling.clone(), b.score)),
                    scan.map(|b| (index.variants()[b.variant].spelling.clone(), b.score)),
                    "{probe:?} at {threshold}"
                );
                agreed += usize::from(fast.is_some());
            }
        }
        assert!(agreed > 100, "{agreed}");
    }
}
