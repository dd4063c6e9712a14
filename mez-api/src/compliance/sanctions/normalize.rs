// SPDX-License-Identifier: BUSL-1.1
//! Name normalisation for screening: one function turns a name, as a request or a list
//! spells it, into the tokens the matcher compares.
//!
//! The steps, in order:
//! 1. Unicode NFKD, then every combining mark dropped (`Ívan Sanctiónedov` is `Ivan
//!    Sanctionedov`; compatibility forms such as `ﬁ` or full-width letters become plain ones);
//! 2. what is still not ASCII is transliterated (`deunicode`: `ß` → `ss`, `ø` → `o`, `Иван` →
//!    `Ivan`); characters it cannot transliterate are dropped;
//! 3. ASCII lower case;
//! 4. tokens are the runs of letters and digits. Apostrophes join (`O'Brien` is `obrien`);
//!    periods separate, except that a run of single letters each followed by a period joins
//!    when it spells a legal form (`L.L.C.` is `llc`, `S.A.` is `sa`, while `I.V. Petrov` keeps
//!    the initials `i`, `v`); every other character separates (`Al-Rashid` is `al rashid`);
//! 5. legal forms are unified to one canonical token each (`Limited` → `ltd`, `L.L.C.` and
//!    `Limited Liability Company` → `llc`, `Company` → `co`, `Private` → `pvt`, ...), and then
//!    **dropped** from the tokens matched, unless nothing else is left: screening a company
//!    is about its distinctive name, and a listed `Blocked Trading Co LLC` trading as
//!    `Blocked Trading Ltd` is the same party;
//! 6. honorifics before the name are dropped (`Mr`, `Mrs`, `Dr`, `Sheikh`, `Haji`, ...), as are
//!    the connectives `and`, `the` and `of` anywhere, again unless nothing else is left.
//!
//! The matcher compares the tokens themselves and a *skeleton* of each ([`skeleton`]), which
//! absorbs the spelling differences transliterations make (doubled letters, `y`/`i`, `w`/`v`,
//! `ph`/`f`, `ou`/`u`, `q`/`k`, ...).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Canonical legal-form tokens: a token (after the phrase rules) in this set is a legal form.
const LEGAL_FORMS: &[&str] = &[
    "ab", "ag", "as", "bhd", "bsc", "bv", "cjsc", "co", "corp", "cv", "fzc", "fzco", "fze", "gmbh",
    "inc", "jsc", "kft", "kg", "kk", "llc", "llp", "lp", "ltd", "nv", "oao", "ojsc", "ooo", "oy",
    "pjsc", "plc", "pte", "pty", "pvt", "sa", "sae", "sal", "sarl", "sas", "sdn", "spa", "srl",
    "sro", "tbk", "wll", "zao",
];

/// Words spelling a legal form, and the canonical token each becomes.
const LEGAL_WORDS: &[(&str, &str)] = &[
    ("limited", "ltd"),
    ("company", "co"),
    ("corporation", "corp"),
    ("incorporated", "inc"),
    ("private", "pvt"),
    ("pvte", "pvt"),
    ("proprietary", "pty"),
    ("aktiengesellschaft", "ag"),
    ("gesmbh", "gmbh"),
    ("compagnie", "co"),
    ("compania", "co"),
    ("cie", "co"),
    ("cia", "co"),
];

/// Phrases spelling one legal form; matched on whole tokens, longest first.
const LEGAL_PHRASES: &[(&[&str], &str)] = &[
    (&["gesellschaft", "mit", "beschrankter", "haftung"], "gmbh"),
    (&["limited", "liability", "company"], "llc"),
    (&["limited", "liability", "partnership"], "llp"),
    (&["public", "limited", "company"], "plc"),
    (&["public", "joint", "stock", "company"], "pjsc"),
    (&["closed", "joint", "stock", "company"], "cjsc"),
    (&["open", "joint", "stock", "company"], "ojsc"),
    (&["joint", "stock", "company"], "jsc"),
    (&["societe", "anonyme"], "sa"),
    (&["sociedad", "anonima"], "sa"),
    (&["societa", "per", "azioni"], "spa"),
    (&["sendirian", "berhad"], "sdn"),
    (&["l", "l", "c"], "llc"),
    (&["l", "l", "p"], "llp"),
    (&["s", "a"], "sa"),
    (&["p", "l", "c"], "plc"),
];

/// Honorifics and titles dropped before a name.
const HONORIFICS: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "mister",
    "madam",
    "madame",
    "mme",
    "mlle",
    "dr",
    "doctor",
    "prof",
    "professor",
    "sir",
    "dame",
    "lord",
    "lady",
    "sheikh",
    "shaikh",
    "shaykh",
    "sheik",
    "haji",
    "hajji",
    "hadji",
    "alhaji",
    "mullah",
    "mulla",
    "maulana",
    "imam",
    "ayatollah",
    "herr",
    "frau",
    "sr",
    "sra",
    "srta",
    "hon",
    "rev",
    "gen",
    "col",
    "maj",
    "capt",
    "eng",
];

/// Connectives dropped anywhere (`&` is already a separator, so `A & B` and `A and B` agree).
const CONNECTIVES: &[&str] = &["and", "the", "of"];

/// The tokens of `name` that screening compares, after every normalisation step of the
/// module documentation. A name with no letters or digits has none.
pub fn tokens(name: &str) -> Vec<String> {
    let ascii = to_ascii_lower(name);
    let raw = split(&ascii);
    let unified = unify_legal_forms(raw);
    drop_noise(unified)
}

/// NFKD, combining marks dropped, the rest transliterated to ASCII, lower case.
fn to_ascii_lower(name: &str) -> String {
    let stripped: String = name.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    let mut ascii = if stripped.is_ascii() {
        stripped
    } else {
        deunicode::deunicode_with_tofu(&stripped, " ")
    };
    ascii.make_ascii_lowercase();
    ascii
}

/// Splits ASCII text into tokens (step 4 of the module documentation).
fn split(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // A run of single letters each followed by a period ("l.l.c."), held until its end.
    let mut dotted: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush_dotted = |dotted: &mut Vec<String>, out: &mut Vec<String>| {
        if dotted.len() >= 2 {
            let joined: String = dotted.concat();
            if LEGAL_FORMS.contains(&joined.as_str()) {
                out.push(joined);
                dotted.clear();
                return;
            }
        }
        out.append(dotted);
    };
    let chars: Vec<char> = text.chars().collect();
    for (at, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            current.push(c);
        } else if c == '\'' || c == '`' {
            // An apostrophe joins the letters around it.
        } else if c == '.' && current.len() == 1 {
            // "l." of "l.l.c.": part of a dotted run.
            dotted.push(std::mem::take(&mut current));
            // A run only continues straight after the period.
            let next = chars.get(at + 1).copied();
            if !next.is_some_and(|n| n.is_ascii_alphanumeric()) {
                flush_dotted(&mut dotted, &mut out);
            }
        } else {
            if !current.is_empty() {
                flush_dotted(&mut dotted, &mut out);
                out.push(std::mem::take(&mut current));
            }
            flush_dotted(&mut dotted, &mut out);
        }
    }
    flush_dotted(&mut dotted, &mut out);
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Replaces legal-form phrases and words by their canonical token.
fn unify_legal_forms(tokens: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut at = 0;
    'outer: while at < tokens.len() {
        for (phrase, canonical) in LEGAL_PHRASES {
            let end = at + phrase.len();
            if end <= tokens.len()
                && tokens[at..end]
                    .iter()
                    .zip(phrase.iter())
                    .all(|(t, p)| t == p)
            {
                out.push((*canonical).to_string());
                at = end;
                continue 'outer;
            }
        }
        let token = &tokens[at];
        match LEGAL_WORDS.iter().find(|(word, _)| word == token) {
            Some((_, canonical)) => out.push((*canonical).to_string()),
            None => out.push(token.clone()),
        }
        at += 1;
    }
    out
}

/// Drops legal forms, leading honorifics and connectives, unless nothing would be left.
fn drop_noise(tokens: Vec<String>) -> Vec<String> {
    let leading_titles = tokens
        .iter()
        .take_while(|t| HONORIFICS.contains(&t.as_str()))
        .count();
    let kept: Vec<String> = tokens
        .iter()
        .enumerate()
        .filter(|(at, t)| {
            *at >= leading_titles
                && !LEGAL_FORMS.contains(&t.as_str())
                && !CONNECTIVES.contains(&t.as_str())
        })
        .map(|(_, t)| t.clone())
        .collect();
    if kept.is_empty() { tokens } else { kept }
}

/// Whether a canonical token is a legal form (for the documentation's claims and tests).
pub fn is_legal_form(token: &str) -> bool {
    LEGAL_FORMS.contains(&token)
}

/// The skeleton of a normalised token: spellings that transliterations of one name differ
/// by are folded (`ph` → `f`, `ck` → `k`, `q` → `k`, `w` → `v`, `y` → `i`, `ou` and `oo` →
/// `u`, `ee` → `i`, `x` → `ks`, `dh` → `d`), then doubled letters collapsed.
/// `mohammed` and `mohamed` share `mohamed`; `yusuf` and `youssef` become `iusuf` and
/// `iusef`.
pub fn skeleton(token: &str) -> String {
    let bytes = token.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + 1);
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at];
        let next = bytes.get(at + 1).copied();
        let (emit, skip): (&[u8], usize) = match (c, next) {
            (b'p', Some(b'h')) => (b"f", 2),
            (b'c', Some(b'k')) => (b"k", 2),
            (b'o', Some(b'u')) | (b'o', Some(b'o')) => (b"u", 2),
            (b'e', Some(b'e')) => (b"i", 2),
            (b'd', Some(b'h')) => (b"d", 2),
            (b'q', _) => (b"k", 1),
            (b'w', _) => (b"v", 1),
            (b'y', _) => (b"i", 1),
            (b'x', _) => (b"ks", 1),
            _ => (std::slice::from_ref(&bytes[at]), 1),
        };
        for &e in emit {
            if out.last() != Some(&e) {
                out.push(e);
            }
        }
        at += skip;
    }
    // Only ASCII bytes were pushed.
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Vec<String> {
        tokens(name)
    }

    #[test]
    fn diacritics_and_case_are_dropped() {
        assert_eq!(t("Ívan Sanctiónedov"), ["ivan", "sanctionedov"]);
        // Combining accent and precomposed letter agree.
        assert_eq!(t("Jose\u{301}"), t("Jos\u{e9}"));
        assert_eq!(t("  IVAN\t\n  sanctionedov "), ["ivan", "sanctionedov"]);
        assert_eq!(t("Straße Øresund"), ["strasse", "oresund"]);
        assert_eq!(t("Иван Петров"), ["ivan", "petrov"]);
        assert_eq!(t("ＡＢＣ Ｔｒａｄｉｎｇ"), ["abc", "trading"]);
    }

    #[test]
    fn punctuation_separates_or_joins() {
        assert_eq!(t("O'Brien"), ["obrien"]);
        assert_eq!(t("Al-Rashid, Omar"), ["al", "rashid", "omar"]);
        assert_eq!(t("I. Sanctionedov"), ["i", "sanctionedov"]);
        assert_eq!(t("I.V. Petrov"), ["i", "v", "petrov"]);
        assert_eq!(t("J.Smith"), ["j", "smith"]);
        assert_eq!(t("...  ---"), Vec::<String>::new());
    }

    #[test]
    fn legal_forms_are_unified_and_dropped() {
        let plain = t("Blocked Trading");
        for variant in [
            "Blocked Trading Co LLC",
            "Blocked Trading Co. L.L.C.",
            "BLOCKED TRADING COMPANY LIMITED LIABILITY COMPANY",
            "Blocked Trading Ltd",
            "Blocked Trading Limited",
            "Blocked Trading (Pvt.) Ltd.",
            "Blocked Trading Private Limited",
            "Blocked Trading S.A.",
            "Blocked Trading GmbH",
            "Blocked Trading Inc.",
            "Blocked Trading Corp",
            "Blocked Trading PLC",
            "Blocked & Trading",
        ] {
            assert_eq!(t(variant), plain, "{variant}");
        }
        // A name that is nothing but a legal form keeps it.
        assert_eq!(t("Company Limited"), ["co", "ltd"]);
        assert!(is_legal_form("llc"));
    }

    #[test]
    fn leading_honorifics_are_dropped() {
        assert_eq!(t("Mr. Ivan Sanctionedov"), ["ivan", "sanctionedov"]);
        assert_eq!(t("Dr Sheikh Omar Designatedi"), ["omar", "designatedi"]);
        // Only before the name: a surname Sheikh stays.
        assert_eq!(t("Omar Sheikh"), ["omar", "sheikh"]);
        assert_eq!(t("Dr"), ["dr"]);
    }

    #[test]
    fn skeletons_fold_transliteration_spellings() {
        assert_eq!(skeleton("mohammed"), skeleton("mohamed"));
        assert_eq!(skeleton("sanctionedow"), skeleton("sanctionedov"));
        assert_eq!(skeleton("philip"), skeleton("filip"));
        assert_eq!(skeleton("yusuf"), skeleton("iusuf"));
        assert_eq!(skeleton("qaddafi"), skeleton("kadafi"));
        assert_ne!(skeleton("ivan"), skeleton("ivana"));
    }
}
