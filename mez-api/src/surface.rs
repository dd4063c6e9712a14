// SPDX-License-Identifier: BUSL-1.1
//! The direct Mass surface, generated from spec/ by build.rs.
//!
//! The included file is the same text as the committed golden copy
//! `mez-api/generated/surface.rs` (a test below keeps them equal); read that file to review
//! what the spec generates.

include!(concat!(env!("OUT_DIR"), "/surface.rs"));

#[cfg(test)]
mod golden {
    /// The committed golden copy must be exactly what build.rs generated from the spec.
    #[test]
    fn committed_golden_copy_matches_the_spec() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/surface.rs"));
        let committed = include_str!("../generated/surface.rs");
        if generated != committed {
            panic!(
                "mez-api/generated/surface.rs is stale; run `cargo run -p mez-codegen -- generate`\n{}",
                mez_codegen::unified_diff(committed, generated, "committed", "generated")
            );
        }
    }
}
