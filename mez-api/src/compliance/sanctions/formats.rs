// SPDX-License-Identifier: BUSL-1.1
//! The list file formats besides the zone's own YAML, and how a file's format is told.
//!
//! - **OFAC SDN CSV** (`ofac-sdn-csv`): the US Treasury's `sdn.csv`, no header row, twelve
//!   columns (`ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage,
//!   GRT, Vess_flag, Vess_owner, Remarks`), `-0-` for an empty value. Its alternate names are
//!   in `alt.csv` beside it (`ent_num, alt_num, alt_type, alt_name, alt_remarks`), joined on
//!   `ent_num`: every alternate name becomes an alias of its entry. The file OFAC ends with a
//!   lone end-of-file character (0x1A) is accepted. `alt.csv` must exist, since without it the
//!   aliases (most of the spellings to catch) would silently be missing.
//! - **OpenSanctions** (`opensanctions-csv`): `targets.simple.csv`, a header row `id, schema,
//!   name, aliases, birth_date, countries, addresses, identifiers, sanctions, phones, emails,
//!   dataset, first_seen, last_seen, last_change`; `aliases` holds `;`-separated names.
//!
//! A `.yaml`/`.yml` file is the zone's own format; a `.csv` file is told by its first row
//! (the OpenSanctions header, or twelve fields starting with a number). Errors name the file
//! and the line.

use std::collections::HashMap;
use std::path::Path;

use super::{RawEntry, SanctionsError, normalize};

/// OFAC's null.
const OFAC_NULL: &str = "-0-";
/// OpenSanctions' leading header columns this reader relies on.
const OPENSANCTIONS_HEAD: [&str; 4] = ["id", "schema", "name", "aliases"];
/// Columns of OFAC's `sdn.csv` and `alt.csv`.
const SDN_COLUMNS: usize = 12;
const ALT_COLUMNS: usize = 5;

/// A list file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    MezYaml,
    OfacSdn,
    OpenSanctions,
}

impl Format {
    /// The name [`super::ListSource::format`] gives it.
    pub fn name(self) -> &'static str {
        match self {
            Format::MezYaml => "mez-yaml",
            Format::OfacSdn => "ofac-sdn-csv",
            Format::OpenSanctions => "opensanctions-csv",
        }
    }
}

fn malformed(path: &Path, reason: String) -> SanctionsError {
    SanctionsError::Malformed {
        origin: path.display().to_string(),
        reason,
    }
}

/// Tells the format of `path` from its extension and, for CSV, its first row.
pub fn detect(path: &Path, bytes: &[u8]) -> Result<Format, SanctionsError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "yaml" | "yml" => return Ok(Format::MezYaml),
        "csv" => {}
        _ => {
            return Err(malformed(
                path,
                "unknown list format: expected a .yaml or .yml file (the zone's format), or a \
                 .csv file (OFAC sdn.csv or OpenSanctions targets.simple.csv)"
                    .into(),
            ));
        }
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let first = match reader.records().next() {
        Some(Ok(record)) => record,
        Some(Err(err)) => return Err(malformed(path, csv_reason(&err))),
        None => return Err(malformed(path, "the file is empty".into())),
    };
    let head: Vec<&str> = first.iter().take(OPENSANCTIONS_HEAD.len()).collect();
    if head == OPENSANCTIONS_HEAD {
        return Ok(Format::OpenSanctions);
    }
    let numbered = first
        .get(0)
        .is_some_and(|f| f.trim().parse::<u64>().is_ok());
    if numbered && first.len() == SDN_COLUMNS {
        return Ok(Format::OfacSdn);
    }
    if numbered && first.len() == ALT_COLUMNS {
        return Err(malformed(
            path,
            "line 1: this is an OFAC alternate-names file (alt.csv); list sdn.csv instead, \
             which loads the alt.csv beside it"
                .into(),
        ));
    }
    Err(malformed(
        path,
        format!(
            "line 1: unrecognised CSV layout ({} fields): expected the OpenSanctions header \
             (id,schema,name,aliases,...) or OFAC sdn.csv's {SDN_COLUMNS} columns starting with \
             ent_num",
            first.len()
        ),
    ))
}

/// A csv crate error as `line N: ...`.
fn csv_reason(err: &csv::Error) -> String {
    match err.position() {
        Some(position) => format!("line {}: {err}", position.line()),
        None => err.to_string(),
    }
}

/// OFAC's value: trimmed, `-0-` as absent.
fn ofac_value(field: &str) -> Option<&str> {
    let field = field.trim();
    (!field.is_empty() && field != OFAC_NULL).then_some(field)
}

/// Whether a record is OFAC's end-of-file marker (a lone 0x1A) or a blank line.
fn is_trailer(record: &csv::StringRecord) -> bool {
    record.len() == 1
        && record
            .get(0)
            .is_some_and(|f| f.trim_matches(['\u{1a}', ' ']).is_empty())
}

/// The path of the `alt.csv` beside an `sdn.csv` (same case convention as the SDN file).
pub fn alt_path(sdn: &Path) -> std::path::PathBuf {
    let upper = sdn
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.chars().any(|c| c.is_ascii_uppercase()));
    sdn.with_file_name(if upper { "ALT.CSV" } else { "alt.csv" })
}

/// Reads an OFAC SDN list: `sdn` is `sdn.csv`'s bytes, `alt` the `alt.csv` beside it.
pub fn read_ofac(
    sdn_path: &Path,
    sdn: &[u8],
    alt_path: &Path,
    alt: &[u8],
) -> Result<Vec<RawEntry>, SanctionsError> {
    let mut entries: Vec<RawEntry> = Vec::new();
    let mut by_number: HashMap<u64, usize> = HashMap::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(sdn);
    for record in reader.records() {
        let record = record.map_err(|err| malformed(sdn_path, csv_reason(&err)))?;
        if is_trailer(&record) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != SDN_COLUMNS {
            return Err(malformed(
                sdn_path,
                format!(
                    "line {line}: {} fields where OFAC's sdn.csv has {SDN_COLUMNS}",
                    record.len()
                ),
            ));
        }
        let number = record
            .get(0)
            .and_then(|f| f.trim().parse::<u64>().ok())
            .ok_or_else(|| malformed(sdn_path, format!("line {line}: ent_num is not a number")))?;
        let name = record.get(1).and_then(ofac_value).ok_or_else(|| {
            malformed(
                sdn_path,
                format!("line {line}: entry {number} has no SDN_Name"),
            )
        })?;
        if normalize::tokens(name).is_empty() {
            return Err(malformed(
                sdn_path,
                format!("line {line}: entry {number}'s SDN_Name has no letters or digits"),
            ));
        }
        if by_number.insert(number, entries.len()).is_some() {
            return Err(malformed(
                sdn_path,
                format!("line {line}: ent_num {number} appears twice"),
            ));
        }
        entries.push(RawEntry {
            name: name.to_string(),
            aliases: Vec::new(),
        });
    }

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(alt);
    for record in reader.records() {
        let record = record.map_err(|err| malformed(alt_path, csv_reason(&err)))?;
        if is_trailer(&record) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != ALT_COLUMNS {
            return Err(malformed(
                alt_path,
                format!(
                    "line {line}: {} fields where OFAC's alt.csv has {ALT_COLUMNS}",
                    record.len()
                ),
            ));
        }
        let number = record
            .get(0)
            .and_then(|f| f.trim().parse::<u64>().ok())
            .ok_or_else(|| malformed(alt_path, format!("line {line}: ent_num is not a number")))?;
        let slot = *by_number.get(&number).ok_or_else(|| {
            malformed(
                alt_path,
                format!(
                    "line {line}: ent_num {number} is not in {}",
                    sdn_path.display()
                ),
            )
        })?;
        // An alternate name with no letters cannot be screened; it is skipped, not an error.
        if let Some(alias) = record.get(3).and_then(ofac_value) {
            if !normalize::tokens(alias).is_empty() {
                entries[slot].aliases.push(alias.to_string());
            }
        }
    }
    Ok(entries)
}

/// Reads an OpenSanctions `targets.simple.csv`.
pub fn read_opensanctions(path: &Path, bytes: &[u8]) -> Result<Vec<RawEntry>, SanctionsError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|err| malformed(path, csv_reason(&err)))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| malformed(path, format!("line 1: the header has no `{name}` column")))
    };
    let (name_at, aliases_at) = (column("name")?, column("aliases")?);
    let mut entries = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| malformed(path, csv_reason(&err)))?;
        let line = record.position().map_or(0, |p| p.line());
        let name = record.get(name_at).unwrap_or_default().trim();
        if normalize::tokens(name).is_empty() {
            return Err(malformed(
                path,
                format!("line {line}: the entry has no name with letters or digits"),
            ));
        }
        let aliases = record
            .get(aliases_at)
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .filter(|alias| !normalize::tokens(alias).is_empty())
            .map(str::to_string)
            .collect();
        entries.push(RawEntry {
            name: name.to_string(),
            aliases,
        });
    }
    if entries.is_empty() {
        return Err(malformed(
            path,
            "the list has no entries; an empty list would let every name through".into(),
        ));
    }
    Ok(entries)
}
