// SPDX-License-Identifier: BUSL-1.1
//! The direct Mass surface, generated from spec/ by build.rs.
//!
//! The included file is the same text as the committed golden copy
//! `mez-api/generated/surface.rs` (a test below keeps them equal); read that file to review
//! what the spec generates.

include!(concat!(env!("OUT_DIR"), "/surface.rs"));

/// The OpenAPI 3.1 document of the surfaces, generated from the same spec.
pub const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

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

    /// And so must the committed OpenAPI document.
    #[test]
    fn committed_openapi_document_matches_the_spec() {
        let committed = include_str!("../generated/openapi.json");
        if super::OPENAPI != committed {
            panic!(
                "mez-api/generated/openapi.json is stale; run `cargo run -p mez-codegen -- generate`\n{}",
                mez_codegen::unified_diff(committed, super::OPENAPI, "committed", "generated")
            );
        }
        let document: serde_json::Value =
            serde_json::from_str(super::OPENAPI).expect("the document is JSON");
        assert_eq!(document["openapi"], "3.1.0");
    }
}
