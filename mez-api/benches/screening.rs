// SPDX-License-Identifier: BUSL-1.1
//! Screening one name against a generated 50,000-entry list (criterion).
//!
//! The list is made here, deterministically: people (a first name from a short list of
//! common ones, so that first names are shared by hundreds of entries as in real lists, and
//! a surname made of syllables) and companies (two made-up words, a common business word and
//! a legal form), each with one alias. Measured: a listed name with a typo and reordered (a
//! hit), a clean name sharing a common first name (a miss that must still look at hundreds
//! of candidates), and a company name. Run with
//! `cargo bench -p mez-api --bench screening`; figures in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mez_api::compliance::SanctionsList;

const ENTRIES: usize = 50_000;

const FIRST: &[&str] = &[
    "Mohammed", "Ahmed", "Ali", "Omar", "Ivan", "Sergei", "Dmitri", "Natalia", "Olga", "Fatima",
    "Aisha", "Hassan", "Hussein", "Yusuf", "Ibrahim", "Abdullah", "Mustafa", "Khalid", "Elena",
    "Maria", "Anna", "Wei", "Li", "Jun", "Kim", "Jose", "Juan", "Carlos", "Pedro", "Luis",
    "Andrei", "Mikhail", "Alexei", "Viktor", "Yuri", "Oleg", "Tariq", "Bilal", "Imran", "Zainab",
];
const SYLLABLES: &[&str] = &[
    "ka", "ri", "mo", "ta", "sel", "nov", "ber", "dan", "ish", "lo", "vich", "ra", "zen", "tor",
    "mak", "pol", "ush", "gar", "bek", "lin", "sha", "dor", "vi", "qa", "hel", "mun", "ost", "ul",
];
const BUSINESS: &[&str] = &[
    "Trading",
    "Holdings",
    "Shipping",
    "Industries",
    "Capital",
    "Exchange",
    "Logistics",
    "Group",
];
const LEGAL: &[&str] = &[
    "LLC", "Ltd", "SA", "GmbH", "Co", "Inc", "Corp", "PLC", "Pvt Ltd",
];

/// A small deterministic generator (xorshift), so every run screens the same list.
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
        let mut word: String = (0..syllables).map(|_| self.pick(SYLLABLES)).collect();
        if let Some(first) = word.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        word
    }
}

fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

fn list() -> SanctionsList {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut yaml = String::from("entries:\n");
    for at in 0..ENTRIES {
        let (name, alias) = if at % 3 == 2 {
            let core = format!("{} {}", rng.word(3), rng.word(2));
            let name = format!("{core} {} {}", rng.pick(BUSINESS), rng.pick(LEGAL));
            (name, format!("{core} {}", rng.pick(LEGAL)))
        } else {
            let surname = rng.word(3);
            let first = rng.pick(FIRST);
            (
                format!("{first} {surname}"),
                format!("{} {surname}", rng.pick(FIRST)),
            )
        };
        yaml.push_str(&format!(
            "  - name: {}\n    aliases: [{}]\n",
            quoted(&name),
            quoted(&alias)
        ));
    }
    yaml.push_str("  - name: \"Ivan Sanctionedov\"\n  - name: \"Blocked Trading Co LLC\"\n");
    match SanctionsList::parse("generated", &yaml) {
        Ok(list) => list,
        Err(err) => panic!("the generated list does not load: {err}"),
    }
}

/// The process's resident set size in KiB (Linux), to show what the index holds.
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn screening(c: &mut Criterion) {
    let before = resident_kib();
    let started = std::time::Instant::now();
    let list = list();
    let took = started.elapsed();
    if let (Some(before), Some(after)) = (before, resident_kib()) {
        println!(
            "loading and indexing the list: {took:.2?}, resident memory {} MiB more",
            after.saturating_sub(before) / 1024
        );
    }
    assert!(list.screen("Sanctionedow Ivan").is_some());
    assert!(list.screen("Mohammed Zzyzxquorp").is_none());
    let mut group = c.benchmark_group("screen one name, 50,000 entries");
    group.bench_function("hit: reordered with a typo", |b| {
        b.iter(|| list.screen(black_box("Sanctionedow Ivan")))
    });
    group.bench_function("miss: common first name", |b| {
        b.iter(|| list.screen(black_box("Mohammed Zzyzxquorp")))
    });
    group.bench_function("company with legal form", |b| {
        b.iter(|| list.screen(black_box("Blocked Trading Co. L.L.C.")))
    });
    group.finish();
}

criterion_group!(benches, screening);
criterion_main!(benches);
