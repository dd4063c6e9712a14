// SPDX-License-Identifier: BUSL-1.1
//! What a screening's evidence says about the list(s) it used: where they came from and how
//! many entries they held, so that a relying party can tell a check against the built-in
//! fictional sample from one against a real list.

use serde_json::{Value, json};

use super::sanctions::SanctionsList;

/// The start of the sample list's origin (see `sanctions.rs`).
const SAMPLE_PREFIX: &str = "built-in sample list";

impl SanctionsList {
    /// Whether this is the built-in fictional sample list.
    pub fn is_sample(&self) -> bool {
        self.origin().starts_with(SAMPLE_PREFIX)
    }

    /// A stable id for the loaded list, for evidence entries.
    pub fn evidence_id(&self) -> String {
        let digest =
            crate::canonical::sha256_hex(format!("{}\n{}", self.origin(), self.len()).as_bytes());
        format!("urn:mez:sanctions-list:{digest}")
    }

    /// The lists screened against, as evidence: `[{source, entries}]`.
    pub fn provenance(&self) -> Value {
        json!([{ "source": self.origin(), "entries": self.len() }])
    }
}
