// SPDX-License-Identifier: BUSL-1.1
//! `GET /docs` in a real browser: headless Chromium loads the page from a running zone, Redoc
//! (embedded in the binary) renders the zone's own `/openapi.json`, and the rendered DOM lists
//! `/v1/entities` and the fields of its request.
//!
//! Needs Debian's `chromium` at `/usr/bin/chromium` (or `MEZ_CHROMIUM`). Without it the test
//! prints `SKIPPED ...` and passes, unless `MEZ_REQUIRE_CHROMIUM=1`, which CI sets after
//! installing it.

use std::path::PathBuf;

use mez_tests::{TestDb, TestZone};

fn chromium() -> Option<PathBuf> {
    let path =
        PathBuf::from(std::env::var("MEZ_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("MEZ_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "MEZ_REQUIRE_CHROMIUM=1 but {} does not exist",
        path.display()
    );
    None
}

#[tokio::test]
async fn the_docs_page_renders_the_zones_own_document_in_chromium() {
    let Some(chromium) = chromium() else {
        println!("SKIPPED the_docs_page_renders_the_zones_own_document_in_chromium: no chromium");
        return;
    };
    let db = TestDb::sqlite();
    let zone = TestZone::start(&db, true).await;
    let profile = std::env::temp_dir().join(format!("mez-chromium-{}", uuid::Uuid::new_v4()));
    let url = format!("{}/docs", zone.base_url);
    // Virtual time lets the page's scripts run to completion before the DOM is dumped,
    // without a wall-clock wait.
    let mut command = std::process::Command::new(&chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=30000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Redoc replaced the empty container with the reference: the operation's path and the
    // request fields of CreateEntityRequest are in the rendered page.
    assert!(
        dom.contains("/v1/entities"),
        "the page does not list /v1/entities"
    );
    for field in [
        "legal_name",
        "entity_type",
        "jurisdiction_id",
        "beneficial_owners",
    ] {
        assert!(
            dom.contains(field),
            "the page does not show the request field {field}"
        );
    }
    assert!(
        !dom.contains("Something went wrong"),
        "Redoc failed to render"
    );
    zone.stop().await;
    db.cleanup().await;
}
