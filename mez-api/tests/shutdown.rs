// SPDX-License-Identifier: BUSL-1.1
//! The real `mez-api` binary under write load, stopped with SIGTERM, then started again.
//!
//! Four clients create organizations as fast as the zone answers, each request with an
//! `x-request-id` of the test's choosing. Once writes are flowing the process gets SIGTERM.
//! Then:
//!
//! - it exits with status 0 (its own drain and flush limits keep that within ten seconds;
//!   the test only guards against a hang);
//! - every line it printed is one JSON object (`MEZ_LOG_FORMAT=json`), and an acknowledged
//!   request's log line names its request id;
//! - started again on the same database and data directory, the zone holds every write it
//!   acknowledged, each write's audit event carries the write's request id, and the audit
//!   chain verifies.
//!
//! On SQLite and on PostgreSQL.
//!
//! And SIGHUP: the binary reloads its sanctions list file, re-screens its organizations and
//! halts one the new list names (on SQLite; the reload itself is tested on both backends in
//! `tests/tests/policies.rs`).

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_mez-api");
const ORG: &str = "/organization-info/api/v1";

/// Writers sending at once, and how many writes each sends at most.
const WRITERS: usize = 4;
const WRITES_EACH: usize = 2_000;
/// Acknowledged writes to wait for before the signal.
const BEFORE_SIGNAL: usize = 40;
/// A guard against a hang, far above the zone's own ten-second budget.
const HANG_GUARD: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_write_load_loses_nothing_sqlite() {
    support::on_sqlite(scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_write_load_loses_nothing_postgres() {
    support::on_postgres("sigterm_under_write_load_loses_nothing_postgres", scenario).await;
}

/// A running zone process and the lines it prints.
struct Zone {
    child: Child,
    base_url: String,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Zone {
    fn start(database_url: &str, data_dir: &Path, token: &str) -> Zone {
        Zone::start_with(database_url, data_dir, token, &[])
    }

    fn start_with(database_url: &str, data_dir: &Path, token: &str, env: &[(&str, &str)]) -> Zone {
        let mut command = Command::new(BINARY);
        for (key, value) in env {
            command.env(key, value);
        }
        for variable in [
            "MASS_ORG_INFO_URL",
            "MASS_TREASURY_INFO_URL",
            "MASS_CONSENT_INFO_URL",
            "MASS_INVESTMENT_INFO_URL",
            "MASS_TEMPLATING_URL",
            "RUST_LOG",
        ] {
            command.env_remove(variable);
        }
        let mut child = command
            .env("DATABASE_URL", database_url)
            .env("MEZ_BIND", "127.0.0.1:0")
            .env("MEZ_DATA_DIR", data_dir)
            .env("AUTH_TOKEN", token)
            .env("SOVEREIGN_MASS", "true")
            .env("MEZ_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the mez-api binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut zone = Zone {
            child,
            base_url: String::new(),
            lines,
            seen: Vec::new(),
        };
        // The zone prints its bound address (port 0 picks a free one) once it listens.
        loop {
            let line = zone
                .lines
                .recv_timeout(HANG_GUARD)
                .expect("the zone printed no listening line");
            zone.seen.push(line.clone());
            let message = json_line(&line)["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Some(rest) = message.split("listening on ").nth(1) {
                let url = rest.split_whitespace().next().unwrap_or_default();
                zone.base_url = url.to_owned();
                break;
            }
        }
        zone
    }

    fn sigterm(&self) {
        self.signal("-TERM");
    }

    fn signal(&self, which: &str) {
        let status = Command::new("kill")
            .arg(which)
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {which} failed");
    }

    /// Waits for the process to exit and returns its status and every line it printed.
    fn wait(mut self) -> (ExitStatus, Vec<String>) {
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the zone") {
                break status;
            }
            if started.elapsed() > HANG_GUARD {
                let _ = self.child.kill();
                panic!("the zone did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at end of file, which the exit brings.
        self.seen.extend(self.lines.iter());
        (status, self.seen)
    }
}

/// A line the zone printed, which must be one JSON object.
fn json_line(line: &str) -> Value {
    match serde_json::from_str::<Value>(line) {
        Ok(value) if value.is_object() => value,
        _ => panic!("a log line that is not a JSON object: {line:?}"),
    }
}

/// Acknowledged writes: organization id -> the request id it was sent with.
type Acked = Arc<Mutex<HashMap<String, String>>>;

async fn writer(client: reqwest::Client, base: String, token: String, n: usize, acked: Acked) {
    for i in 0..WRITES_EACH {
        let request_id = format!("shutdown-{n}-{i}-{}", uuid::Uuid::new_v4().simple());
        let sent = client
            .post(format!("{base}{ORG}/organization/create"))
            .bearer_auth(&token)
            .header("x-request-id", &request_id)
            .json(&json!({"name": format!("Shutdown {n} {i} Ltd"), "jurisdiction": "pk"}))
            .send()
            .await;
        // Refused connections once the zone stops listening: this writer is done.
        let Ok(response) = sent else { return };
        if response.status() != 201 {
            // An answer other than a creation is not an acknowledgement; nor is a body cut off.
            continue;
        }
        let Ok(body) = response.json::<Value>().await else {
            return;
        };
        if let Some(id) = body["id"].as_str() {
            acked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.to_owned(), request_id);
        }
    }
}

fn count(acked: &Acked) -> usize {
    acked.lock().unwrap_or_else(PoisonError::into_inner).len()
}

async fn scenario(database_url: String) {
    let data_dir = TempDir::new();
    let token = format!("shutdown-token-{}", uuid::Uuid::new_v4().simple());
    let zone = Zone::start(&database_url, data_dir.path(), &token);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let acked: Acked = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| {
            tokio::spawn(writer(
                client.clone(),
                zone.base_url.clone(),
                token.clone(),
                n,
                acked.clone(),
            ))
        })
        .collect();
    // Bounded: the writers stop by themselves after WRITES_EACH writes.
    while count(&acked) < BEFORE_SIGNAL && !writers.iter().all(|w| w.is_finished()) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(count(&acked) >= BEFORE_SIGNAL, "the writers stopped early");
    zone.sigterm();
    let (status, lines) = tokio::task::spawn_blocking(move || zone.wait())
        .await
        .expect("wait");
    for writer in writers {
        writer.await.expect("writer");
    }
    assert!(status.success(), "the zone exited with {status}");
    assert_eq!(status.code(), Some(0));

    // Logs: every line a JSON object, and the acknowledged requests' lines name their ids.
    let logged: Vec<Value> = lines.iter().map(|line| json_line(line)).collect();
    let acked = acked.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let logged_ids: std::collections::HashSet<&str> = logged
        .iter()
        .filter_map(|line| line["span"]["request_id"].as_str())
        .collect();
    for request_id in acked.values() {
        assert!(
            logged_ids.contains(request_id.as_str()),
            "no log line names {request_id}"
        );
    }

    // Restarted: every acknowledged write is there, with its request id in its audit event,
    // and the chain verifies.
    let zone = Zone::start(&database_url, data_dir.path(), &token);
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
        let url = format!("{}{path}", zone.base_url);
        async move {
            let response = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for id in acked.keys() {
        let (status, body) = get(format!("{ORG}/organization/{id}")).await;
        assert_eq!(
            status, 200,
            "acknowledged organization {id} is missing: {body}"
        );
    }
    let mut events = Vec::new();
    loop {
        let (status, page) = get(format!(
            "/v1/audit/events?resource_type=organization&offset={}&limit=1000",
            events.len()
        ))
        .await;
        assert_eq!(status, 200, "{page}");
        let page = page.as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    let audited: HashMap<&str, &str> = events
        .iter()
        .filter_map(|e| {
            Some((
                e["resource_id"].as_str()?,
                e["metadata"]["request_id"].as_str()?,
            ))
        })
        .collect();
    for (id, request_id) in &acked {
        assert_eq!(audited.get(id.as_str()), Some(&request_id.as_str()), "{id}");
    }
    let (status, report) = get("/v1/audit/verify".into()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["valid"], true, "{report}");
    assert!(
        report["events"].as_u64().unwrap_or_default() >= acked.len() as u64,
        "{report}"
    );
    zone.sigterm();
    let (status, _) = tokio::task::spawn_blocking(move || zone.wait())
        .await
        .expect("wait");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_sanctions_list_and_halts_a_new_hit() {
    support::on_sqlite(|database_url: String| async move {
        let data_dir = TempDir::new();
        let list = data_dir.path().join("sanctions.yaml");
        std::fs::write(&list, "entries:\n  - name: Ivan Sanctionedov\n").expect("write the list");
        let token = format!("sighup-token-{}", uuid::Uuid::new_v4().simple());
        let list_text = list.to_string_lossy().into_owned();
        let zone = Zone::start_with(
            &database_url,
            data_dir.path(),
            &token,
            &[("MEZ_SANCTIONS_FILE", list_text.as_str())],
        );
        let client = reqwest::Client::new();
        let created: Value = client
            .post(format!("{}/v1/entities", zone.base_url))
            .bearer_auth(&token)
            .json(&json!({"entity_type": "llc", "legal_name": "Quetta Copper Works Ltd", "jurisdiction_id": "pk"}))
            .send()
            .await
            .expect("POST")
            .json()
            .await
            .expect("JSON");
        let entity = created["mass_response"]["id"].as_str().expect("an id").to_owned();
        std::fs::write(&list, "entries:\n  - name: Ivan Sanctionedov\n  - name: Quetta Copper Works\n")
            .expect("rewrite the list");
        zone.signal("-HUP");
        let deadline = std::time::Instant::now() + HANG_GUARD;
        loop {
            let org: Value = client
                .get(format!("{}{ORG}/organization/{entity}", zone.base_url))
                .bearer_auth(&token)
                .send()
                .await
                .expect("GET")
                .json()
                .await
                .expect("JSON");
            if org["status"] == "SUSPENDED" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not halted after SIGHUP: {org}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        zone.sigterm();
        let (status, lines) = tokio::task::spawn_blocking(move || zone.wait())
            .await
            .expect("wait");
        assert_eq!(status.code(), Some(0), "the zone exited with {status}");
        assert!(
            lines.iter().any(|l| l.contains("sanctions list reloaded")),
            "no reload line in {lines:?}"
        );
    })
    .await;
}

/// A directory of the test's own, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "mez-shutdown-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&path).expect("create the data directory");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
