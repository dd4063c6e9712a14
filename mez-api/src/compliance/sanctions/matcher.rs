// SPDX-License-Identifier: BUSL-1.1
//! Fuzzy, order-insensitive matching of a screened name against the list's spellings, and the
//! index that keeps it fast on large lists.
//!
//! **Tokens.** Both sides are normalised into tokens ([`super::normalize::tokens`]); a token
//! of one letter is an *initial*. A token weighs its length in letters (an initial weighs 3, as
//! a short word: a wrong initial must cost a real share of the score).
//!
//! **Token similarity** (0 to 1):
//! - equal tokens: 1; equal skeletons ([`super::normalize::skeleton`]): 0.97;
//! - an initial against a token with that first letter: 0.8 (an initial against an equal
//!   initial: 1);
//! - otherwise the skeletons' edit distance (optimal string alignment) must be within the
//!   budget of the shorter one: 0 edits up to 3 letters (`ali`/`ari`, `wei`/`wen` differ), 1
//!   up to 5, 2 from 6; within it the similarity is the skeletons' Jaro-Winkler similarity;
//!   beyond it, 0.
//!
//! **Name score.** Tokens are paired one to one, greedily by descending similarity, in any
//! order (`Sanctionedov Ivan` pairs with `Ivan Sanctionedov`). With `cov_e` the weighted share
//! of the listed spelling's tokens that found a partner (each counted at its similarity) and
//! `cov_p` the same share of the screened name's, the score is `0.8 cov_e + 0.2 cov_p`: the
//! listed name must be present in full, and words the screened name has on top cost a little
//! (`Ivan Sanctionedov Jr` still hits; a long name that merely contains one listed word does
//! not). Two further rules must hold for a hit, whatever the score:
//! - an *anchor*: at least one pair of full tokens equal, of equal skeletons, or one edit
//!   apart (a name all of whose words are two edits off is a different name);
//! - *substance*: the pairs of full tokens (not initials) cover at least half of the listed
//!   spelling's weight (`Ivan S.` does not hit `Ivan Sanctionedov`, `I. Sanctionedov` does).
//!
//! **Index.** Every full token of every spelling is indexed under its skeleton and, from 4
//! letters, under each skeleton with one letter deleted (a deletion neighbourhood, as in
//! SymSpell): two skeletons one edit apart always share one of these keys. A screened name
//! looks up its tokens' keys, so exactly the spellings that can have an anchor are
//! candidates; a cheap upper bound on each candidate's score and substance then skips most
//! of them before the pairs are scored. The index finds the same best match as scoring every
//! spelling (a test checks this).

use std::collections::HashMap;

use super::normalize;

/// Similarity of an initial and a full token with that first letter.
const INITIAL_SIM: f32 = 0.8;
/// Similarity of two tokens with equal skeletons but different letters.
const SKELETON_SIM: f32 = 0.97;
/// The weight of the listed spelling's coverage in the score (the screened name's is the rest).
const ENTRY_SHARE: f32 = 0.8;
/// The share of the listed spelling's weight full-token pairs must cover.
const SUBSTANCE: f32 = 0.5;
/// The weight of an initial.
const INITIAL_WEIGHT: usize = 3;
/// Spellings keep at most this many tokens (the slot masks are 64 bits).
const MAX_TOKENS: usize = 64;

/// One normalised token.
#[derive(Debug, Clone)]
pub struct Tok {
    text: Box<str>,
    skel: Box<str>,
    weight: f32,
    /// Which letters (a to z, bit 0 to 25) and digits (bit 26) the skeleton has: two
    /// skeletons `d` edits apart differ in at most `2 d` of these bits, a cheap test that
    /// skips most edit-distance computations.
    letters: u32,
}

/// The letter-presence mask of a skeleton (see [`Tok::letters`]).
fn letters(skel: &str) -> u32 {
    skel.bytes().fold(0, |mask, b| {
        mask | if b.is_ascii_lowercase() {
            1 << (b - b'a')
        } else {
            1 << 26
        }
    })
}

/// Whether two tokens may be within `edits` edits, judged by their letter masks.
fn may_be_within(p: &Tok, e: &Tok, edits: u32) -> bool {
    (p.letters ^ e.letters).count_ones() <= 2 * edits
}

impl Tok {
    fn is_initial(&self) -> bool {
        self.text.len() == 1
    }
}

/// The tokens of a name, ready for matching (at most [`MAX_TOKENS`]).
pub fn prepare(name: &str) -> Vec<Tok> {
    normalize::tokens(name)
        .into_iter()
        .take(MAX_TOKENS)
        .map(|text| {
            let skel = normalize::skeleton(&text).into_boxed_str();
            // An initial weighs as a short word, so that a wrong initial costs a real share.
            let weight = text.len().max(INITIAL_WEIGHT) as f32;
            Tok {
                letters: letters(&skel),
                text: text.into_boxed_str(),
                skel,
                weight,
            }
        })
        .collect()
}

/// One spelling of an entry: its primary name or one alias.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Index of the entry in the list.
    pub entry: usize,
    /// The spelling as the list writes it.
    pub spelling: Box<str>,
    tokens: Vec<Tok>,
    weight: f32,
}

/// The similarity of two tokens and whether the pair can anchor a match.
fn token_sim(p: &Tok, e: &Tok) -> (f32, bool) {
    match (p.is_initial(), e.is_initial()) {
        (true, true) => return (if p.text == e.text { 1.0 } else { 0.0 }, false),
        (true, false) | (false, true) => {
            let same = p.text.as_bytes().first() == e.text.as_bytes().first();
            return (if same { INITIAL_SIM } else { 0.0 }, false);
        }
        (false, false) => {}
    }
    if p.text == e.text {
        return (1.0, true);
    }
    if p.skel == e.skel {
        return (SKELETON_SIM, true);
    }
    let (lp, le) = (p.skel.len(), e.skel.len());
    let budget = match lp.min(le) {
        0..=3 => return (0.0, false),
        4..=5 => 1,
        _ => 2,
    };
    if lp.abs_diff(le) > budget || !may_be_within(p, e, budget as u32) {
        return (0.0, false);
    }
    let distance = strsim::osa_distance(&p.skel, &e.skel);
    if distance > budget {
        return (0.0, false);
    }
    (strsim::jaro_winkler(&p.skel, &e.skel) as f32, distance <= 1)
}

/// The score of a screened name against one spelling, or `None` when the anchor or the
/// substance rule fails (see the module documentation).
pub fn score(probe: &[Tok], variant: &Variant) -> Option<f32> {
    let entry = &variant.tokens;
    if probe.is_empty() || entry.is_empty() {
        return None;
    }
    // (similarity, probe tokens, listed tokens, anchor): masks, since a word written as two
    // (`Abdel Kader`, `Red Flag`) pairs two tokens with one.
    let mut pairs: Vec<(f32, u64, u64, bool)> = Vec::new();
    for (i, p) in probe.iter().enumerate() {
        for (j, e) in entry.iter().enumerate() {
            let (sim, anchor) = token_sim(p, e);
            if sim > 0.0 {
                pairs.push((sim, 1 << i, 1 << j, anchor));
            }
        }
    }
    split_words(probe, entry, |i, j| {
        pairs.push((SKELETON_SIM, 0b11 << i, 1 << j, false))
    });
    split_words(entry, probe, |j, i| {
        pairs.push((SKELETON_SIM, 1 << i, 0b11 << j, false))
    });
    // Highest similarity first; ties in token order, so the pairing is deterministic.
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut used_p, mut used_e) = (0u64, 0u64);
    let (mut covered_e, mut covered_p, mut substance) = (0.0f32, 0.0f32, 0.0f32);
    let mut anchored = false;
    let weight_of = |tokens: &[Tok], mask: u64| -> f32 {
        tokens
            .iter()
            .enumerate()
            .filter(|(at, _)| mask & (1 << at) != 0)
            .map(|(_, t)| t.weight)
            .sum()
    };
    let all_full = |tokens: &[Tok], mask: u64| {
        tokens
            .iter()
            .enumerate()
            .all(|(at, t)| mask & (1 << at) == 0 || !t.is_initial())
    };
    for (sim, pm, em, anchor) in pairs {
        if used_p & pm != 0 || used_e & em != 0 {
            continue;
        }
        used_p |= pm;
        used_e |= em;
        let (wp, we) = (weight_of(probe, pm), weight_of(entry, em));
        covered_e += sim * we;
        covered_p += sim * wp;
        if all_full(probe, pm) && all_full(entry, em) {
            substance += we;
        }
        anchored |= anchor;
    }
    let probe_weight: f32 = probe.iter().map(|t| t.weight).sum();
    if !anchored || substance < SUBSTANCE * variant.weight {
        return None;
    }
    Some(ENTRY_SHARE * covered_e / variant.weight + (1.0 - ENTRY_SHARE) * covered_p / probe_weight)
}

/// Calls `found(i, j)` for each pair of adjacent full tokens `i`, `i + 1` of `split` whose
/// skeletons, joined, are the skeleton of token `j` of `whole`.
fn split_words(split: &[Tok], whole: &[Tok], mut found: impl FnMut(usize, usize)) {
    for (i, pair) in split.windows(2).enumerate() {
        let [a, b] = pair else { continue };
        if a.is_initial() || b.is_initial() {
            continue;
        }
        for (j, w) in whole.iter().enumerate() {
            let joined = a.skel.len() + b.skel.len();
            // Joining can make a doubled letter: `al` + `lah` against `alah`.
            if (w.skel.len() == joined || w.skel.len() + 1 == joined)
                && normalize::skeleton(&format!("{}{}", a.text, b.text)) == *w.skel
            {
                found(i, j);
            }
        }
    }
}

/// An upper bound of [`score`] for a candidate, and whether the substance rule can still
/// hold, from which of its slots the index found (`found`: bit `j` for slot `j`).
fn could_reach(probe: &[Tok], variant: &Variant, found: u64, threshold: f32) -> bool {
    let mut substance = 0.0f32;
    let mut covered_e = 0.0f32;
    for (j, e) in variant.tokens.iter().enumerate() {
        let slot_found = found & (1u64 << j) != 0;
        if e.is_initial() {
            if probe
                .iter()
                .any(|p| p.text.as_bytes().first() == e.text.as_bytes().first())
            {
                covered_e += e.weight;
            }
            continue;
        }
        // A full token pairs with a full token: found by the index (one edit or less), or two
        // edits apart, which needs 6 letters and a length within 2.
        // Or a word split in two on one side: lengths that add up (a doubled letter may
        // collapse where the halves join).
        let len = e.text.len();
        let adds_up = |sum: usize| adds_up_to(len, sum);
        let split_in_probe = probe
            .windows(2)
            .any(|w| adds_up(w[0].text.len() + w[1].text.len()));
        let split_in_entry = [j.checked_sub(1), Some(j + 1)]
            .into_iter()
            .flatten()
            .filter_map(|k| variant.tokens.get(k))
            .any(|other| {
                probe
                    .iter()
                    .any(|p| adds_up_to(p.text.len(), len + other.text.len()))
            });
        let full = slot_found
            || split_in_probe
            || split_in_entry
            || (e.skel.len() >= 6
                && probe.iter().any(|p| {
                    p.skel.len() >= 6
                        && p.skel.len().abs_diff(e.skel.len()) <= 2
                        && may_be_within(p, e, 2)
                }));
        if full {
            substance += e.weight;
            covered_e += e.weight;
        } else if probe
            .iter()
            .any(|p| p.is_initial() && p.text.as_bytes().first() == e.text.as_bytes().first())
        {
            covered_e += INITIAL_SIM * e.weight;
        }
    }
    if substance < SUBSTANCE * variant.weight {
        return false;
    }
    // The screened name's coverage is at most 1 (an initial of the list can pair with a
    // long word of the name, so nothing tighter holds in general).
    let bound = ENTRY_SHARE * covered_e / variant.weight + (1.0 - ENTRY_SHARE);
    bound + 1e-4 >= threshold
}

/// Whether a word of `whole` letters can be two words of `sum` letters joined.
fn adds_up_to(whole: usize, sum: usize) -> bool {
    sum == whole || sum == whole + 1
}

/// The best match found: which spelling, and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    pub variant: usize,
    pub score: f32,
}

/// Every spelling of a list, indexed for screening.
#[derive(Debug, Clone, Default)]
pub struct Index {
    variants: Vec<Variant>,
    /// Skeleton, or skeleton with one letter deleted → vocabulary ids.
    keys: HashMap<Box<str>, Vec<u32>>,
    /// Vocabulary id → (spelling, slot) occurrences.
    postings: Vec<Vec<(u32, u8)>>,
}

impl Index {
    /// Indexes the spellings; `entry` of each is its entry's index in the list.
    pub fn build(spellings: impl IntoIterator<Item = (usize, String)>) -> Index {
        let mut vocabulary: HashMap<Box<str>, u32> = HashMap::new();
        let mut index = Index::default();
        for (entry, spelling) in spellings {
            let tokens = prepare(&spelling);
            let weight = tokens.iter().map(|t| t.weight).sum();
            let at = index.variants.len() as u32;
            for (slot, token) in tokens.iter().enumerate() {
                if token.is_initial() {
                    continue;
                }
                let next = vocabulary.len() as u32;
                let id = *vocabulary.entry(token.skel.clone()).or_insert(next);
                if id == next {
                    index.postings.push(Vec::new());
                }
                index.postings[id as usize].push((at, slot as u8));
            }
            index.variants.push(Variant {
                entry,
                spelling: spelling.into_boxed_str(),
                tokens,
                weight,
            });
        }
        for (skel, id) in vocabulary {
            for key in neighbourhood(&skel) {
                let ids = index.keys.entry(key.into_boxed_str()).or_default();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            }
        }
        index
    }

    /// The spellings, in list order.
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// The best-scoring spelling at or above `threshold`; ties go to the earlier spelling.
    pub fn best(&self, probe: &[Tok], threshold: f32) -> Option<Best> {
        let mut vocab: Vec<u32> = Vec::new();
        for token in probe.iter().filter(|t| !t.is_initial()) {
            for key in neighbourhood(&token.skel) {
                if let Some(ids) = self.keys.get(key.as_str()) {
                    vocab.extend_from_slice(ids);
                }
            }
        }
        vocab.sort_unstable();
        vocab.dedup();
        let mut occurrences: Vec<(u32, u8)> = vocab
            .iter()
            .flat_map(|id| self.postings[*id as usize].iter().copied())
            .collect();
        occurrences.sort_unstable();
        let mut best: Option<Best> = None;
        let mut at = 0;
        while at < occurrences.len() {
            let variant = occurrences[at].0;
            let mut found = 0u64;
            while at < occurrences.len() && occurrences[at].0 == variant {
                found |= 1u64 << occurrences[at].1;
                at += 1;
            }
            let spelling = &self.variants[variant as usize];
            if !could_reach(probe, spelling, found, threshold) {
                continue;
            }
            if let Some(score) = score(probe, spelling) {
                if score >= threshold && best.is_none_or(|b| score > b.score) {
                    best = Some(Best {
                        variant: variant as usize,
                        score,
                    });
                }
            }
        }
        best
    }

    /// The same answer as [`Index::best`], by scoring every spelling (for tests).
    #[cfg(test)]
    pub fn best_by_scan(&self, probe: &[Tok], threshold: f32) -> Option<Best> {
        let mut best: Option<Best> = None;
        for (variant, spelling) in self.variants.iter().enumerate() {
            if let Some(score) = score(probe, spelling) {
                if score >= threshold && best.is_none_or(|b| score > b.score) {
                    best = Some(Best { variant, score });
                }
            }
        }
        best
    }
}

/// The index keys of a skeleton: itself and, from 4 letters, each one-letter deletion.
fn neighbourhood(skel: &str) -> Vec<String> {
    let mut keys = vec![skel.to_string()];
    if skel.len() >= 4 {
        for at in 0..skel.len() {
            let mut key = String::with_capacity(skel.len() - 1);
            key.push_str(&skel[..at]);
            key.push_str(&skel[at + 1..]);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(entry: &str, probe: &str) -> Option<f32> {
        let index = Index::build([(0, entry.to_string())]);
        score(&prepare(probe), &index.variants()[0])
    }

    #[test]
    fn reordering_scores_like_the_original() {
        assert_eq!(
            one("Ivan Sanctionedov", "Sanctionedov Ivan"),
            one("Ivan Sanctionedov", "Ivan Sanctionedov")
        );
        assert_eq!(one("Ivan Sanctionedov", "ivan sanctionedov"), Some(1.0));
    }

    #[test]
    fn typos_score_high_and_other_names_low() {
        let typo = one("Ivan Sanctionedov", "Ivan Sanctionedow").unwrap();
        assert!(typo > 0.95, "{typo}");
        assert_eq!(one("Ivan Sanctionedov", "Ivan Petrov"), None);
        let first_name_only = one("Ivan Sanctionedov", "Ivan").unwrap_or(0.0);
        assert!(first_name_only < 0.5, "{first_name_only}");
    }

    #[test]
    fn initials_need_the_full_surname() {
        let initial = one("Ivan Sanctionedov", "I. Sanctionedov").unwrap();
        assert!(initial > 0.9, "{initial}");
        assert_eq!(one("Ivan Sanctionedov", "Ivan S."), None);
        let wrong = one("Ivan Sanctionedov", "A. Sanctionedov").unwrap_or(0.0);
        assert!(wrong < 0.8, "{wrong}");
    }

    #[test]
    fn short_tokens_must_be_equal() {
        let (sim, _) = token_sim(&prepare("ali")[0], &prepare("ari")[0]);
        assert_eq!(sim, 0.0);
        let (sim, anchor) = token_sim(&prepare("khan")[0], &prepare("kahn")[0]);
        assert!(sim > 0.9 && anchor, "{sim}");
    }

    #[test]
    fn neighbourhoods_share_a_key_one_edit_apart() {
        for (a, b) in [
            ("sanctionedov", "sanctionedv"),
            ("ivan", "ivna"),
            ("omar", "umar"),
        ] {
            let left = neighbourhood(a);
            assert!(neighbourhood(b).iter().any(|k| left.contains(k)), "{a} {b}");
        }
    }
}
