// SPDX-License-Identifier: BUSL-1.1
//! The real `mez-api` binary's `keys` command: it opens the database the server would (here
//! `DATABASE_URL`), prints JSON on stdout, and exits non-zero with the usage on a wrong
//! command line. On SQLite and on PostgreSQL.

mod support;

use std::process::{Command, Output};

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_mez-api");

fn keys(database_url: &str, args: &[&str]) -> Output {
    Command::new(BINARY)
        .arg("keys")
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("AUTH_TOKEN")
        .output()
        .expect("run mez-api")
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn create_list_and_revoke(url: &str) {
    let created = json(&keys(
        url,
        &[
            "create",
            "--role",
            "entity_operator",
            "--entity",
            "ent-1",
            "--name",
            "ops",
        ],
    ));
    let id = created["id"].as_str().expect("an id");
    let secret = created["secret"].as_str().expect("a secret");
    assert!(secret.starts_with(&format!("mez_{id}_")), "{created}");
    assert_eq!(created["entity_id"], "ent-1");

    let listed = json(&keys(url, &["list"]));
    let listed = listed.as_array().expect("an array");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert!(listed[0].get("secret").is_none());

    let revoked = json(&keys(url, &["revoke", id]));
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    for bad in [
        &["create", "--role", "entity_operator"][..],
        &["create", "--role", "zone_admin", "--entity", "ent-1"],
        &["revoke"],
        &["revoke", "0123abcd"],
        &["frobnicate"],
    ] {
        let output = keys(url, bad);
        assert!(!output.status.success(), "{bad:?}");
        assert!(output.stdout.is_empty(), "{bad:?}");
        assert!(!output.stderr.is_empty(), "{bad:?}");
    }
}

#[tokio::test]
async fn the_keys_command_on_sqlite() {
    support::on_sqlite(|url| async move { create_list_and_revoke(&url) }).await;
}

#[tokio::test]
async fn the_keys_command_on_postgres() {
    support::on_postgres("keys_cli::the_keys_command", |url| async move {
        create_list_and_revoke(&url)
    })
    .await;
}
