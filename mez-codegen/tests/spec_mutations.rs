// SPDX-License-Identifier: BUSL-1.1
//! A property test of the spec front end: mutate the real `spec/` and see that the front end
//! never panics, that every error it reports carries a `spec/FILE:LINE:COL` position inside
//! the mutated file, and that every mutation it accepts generates Rust that parses and an
//! OpenAPI document that is JSON.
//!
//! The mutations are drawn from a small xorshift generator. The seed comes from
//! `MEZ_SPEC_MUTATION_SEED` when set, else from the clock; it is printed at the start and in
//! every failure, so a failing run is replayed with `MEZ_SPEC_MUTATION_SEED=<seed>`.
//! `MEZ_SPEC_MUTATIONS` sets how many mutations run (at least 2,000 by default).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// How many mutations a default run tries.
const DEFAULT_MUTATIONS: usize = 2_000;

/// Values that have broken, or could break, a code generator: Rust keywords and reserved
/// identifiers, non-identifiers, YAML structure characters, control characters, huge numbers.
const NASTY: &[&str] = &[
    "self",
    "Self",
    "super",
    "crate",
    "_",
    "__",
    "fn",
    "type",
    "r#type",
    "async",
    "await",
    "dyn",
    "union",
    "macro_rules",
    "try",
    "gen",
    "abstract",
    "Fn",
    "Box",
    "String",
    "9lives",
    "a b",
    "with space",
    "a-b",
    "a.b",
    "a..b",
    "[]",
    "a[].b",
    "a[0]",
    "a[x].y",
    ".",
    "é",
    "Ünïcode",
    "名前",
    "\u{0}",
    "a\u{0}b",
    "\u{7}",
    "\u{feff}",
    "\u{202e}",
    "---",
    "...",
    "- x",
    "? x",
    "&anchor",
    "*alias",
    "!tag",
    "{",
    "}",
    "[",
    "]",
    "{}",
    "[]",
    "\"",
    "'",
    "\\",
    "#",
    "|",
    ">",
    "%",
    "@",
    "`",
    ":",
    ": x",
    "",
    "~",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e400",
    "99999999999999999999999999999999",
    "-99999999999999999999999999999999",
    "18446744073709551616",
    "9223372036854775808",
    "0.0000000000000000000000000001",
    "1.5",
    "\"1.00\"",
    "\"\"",
    "/",
    "//",
    "/a b",
    "/{id}",
    "/{}",
    "/{a}/{a}",
    "/{self}",
    "/{_}",
    "/{fn}",
    "GET",
    "POST /x",
    "GET /v1/entities",
    "list<Self>",
    "list<>",
    "list<list<string>>",
    "enum",
    "uuid",
    "datetime",
    "not-a-uuid",
    "2026-13-45T99:99:99Z",
    "$",
    "$nothing",
    "$entity",
    "x.y",
];

/// Names that are not usable as Rust identifiers, or only as raw ones.
const IDENT_NASTY: &[&str] = &[
    "self", "Self", "super", "crate", "_", "__", "fn", "type", "struct", "mod", "match", "async",
    "dyn", "r#x", "9x", "x-y", "x y", "é", "",
];

/// xorshift64*: small, fast, and the same sequence for the same seed on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // A zero state would stay zero; mix the seed so nearby seeds diverge at once.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn seed() -> u64 {
    match std::env::var("MEZ_SPEC_MUTATION_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .expect("MEZ_SPEC_MUTATION_SEED must be an unsigned integer"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5EED),
    }
}

fn mutation_count() -> usize {
    std::env::var("MEZ_SPEC_MUTATIONS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(DEFAULT_MUTATIONS)
}

/// The real spec files as (display name, text), as `load_dir` names them.
fn real_spec() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    mez_codegen::spec_files(&dir)
        .expect("the spec directory")
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("a spec file");
            (format!("spec/{name}"), text)
        })
        .collect()
}

/// Byte ranges of the "words" of a text: runs of characters that YAML scalars, keys, paths
/// and type names are made of.
fn words(text: &str) -> Vec<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || "_<>$.[]/{}-".contains(c);
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_word(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The byte offsets where lines start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < text.len())
        .collect()
}

/// The line starting at `start`, with its newline.
fn line_at(text: &str, start: usize) -> &str {
    match text[start..].find('\n') {
        Some(end) => &text[start..start + end + 1],
        None => &text[start..],
    }
}

/// One random edit of `text`; returns the new text and a description of the edit.
fn mutate(text: &str, pool: &[String], rng: &mut Rng) -> (String, String) {
    let lines = line_starts(text);
    if lines.is_empty() {
        return (
            format!("x: {}", rng.pick(NASTY)),
            "replace an empty file".into(),
        );
    }
    let replacement = |rng: &mut Rng| -> String {
        if rng.chance(2) {
            rng.pick(NASTY).to_string()
        } else {
            rng.pick(pool).clone()
        }
    };
    let line_no = rng.below(lines.len());
    let start = lines[line_no];
    let line = line_at(text, start);
    let end = start + line.len();
    let spliced = |range: (usize, usize), with: &str| -> String {
        format!("{}{}{}", &text[..range.0], with, &text[range.1..])
    };
    match rng.below(15) {
        12..=14 => {
            // Replace a key (a word followed by ':') or a value (a word after ': ', '- ', '[',
            // '{' or ', '), favouring names a generator turns into identifiers.
            let ws = words(text);
            let keys: Vec<(usize, usize)> = ws
                .iter()
                .copied()
                .filter(|&(a, b)| {
                    let before = &text[..a];
                    text[b..].starts_with(':')
                        || [": ", "- ", "[", "{", ", "]
                            .iter()
                            .any(|p| before.ends_with(p))
                })
                .collect();
            let w = *rng.pick(&keys);
            let with = if rng.chance(2) {
                rng.pick(IDENT_NASTY).to_string()
            } else {
                replacement(rng)
            };
            (
                spliced(w, &with),
                format!(
                    "replace {:?} at byte {} with {with:?}",
                    &text[w.0..w.1],
                    w.0
                ),
            )
        }
        0 => (
            spliced((start, end), ""),
            format!("delete line {}", line_no + 1),
        ),
        1 => (
            spliced((start, start), line),
            format!("duplicate line {}", line_no + 1),
        ),
        2 => {
            // Swap the line with a later one.
            let other_no = line_no + 1 + rng.below(lines.len() - line_no);
            if other_no >= lines.len() {
                return (
                    spliced((start, end), ""),
                    format!("delete line {}", line_no + 1),
                );
            }
            let ostart = lines[other_no];
            let other = line_at(text, ostart);
            let mut out = String::new();
            out.push_str(&text[..start]);
            out.push_str(other.trim_end_matches('\n'));
            out.push('\n');
            out.push_str(&text[end..ostart]);
            out.push_str(line.trim_end_matches('\n'));
            if other.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&text[ostart + other.len()..]);
            (
                out,
                format!("swap lines {} and {}", line_no + 1, other_no + 1),
            )
        }
        3..=6 => {
            // Replace one word of the file with a value from the spec or a nasty one.
            let ws = words(text);
            let w = *rng.pick(&ws);
            let with = replacement(rng);
            (
                spliced(w, &with),
                format!(
                    "replace {:?} at byte {} with {with:?}",
                    &text[w.0..w.1],
                    w.0
                ),
            )
        }
        7 => {
            // Swap two words.
            let ws = words(text);
            let (a, b) = (*rng.pick(&ws), *rng.pick(&ws));
            let (a, b) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            if a.1 > b.0 {
                return (text.to_string(), "no change".into());
            }
            let out = format!(
                "{}{}{}{}{}",
                &text[..a.0],
                &text[b.0..b.1],
                &text[a.1..b.0],
                &text[a.0..a.1],
                &text[b.1..]
            );
            (
                out,
                format!("swap {:?} and {:?}", &text[a.0..a.1], &text[b.0..b.1]),
            )
        }
        8 => {
            // Change the indentation of a line.
            let indent = line.len() - line.trim_start_matches(' ').len();
            let new_indent = match rng.below(3) {
                0 => indent.saturating_sub(2),
                1 => indent + 2,
                _ => indent.saturating_sub(1),
            };
            let with = format!("{}{}", " ".repeat(new_indent), &line[indent..]);
            (
                spliced((start, end), &with),
                format!("indent line {} by {new_indent}", line_no + 1),
            )
        }
        9 => {
            // Insert a new line: a document marker, or a key with a value.
            let with = match rng.below(4) {
                0 => "---\n".to_string(),
                1 => "...\n".to_string(),
                2 => format!("{}\n", rng.pick(NASTY)),
                _ => format!("{}: {}\n", replacement(rng), replacement(rng)),
            };
            (
                spliced((start, start), &with),
                format!("insert {with:?} before line {}", line_no + 1),
            )
        }
        10 => {
            // Insert a nasty value in the middle of a line.
            let at = start
                + line
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(rng.below(line.chars().count().max(1)))
                    .unwrap_or(0);
            let with = rng.pick(NASTY).to_string();
            (
                spliced((at, at), &with),
                format!("insert {with:?} at byte {at}"),
            )
        }
        _ => {
            // Copy a line from elsewhere in the file here, at this line's indentation.
            let from = line_at(text, lines[rng.below(lines.len())]);
            let indent = line.len() - line.trim_start_matches(' ').len();
            let with = format!("{}{}", " ".repeat(indent), from.trim_start_matches(' '));
            let with = if with.ends_with('\n') {
                with
            } else {
                format!("{with}\n")
            };
            (
                spliced((start, start), &with),
                format!("copy {:?} before line {}", from, line_no + 1),
            )
        }
    }
}

/// Whether a diagnostic line reads `spec/FILE:LINE:COL: message` with a real file of the spec,
/// a line inside it (or just past its end) and a column of at least 1.
fn well_placed(line: &str, files: &[(String, String)]) -> bool {
    let Some((file, rest)) = line.split_once(':') else {
        return false;
    };
    let Some((_, text)) = files.iter().find(|(name, _)| *name == file) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(l), Some(c), Some(message)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(l), Ok(c)) = (l.parse::<usize>(), c.parse::<usize>()) else {
        return false;
    };
    let lines = text.split('\n').count();
    l >= 1 && l <= lines + 1 && c >= 1 && message.starts_with(' ') && message.len() > 1
}

/// What one run of the front end (and, on acceptance, the back ends) gave.
enum Outcome {
    Refused,
    Accepted,
}

/// Runs the front end and the back ends on `files`; `Err` says what went wrong.
fn run(files: &[(String, String)]) -> Result<Outcome, String> {
    match mez_codegen::load_texts(files) {
        Err(diags) => {
            let text = diags.to_string();
            if diags.is_empty() {
                return Err("refused with no diagnostic".into());
            }
            for line in text.lines() {
                if !well_placed(line, files) {
                    return Err(format!("a diagnostic without a position: {line:?}"));
                }
            }
            Ok(Outcome::Refused)
        }
        Ok(spec) => {
            let tokens = mez_codegen::rust::surface(&spec);
            if let Err(e) = syn::parse2::<syn::File>(tokens) {
                return Err(format!(
                    "accepted, but the generated Rust does not parse: {e}"
                ));
            }
            let document = mez_codegen::openapi::document(&spec);
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&document) {
                return Err(format!(
                    "accepted, but the OpenAPI document is not JSON: {e}"
                ));
            }
            Ok(Outcome::Accepted)
        }
    }
}

/// Applies mutation `index` of the run with `seed` to the real spec: the files, and what was
/// edited. Each mutation draws from its own generator, so it can be replayed alone.
fn mutated(
    spec: &[(String, String)],
    pool: &[String],
    seed: u64,
    index: usize,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut files = spec.to_vec();
    let mut edits = Vec::new();
    // Usually one edit, sometimes a few in one or several files.
    let n = if rng.chance(4) { 2 + rng.below(3) } else { 1 };
    for _ in 0..n {
        let f = rng.below(files.len());
        let (text, what) = mutate(&files[f].1, pool, &mut rng);
        files[f].1 = text;
        edits.push(format!("{}: {what}", files[f].0));
    }
    (files, edits)
}

/// Runs one mutation; `Some` says what went wrong, else whether it was accepted.
fn try_one(
    spec: &[(String, String)],
    pool: &[String],
    seed: u64,
    index: usize,
) -> Result<bool, String> {
    let (files, edits) = mutated(spec, pool, seed, index);
    let problem = match catch_unwind(AssertUnwindSafe(|| run(&files))) {
        Ok(Ok(Outcome::Accepted)) => return Ok(true),
        Ok(Ok(Outcome::Refused)) => return Ok(false),
        Ok(Err(problem)) => problem,
        Err(panic) => format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        ),
    };
    Err(format!(
        "mutation #{index} ({}): {problem}",
        edits.join("; ")
    ))
}

#[test]
fn mutated_specs_never_panic_and_every_error_has_a_position() {
    let seed = seed();
    let count = mutation_count();
    eprintln!(
        "spec mutations: seed {seed} (replay with MEZ_SPEC_MUTATION_SEED={seed}), {count} mutations"
    );
    let spec = real_spec();
    assert!(
        matches!(run(&spec), Ok(Outcome::Accepted)),
        "the real spec is accepted"
    );
    // Replacement values: every word of the real spec.
    let mut pool: Vec<String> = spec
        .iter()
        .flat_map(|(_, text)| words(text).into_iter().map(|(a, b)| text[a..b].to_string()))
        .collect();
    pool.sort();
    pool.dedup();

    // The mutations are independent, so they run on every core; each worker takes every
    // `workers`-th mutation, and the results do not depend on the number of workers.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let results: Vec<(usize, usize, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (spec, pool) = (&spec, &pool);
                scope.spawn(move || {
                    let (mut accepted, mut refused, mut failures) = (0, 0, Vec::new());
                    for index in (w..count).step_by(workers) {
                        match try_one(spec, pool, seed, index) {
                            Ok(true) => accepted += 1,
                            Ok(false) => refused += 1,
                            Err(failure) => failures.push(failure),
                        }
                    }
                    (accepted, refused, failures)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a mutation worker"))
            .collect()
    });
    let accepted: usize = results.iter().map(|r| r.0).sum();
    let refused: usize = results.iter().map(|r| r.1).sum();
    let failures: Vec<String> = results.into_iter().flat_map(|r| r.2).collect();
    eprintln!(
        "spec mutations: {accepted} accepted, {refused} refused, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "seed {seed} (replay with MEZ_SPEC_MUTATION_SEED={seed}): {} of {count} mutations failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(accepted + refused, count, "every mutation ran");
    assert!(
        accepted > 0 && refused > 0,
        "the mutations both pass and fail the checker (accepted {accepted}, refused {refused})"
    );
}
