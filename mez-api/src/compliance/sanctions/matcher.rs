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
//! **Index.** Every full token of every spelling is indexed under its skeleton's deletion
//! neighbourhood (as in SymSpell): the skeleton, from 4 letters each skeleton with one letter
//! deleted, and from 6 letters each with two deleted, stored as 64-bit hashes. Two skeletons
//! within the edit budget above always share one of these keys, so a screened name's keys
//! find every word of the list any of its words can pair with; two adjacent words of each
//! spelling are also indexed written as one, and the name's adjacent words are looked up
//! joined. Each occurrence is *strong* when its slot alone weighs enough for the substance
//! rule, *weak* otherwise. Since a word of the name pairs with one slot at most, a spelling
//! reached only at weak slots of one word of the name can never hit: the weak occurrences of
//! the name's commonest word (a shared first name) are not visited at all, only spellings
//! some other word reaches. An upper bound of each candidate's score then skips most of the
//! rest before the pairs are scored. The index finds the same best match as scoring every
//! spelling (two tests check this: on the corpus, and on a generated list with shared first
//! names and every kind of variation).

use std::collections::HashMap;
use std::hash::Hasher;

use rustc_hash::FxHasher;

use super::buckets::Buckets;

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
                && joined_skeleton(a, b).is_some_and(|j| *j == *w.skel)
            {
                found(i, j);
            }
        }
    }
}

/// The best match found: which spelling, and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    pub variant: usize,
    pub score: f32,
}

/// Where a vocabulary word occurs: (spelling, slot), split by whether the slot alone can meet
/// the substance rule of its spelling (*strong*) or not (*weak*).
#[derive(Debug, Clone, Default)]
struct Postings {
    strong: Vec<(u32, u8)>,
    weak: Vec<(u32, u8)>,
}

/// No vocabulary id: an initial, which the index does not hold.
const NO_WORD: u32 = u32::MAX;

/// Every spelling of a list, indexed for screening.
#[derive(Debug, Clone, Default)]
pub struct Index {
    variants: Vec<Variant>,
    /// The vocabulary id of each slot of each spelling ([`NO_WORD`] for an initial).
    slots: Vec<Vec<u32>>,
    /// Skeleton → vocabulary id.
    vocabulary: HashMap<Box<str>, u32>,
    /// Hash of a key of the deletion neighbourhood ([`neighbourhood`]) → vocabulary ids.
    keys: Buckets<u32>,
    /// Vocabulary id → where it occurs.
    postings: Vec<Postings>,
    /// Hash of the skeleton of two adjacent full words of a spelling written as one
    /// (`abdel kader` → `abdelkader`) → (spelling, first slot).
    joined: Buckets<(u32, u8)>,
}

impl Index {
    /// Indexes the spellings; `entry` of each is its entry's index in the list.
    pub fn build(spellings: impl IntoIterator<Item = (usize, String)>) -> Index {
        let mut index = Index::default();
        let mut joined: Vec<(u64, (u32, u8))> = Vec::new();
        for (entry, spelling) in spellings {
            let tokens = prepare(&spelling);
            let weight: f32 = tokens.iter().map(|t| t.weight).sum();
            let at = index.variants.len() as u32;
            let mut slots = Vec::with_capacity(tokens.len());
            for (slot, token) in tokens.iter().enumerate() {
                if token.is_initial() {
                    slots.push(NO_WORD);
                    continue;
                }
                let next = index.vocabulary.len() as u32;
                let id = *index.vocabulary.entry(token.skel.clone()).or_insert(next);
                if id == next {
                    index.postings.push(Postings::default());
                }
                let postings = &mut index.postings[id as usize];
                // The same comparison as the substance rule of `score`.
                if token.weight < SUBSTANCE * weight {
                    postings.weak.push((at, slot as u8));
                } else {
                    postings.strong.push((at, slot as u8));
                }
                slots.push(id);
            }
            for (slot, pair) in tokens.windows(2).enumerate() {
                if let Some(skel) = joined_skeleton(&pair[0], &pair[1]) {
                    joined.push((hash_key(skel.as_bytes()), (at, slot as u8)));
                }
            }
            index.slots.push(slots);
            index.variants.push(Variant {
                entry,
                spelling: spelling.into_boxed_str(),
                tokens,
                weight,
            });
        }
        let vocabulary = &index.vocabulary;
        index.keys = Buckets::build(|add| {
            for (skel, id) in vocabulary {
                neighbourhood(skel, |key| add(key, *id));
            }
        });
        index.joined = Buckets::build(|add| {
            for (hash, at) in &joined {
                add(*hash, *at);
            }
        });
        index
    }

    /// The spellings, in list order.
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// The vocabulary ids within a full token's edit budget of `token`: every word whose
    /// neighbourhood shares a key with the token's (sorted, without repeats).
    fn words_near(&self, token: &Tok) -> Vec<u32> {
        let mut words = Vec::new();
        neighbourhood(&token.skel, |key| self.keys.get(key, |id| words.push(id)));
        words.sort_unstable();
        words.dedup();
        words
    }

    /// The best-scoring spelling at or above `threshold`; ties go to the earlier spelling.
    ///
    /// The candidates are the spellings with a slot some full token of the name can pair with
    /// (found by the deletion neighbourhoods), or a pair of slots one token of the name joins,
    /// or a slot two adjacent tokens of the name join. One word of the name pairs with one
    /// slot at most, so a spelling that only the *commonest* of the name's words reaches, at a
    /// weak slot, can never meet the substance rule: those are not even visited (a name
    /// sharing the first name `Ivan` with 1,700 spellings visits none of them for it).
    pub fn best(&self, probe: &[Tok], threshold: f32) -> Option<Best> {
        let near: Vec<Vec<u32>> = probe
            .iter()
            .map(|t| {
                if t.is_initial() {
                    Vec::new()
                } else {
                    self.words_near(t)
                }
            })
            .collect();
        let weak_count = |words: &[u32]| -> usize {
            words
                .iter()
                .map(|id| self.postings[*id as usize].weak.len())
                .sum()
        };
        let commonest = near
            .iter()
            .enumerate()
            .max_by_key(|(_, words)| weak_count(words))
            .map(|(at, _)| at);
        let mut found: Vec<(u32, u64)> = Vec::new();
        let mut visit = |postings: &[(u32, u8)]| {
            found.extend(postings.iter().map(|(v, slot)| (*v, 1u64 << slot)));
        };
        for (at, words) in near.iter().enumerate() {
            for id in words {
                let postings = &self.postings[*id as usize];
                visit(&postings.strong);
                if Some(at) != commonest {
                    visit(&postings.weak);
                }
            }
        }
        // Two adjacent words of the name written as one in the list.
        for pair in probe.windows(2) {
            let Some(joined) = joined_skeleton(&pair[0], &pair[1]) else {
                continue;
            };
            if let Some(id) = self.vocabulary.get(joined.as_str()) {
                let postings = &self.postings[*id as usize];
                visit(&postings.strong);
                visit(&postings.weak);
            }
        }
        // One word of the name written as two in the list.
        for token in probe.iter().filter(|t| !t.is_initial()) {
            self.joined
                .get(hash_key(token.skel.as_bytes()), |(v, slot)| {
                    found.push((v, 0b11u64 << slot));
                });
        }
        found.sort_unstable_by_key(|(v, _)| *v);
        let commonest_words = commonest.and_then(|at| near.get(at)).map_or(&[][..], |w| w);
        let mut best: Option<Best> = None;
        let mut at = 0;
        while at < found.len() {
            let variant = found[at].0;
            let mut mask = 0u64;
            while at < found.len() && found[at].0 == variant {
                mask |= found[at].1;
                at += 1;
            }
            let spelling = &self.variants[variant as usize];
            // The commonest word's slots count too, now that the spelling is a candidate.
            for (slot, id) in self.slots[variant as usize].iter().enumerate() {
                if *id != NO_WORD && commonest_words.binary_search(id).is_ok() {
                    mask |= 1u64 << slot;
                }
            }
            if !could_reach(probe, spelling, mask, threshold) {
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

/// Whether a spelling can still meet the substance rule and reach `threshold`, given the
/// slots of `mask` (those a full word of the name can pair with): an upper bound of what
/// [`score`] counts, in which every initial of the spelling pairs in full, every other word
/// pairs with an initial of the name where their first letters agree, and the name's own
/// coverage is 1.
fn could_reach(probe: &[Tok], variant: &Variant, mask: u64, threshold: f32) -> bool {
    let (mut reachable, mut covered) = (0.0f32, 0.0f32);
    for (slot, token) in variant.tokens.iter().enumerate() {
        if token.is_initial() {
            covered += token.weight;
        } else if mask & (1u64 << slot) != 0 {
            reachable += token.weight;
        } else if probe
            .iter()
            .any(|p| p.is_initial() && p.text.as_bytes().first() == token.text.as_bytes().first())
        {
            covered += INITIAL_SIM * token.weight;
        }
    }
    let bound = ENTRY_SHARE * (reachable + covered) / variant.weight + (1.0 - ENTRY_SHARE);
    reachable >= SUBSTANCE * variant.weight && bound + 1e-4 >= threshold
}

/// The 64-bit hash the index files a key under.
fn hash_key(key: &[u8]) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(key);
    hasher.write_usize(key.len());
    // A final mix (MurmurHash3's), since the buckets are chosen by the top bits.
    let mut hash = hasher.finish();
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

/// The skeleton of two adjacent full tokens written as one word, as [`split_words`] compares
/// it; `None` when either is an initial.
fn joined_skeleton(a: &Tok, b: &Tok) -> Option<String> {
    if a.is_initial() || b.is_initial() {
        return None;
    }
    Some(normalize::skeleton(&format!("{}{}", a.text, b.text)))
}

/// Calls `key` with the hash of each key of a skeleton's deletion neighbourhood: the
/// skeleton itself; from 4 letters, each skeleton with one letter deleted; from 6 letters,
/// also each with two letters deleted. Two skeletons within the edit budget of
/// [`token_sim`] (optimal string alignment: 1 edit from 4 letters, 2 from 6) share a key,
/// since a substitution, a transposition and an insertion each cost at most one deletion
/// on each side. A key may be reported twice.
fn neighbourhood(skel: &str, mut key: impl FnMut(u64)) {
    let bytes = skel.as_bytes();
    // One contiguous buffer per key: equal keys must hash equal however they were cut.
    let mut buffer: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut hash = |parts: [&[u8]; 3]| {
        buffer.clear();
        for part in parts {
            buffer.extend_from_slice(part);
        }
        hash_key(&buffer)
    };
    key(hash([bytes, &[], &[]]));
    let n = bytes.len();
    if n < 4 {
        return;
    }
    for i in 0..n {
        key(hash([&bytes[..i], &bytes[i + 1..], &[]]));
        if n < 6 {
            continue;
        }
        for j in i + 1..n {
            key(hash([&bytes[..i], &bytes[i + 1..j], &bytes[j + 1..]]));
        }
    }
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
    fn neighbourhoods_share_a_key_within_the_edit_budget() {
        let keys = |skel: &str| {
            let mut keys = Vec::new();
            neighbourhood(skel, |k| keys.push(k));
            keys
        };
        for (a, b) in [
            ("sanctionedov", "sanctionedv"),
            ("sanctionedov", "sanctoinedow"),
            ("sanctionedov", "sactionedovv"),
            ("ivan", "ivna"),
            ("omar", "umar"),
            ("aab", "aab"),
        ] {
            let left = keys(a);
            assert!(keys(b).iter().any(|k| left.contains(k)), "{a} {b}");
        }
    }

    /// A small deterministic generator (xorshift), for the generated list below.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as usize
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.next() % items.len()]
        }
        fn word(&mut self, syllables: usize) -> String {
            const SYLLABLES: &[&str] = &[
                "ka", "ri", "mo", "ta", "sel", "nov", "ber", "dan", "ish", "lo", "vich", "ra",
                "zen", "tor", "mak", "pol", "ush", "gar", "bek", "lin", "sha", "dor",
            ];
            (0..syllables).map(|_| self.pick(SYLLABLES)).collect()
        }
        /// `word` with `edits` random substitutions, deletions, insertions or transpositions.
        fn typo(&mut self, word: &str, edits: usize) -> String {
            let mut bytes = word.as_bytes().to_vec();
            for _ in 0..edits {
                if bytes.len() < 2 {
                    break;
                }
                let at = self.next() % (bytes.len() - 1);
                let letter = b'a' + (self.next() % 26) as u8;
                match self.next() % 4 {
                    0 => bytes[at] = letter,
                    1 => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, letter),
                    _ => bytes.swap(at, at + 1),
                }
            }
            String::from_utf8(bytes).unwrap()
        }
    }

    /// On a generated list shaped like real ones (first names shared by many spellings,
    /// multi-word names, companies), the index finds the very match a full scan finds for
    /// names made from listed ones by every kind of variation the matcher allows, and for
    /// names that are not listed.
    #[test]
    fn the_index_agrees_with_a_full_scan_on_a_generated_list() {
        const FIRST: &[&str] = &[
            "mohammed", "ivan", "ali", "omar", "olga", "wei", "li", "abdel", "maria", "yusuf",
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut spellings = Vec::new();
        for at in 0..1500 {
            let name = match at % 5 {
                0 => format!("{} {}", rng.word(3), rng.word(2)),
                1 => format!("{} {} {}", rng.pick(FIRST), rng.word(1), rng.word(3)),
                2 => format!("{} {}", rng.pick(FIRST), rng.word(2)),
                3 => format!("{}. {}", &rng.pick(FIRST)[..1], rng.word(3)),
                _ => format!("{} {}", rng.pick(FIRST), rng.word(3)),
            };
            spellings.push(name);
        }
        let index = Index::build(spellings.iter().cloned().enumerate());
        let mut probes = Vec::new();
        for _ in 0..360 {
            let listed = spellings[rng.next() % spellings.len()].clone();
            let words: Vec<&str> = listed.split(' ').collect();
            let probe = match rng.next() % 9 {
                0 => listed.clone(),
                1 => words.iter().rev().cloned().collect::<Vec<_>>().join(" "),
                2 | 3 => {
                    let mut typed = Vec::new();
                    for word in &words {
                        let edits = 1 + rng.next() % 2;
                        typed.push(rng.typo(word, edits));
                    }
                    typed.join(" ")
                }
                4 => words.concat(),
                5 => format!("{} {}", words[0], words[1..].concat()),
                6 => format!("{} {listed}", rng.pick(FIRST)),
                7 => format!("{}. {}", &words[0][..1], words[1..].join(" ")),
                _ => {
                    let syllables = 2 + rng.next() % 2;
                    format!("{} {}", rng.pick(FIRST), rng.word(syllables))
                }
            };
            probes.push(probe);
        }
        let mut hits = 0;
        for probe in &probes {
            let tokens = prepare(probe);
            for threshold in [0.5, 0.8, 0.88] {
                let fast = index.best(&tokens, threshold);
                let scan = index.best_by_scan(&tokens, threshold);
                assert_eq!(
                    fast.map(|b| (b.variant, b.score)),
                    scan.map(|b| (b.variant, b.score)),
                    "{probe:?} at {threshold}"
                );
                hits += usize::from(fast.is_some());
            }
        }
        // The probes exercise both answers.
        assert!(hits > 300 && hits < 1000, "{hits}");
    }
}
