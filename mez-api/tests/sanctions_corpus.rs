// SPDX-License-Identifier: BUSL-1.1
//! The labelled matching corpus (`tests/fixtures/sanctions/corpus.csv`): each row is a list
//! entry, a screened name and whether it must hit. The test screens every row against a list
//! holding that entry alone, prints recall and precision at the default threshold (and a
//! sweep around it, which is how the default was chosen), and requires recall >= 0.95 at
//! precision >= 0.95 at the default.

use std::collections::HashMap;
use std::path::PathBuf;

use mez_api::compliance::SanctionsList;
use mez_api::compliance::sanctions::DEFAULT_THRESHOLD;

struct Row {
    line: u64,
    entry: String,
    probe: String,
    should_hit: bool,
}

fn corpus() -> Vec<Row> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/sanctions/corpus.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let line = record.position().unwrap().line();
        let should_hit = match &record[2] {
            "true" => true,
            "false" => false,
            other => panic!("line {line}: should_hit is {other:?}"),
        };
        rows.push(Row {
            line,
            entry: record[0].to_string(),
            probe: record[1].to_string(),
            should_hit,
        });
    }
    rows
}

fn list_of(entry: &str) -> SanctionsList {
    let yaml = format!(
        "entries:\n  - name: {}\n",
        serde_json::to_string(entry).unwrap()
    );
    SanctionsList::parse("corpus", &yaml).unwrap()
}

/// (true positives, false positives, false negatives, true negatives, the misjudged rows).
fn judge(rows: &[Row], lists: &HashMap<String, SanctionsList>, threshold: f64) -> Counts {
    let mut counts = Counts::default();
    for row in rows {
        let list = lists[&row.entry].clone().with_threshold(threshold);
        let hit = list.screen(&row.probe);
        match (row.should_hit, hit.is_some()) {
            (true, true) => counts.tp += 1,
            (false, true) => counts.fp += 1,
            (true, false) => counts.fn_ += 1,
            (false, false) => counts.tn += 1,
        }
        if row.should_hit != hit.is_some() {
            let score = hit.map_or("-".to_string(), |h| h.score.to_string());
            counts.wrong.push(format!(
                "line {}: {:?} vs {:?}: should_hit {}, score {score}",
                row.line, row.entry, row.probe, row.should_hit
            ));
        }
    }
    counts
}

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
    wrong: Vec<String>,
}

impl Counts {
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
}

#[test]
fn the_corpus_is_screened_with_high_recall_and_precision() {
    let rows = corpus();
    assert!(rows.len() >= 200, "the corpus has {} rows", rows.len());
    let positives = rows.iter().filter(|r| r.should_hit).count();
    assert!(positives >= 100 && rows.len() - positives >= 100);
    let lists: HashMap<String, SanctionsList> = rows
        .iter()
        .map(|row| (row.entry.clone(), list_of(&row.entry)))
        .collect();

    for step in 0..=8 {
        let threshold = 0.80 + 0.02 * step as f64;
        let counts = judge(&rows, &lists, threshold);
        println!(
            "threshold {threshold:.2}: recall {:.3} precision {:.3} (tp {} fp {} fn {} tn {})",
            counts.recall(),
            counts.precision(),
            counts.tp,
            counts.fp,
            counts.fn_,
            counts.tn
        );
    }
    let counts = judge(&rows, &lists, DEFAULT_THRESHOLD);
    println!(
        "default threshold {DEFAULT_THRESHOLD}: {} rows, recall {:.3}, precision {:.3}",
        rows.len(),
        counts.recall(),
        counts.precision()
    );
    for wrong in &counts.wrong {
        println!("  misjudged: {wrong}");
    }
    assert!(
        counts.recall() >= 0.95 && counts.precision() >= 0.95,
        "recall {:.3}, precision {:.3}: {:#?}",
        counts.recall(),
        counts.precision(),
        counts.wrong
    );
}

/// The index finds exactly the best match that scoring every spelling finds, on one list
/// holding every entry of the corpus: the blocking loses nothing.
#[test]
fn the_corpus_list_screens_every_probe_to_its_own_entry() {
    let rows = corpus();
    let mut entries: Vec<&str> = rows.iter().map(|r| r.entry.as_str()).collect();
    entries.dedup();
    let yaml: String = std::iter::once("entries:\n".to_string())
        .chain(
            entries
                .iter()
                .map(|e| format!("  - name: {}\n", serde_json::to_string(e).unwrap())),
        )
        .collect();
    let list = SanctionsList::parse("corpus", &yaml).unwrap();
    let mut own = 0;
    for row in rows.iter().filter(|r| r.should_hit) {
        if let Some(hit) = list.screen(&row.probe) {
            assert_eq!(hit.entry, row.entry, "line {}: {:?}", row.line, row.probe);
            own += 1;
        }
    }
    println!("{own} variants hit their own entry on the combined list");
    assert!(own > 0);
}
