// SPDX-License-Identifier: BUSL-1.1
//! The real zone server on a loopback port, and an HTTP client pointed at it.
//!
//! Tests go through exactly what a deployment runs: `Config` → `build_state` → `serve` on a
//! TCP listener, reached with reqwest. Nothing is re-implemented here, so a passing test says
//! something about the product rather than about a copy of it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mez_api::config::Config;
use mez_api::state::AppState;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::db::TestDb;

/// How long one HTTP exchange may take before the test fails instead of hanging.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful shutdown may take.
const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// A running zone server.
pub struct TestZone {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    /// The bearer token the zone was configured with.
    pub token: String,
    /// The zone's state, so a test can read the store directly through `state.db`.
    pub state: AppState,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// The data directory [`TestZone::start`] made for this zone alone (it holds the zone's
    /// private key), removed with the zone.
    own_data_dir: Option<DataDir>,
}

impl TestZone {
    /// Starts a sovereign zone (it holds the data and serves the direct Mass surface).
    pub async fn sovereign(db: &TestDb) -> TestZone {
        TestZone::start(db, true).await
    }

    /// Starts a zone on `db` in the given mode, with a fresh random token and a data
    /// directory of its own that is removed with it.
    pub async fn start(db: &TestDb, sovereign: bool) -> TestZone {
        let data_dir = DataDir::new();
        let mut zone = TestZone::start_in(db, sovereign, &data_dir).await;
        zone.own_data_dir = Some(data_dir);
        zone
    }

    /// Starts a zone on `db` whose own files (the zone key above all) live in `data_dir`, so
    /// that a zone started later in the same directory is the same zone, with the same DID.
    pub async fn start_in(db: &TestDb, sovereign: bool, data_dir: &DataDir) -> TestZone {
        let token = format!("test-token-{}", uuid::Uuid::new_v4().simple());
        let mut config = Config::for_tests(db.url(), sovereign, &token);
        config.data_dir = data_dir.path().to_path_buf();
        TestZone::start_with_config(config).await
    }

    /// Starts a zone from a config the test has adjusted (a smaller body limit, say). Set
    /// `auth_token`: without one the zone makes up a token this harness cannot know.
    /// Unless the config names a public URL, the zone's is its loopback address, so that the
    /// status list URLs its credentials carry can be fetched.
    pub async fn start_with_config(mut config: Config) -> TestZone {
        let token = config.auth_token.clone().unwrap_or_default();
        // Binding before spawning means the port accepts connections as soon as this returns:
        // early requests queue in the backlog, so no test has to wait for readiness.
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(err) => panic!("cannot bind a loopback port: {err}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(err) => panic!("cannot read the bound address: {err}"),
        };
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{addr}"));
        }
        let state = match mez_api::build_state(config).await {
            Ok(state) => state,
            Err(err) => panic!("the zone failed to start: {err}"),
        };
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(mez_api::serve(listener, state.clone(), async move {
            // Either an explicit stop or the TestZone being dropped (sender gone) ends it.
            let _ = stopped.await;
        }));
        let client = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
            Ok(client) => client,
            Err(err) => panic!("cannot build the HTTP client: {err}"),
        };
        TestZone {
            base_url: format!("http://{addr}"),
            token,
            state,
            client,
            shutdown: Some(shutdown),
            task: Some(task),
            own_data_dir: None,
        }
    }

    /// The full URL of `path` (which starts with `/` and may carry a query string).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Sends `body` (as `application/json`, when given) with the zone's bearer token and
    /// returns the status and the parsed JSON body; an empty body becomes `Value::Null`.
    /// Panics on a body that is not JSON: every answer of the zone is meant to be JSON.
    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut raw = self.raw(method.clone(), path);
        if let Some(body) = body {
            raw = raw.json(&body);
        }
        let response = raw.send().await;
        let json = response.json_or_null();
        match json {
            Ok(value) => (response.status, value),
            Err(err) => panic!(
                "{method} {path} answered {} with a body that is not JSON ({err}); content-type \
                 {:?}, body {:?}",
                response.status,
                response.content_type,
                response.text()
            ),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(Method::POST, path, Some(body)).await
    }

    /// A POST without a body (query-string creates, consent votes).
    pub async fn post_empty(&self, path: &str) -> (u16, Value) {
        self.request(Method::POST, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.request(Method::DELETE, path, None).await
    }

    /// A request the test shapes byte by byte: any body, any content type, any token or none.
    /// It carries the zone's token unless told otherwise.
    pub fn raw(&self, method: Method, path: &str) -> RawRequest<'_> {
        RawRequest {
            zone: self,
            method,
            path: path.to_owned(),
            auth: Auth::Zone,
            content_type: None,
            body: None,
            headers: Vec::new(),
        }
    }

    /// The records of `collection` as the store holds them, in insertion order.
    pub async fn stored(&self, collection: &str) -> Vec<Value> {
        match self
            .state
            .db
            .list(collection, &mez_api::db::Query::all())
            .await
        {
            Ok(page) => page.items.into_iter().map(Value::Object).collect(),
            Err(err) => panic!("reading {collection} from the store failed: {err}"),
        }
    }

    /// Stops the server gracefully, waits for it, and closes the store, so that a new zone can
    /// open the same database (SQLite allows one writer; PostgreSQL connections are released).
    pub async fn stop(mut self) {
        self.stop_in_place().await;
    }

    async fn stop_in_place(&mut self) {
        // Pooled keep-alive connections would hold the graceful shutdown open; drop them first.
        self.client = reqwest::Client::new();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            match tokio::time::timeout(STOP_DEADLINE, task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(err))) => panic!("the zone server ended with an error: {err}"),
                Ok(Err(join)) => panic!("the zone server task failed: {join}"),
                Err(_) => panic!("the zone server did not stop within {STOP_DEADLINE:?}"),
            }
        }
        self.state.db.close().await;
    }
}

impl Drop for TestZone {
    fn drop(&mut self) {
        // A test that panicked before `stop` still shuts its server down (the task notices the
        // closed channel); it is not awaited here because Drop cannot await.
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A zone data directory that outlives the zones started in it and is removed when dropped
/// (kept, and named, when the test failed).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// A new, empty directory under the system temp dir.
    pub fn new() -> DataDir {
        let path = std::env::temp_dir()
            .join("mez-tests")
            .join(format!("data-{}", uuid::Uuid::new_v4().simple()));
        if let Err(err) = std::fs::create_dir_all(&path) {
            panic!("cannot create data directory {}: {err}", path.display());
        }
        DataDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for DataDir {
    fn default() -> Self {
        DataDir::new()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test failed; its zone data directory is kept at {}",
                self.path.display()
            );
        } else if let Err(err) = std::fs::remove_dir_all(&self.path) {
            if err.kind() != std::io::ErrorKind::NotFound {
                eprintln!("warning: could not remove {}: {err}", self.path.display());
            }
        }
    }
}

/// Which `Authorization` header a raw request carries.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Bearer <the zone's token>`.
    Zone,
    /// No `Authorization` header at all.
    None,
    /// `Bearer <this token>`.
    Bearer(String),
    /// This exact header value (`Basic ...`, a bare token, garbage).
    Header(String),
}

impl TestZone {
    /// Sends a request with this bearer token (an API key's secret, a JWT) and, if given,
    /// this JSON body.
    pub async fn send_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> RawResponse {
        let request = self.raw(method, path).auth(Auth::Bearer(token.to_owned()));
        match body {
            Some(body) => request.json(&body).send().await,
            None => request.send().await,
        }
    }
}

/// A request under construction; see [`TestZone::raw`].
pub struct RawRequest<'a> {
    zone: &'a TestZone,
    method: Method,
    path: String,
    auth: Auth,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl RawRequest<'_> {
    /// Sends this header too.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sends no `Authorization` header.
    pub fn no_token(self) -> Self {
        self.auth(Auth::None)
    }

    /// Sends these bytes with this content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(content_type.to_owned());
        self.body = Some(body.into());
        self
    }

    /// Sends these bytes with no content type at all.
    pub fn body_without_content_type(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = None;
        self.body = Some(body.into());
        self
    }

    /// Sends `value` serialised, as `application/json`.
    pub fn json(self, value: &Value) -> Self {
        self.body("application/json", value.to_string())
    }

    pub async fn send(self) -> RawResponse {
        let url = self.zone.url(&self.path);
        let mut builder = self.zone.client.request(self.method.clone(), &url);
        let authorization = match &self.auth {
            Auth::Zone => Some(format!("Bearer {}", self.zone.token)),
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::Header(value) => Some(value.clone()),
        };
        if let Some(value) = authorization {
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(content_type) = &self.content_type {
            builder = builder.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = self.body {
            builder = builder.body(body);
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(err) => panic!("{} {} failed: {err}", self.method, self.path),
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match response.bytes().await {
            Ok(bytes) => bytes.to_vec(),
            Err(err) => panic!(
                "reading the answer to {} {} failed: {err}",
                self.method, self.path
            ),
        };
        RawResponse {
            status,
            content_type,
            body,
        }
    }
}

/// What the zone answered, unparsed.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text (lossy), for messages and substring checks.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; an empty body is `Value::Null`.
    pub fn json_or_null(&self) -> Result<Value, serde_json::Error> {
        if self.body.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_slice(&self.body)
        }
    }

    /// The body as JSON, panicking with the status and raw text when it is not.
    pub fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(err) => panic!(
                "expected a JSON body, got status {} content-type {:?} body {:?} ({err})",
                self.status,
                self.content_type,
                self.text()
            ),
        }
    }
}
