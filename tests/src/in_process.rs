// SPDX-License-Identifier: BUSL-1.1
//! A zone driven in-process: the product's router (`mez_api::app`) answering requests through
//! `oneshot`, with the state behind it at hand for reading the store directly. The one
//! in-process harness of the suites; [`crate::TestZone`] is the same zone on a loopback port.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use mez_api::state::AppState;
use serde_json::Value;
use tower::ServiceExt;

use crate::{DataDir, TestDb};

/// A zone's router and the state behind it, over `db`, with its own files in a directory of
/// its own (removed when the zone is dropped).
pub struct InProcessZone {
    pub state: AppState,
    pub token: String,
    app: Router,
    _data_dir: DataDir,
}

impl InProcessZone {
    /// Starts a zone on `db`: sovereign, or a proxy with no upstream configured.
    pub async fn start(db: &TestDb, sovereign: bool) -> InProcessZone {
        let token = format!("in-process-{}", uuid::Uuid::new_v4().simple());
        let data_dir = DataDir::new();
        let mut config = mez_api::config::Config::for_tests(db.url(), sovereign, &token);
        config.data_dir = data_dir.path().to_path_buf();
        let state = match mez_api::build_state(config).await {
            Ok(state) => state,
            Err(err) => panic!("the zone failed to start: {err}"),
        };
        InProcessZone {
            app: mez_api::app(state.clone()),
            state,
            token,
            _data_dir: data_dir,
        }
    }

    /// Sends one request with the zone's token (and `application/json` when there is a body);
    /// answers the status and the JSON body (`Value::Null` when empty). A body that is not
    /// JSON fails the test.
    pub async fn send(&self, method: &str, uri: &str, body: Option<Vec<u8>>) -> (u16, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        let body = match body {
            Some(bytes) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let request = match request.body(body) {
            Ok(request) => request,
            Err(err) => panic!("cannot build {method} {uri}: {err}"),
        };
        let response = match self.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let bytes = match axum::body::to_bytes(response.into_body(), usize::MAX).await {
            Ok(bytes) => bytes,
            Err(err) => panic!("reading the answer to {method} {uri}: {err}"),
        };
        if bytes.is_empty() {
            return (status, Value::Null);
        }
        match serde_json::from_slice(&bytes) {
            Ok(value) => (status, value),
            Err(err) => panic!(
                "{method} {uri} answered {status} with a body that is not JSON ({err}): {:?}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }

    /// Sends a JSON value as the body.
    pub async fn send_json(&self, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
        self.send(method, uri, body.map(|v| v.to_string().into_bytes()))
            .await
    }
}
