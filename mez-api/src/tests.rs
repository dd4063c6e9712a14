// SPDX-License-Identifier: BUSL-1.1
//! Tests of the assembled application: the real [`app`], driven request by request.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

const TOKEN: &str = "test-token-0123";

/// A router over a fresh SQLite file; the guard removes the file's directory when dropped.
async fn test_app(sovereign: bool) -> (Router, AppState, TempDir) {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("mez.db").display());
    let state = build_state(Config::for_tests(&url, sovereign, TOKEN))
        .await
        .expect("state");
    (app(state.clone()), state, dir)
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("mez-app-test-{}", uuid::Uuid::new_v4().simple())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn send(app: &Router, method: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn health_probes_answer_without_a_token() {
    let (app, _state, _dir) = test_app(true).await;
    assert_eq!(
        send(&app, "GET", "/health/liveness", None).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(
        send(&app, "GET", "/health/readiness", None).await,
        (StatusCode::OK, json!({"status": "ready"}))
    );
}

#[tokio::test]
async fn readiness_is_503_json_when_the_database_is_gone() {
    let (app, state, _dir) = test_app(false).await;
    state.db.close().await;
    let (status, body) = send(&app, "GET", "/health/readiness", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    // Liveness does not depend on the database.
    assert_eq!(
        send(&app, "GET", "/health/liveness", None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_other_path_needs_the_token_even_unknown_ones() {
    let (app, _state, _dir) = test_app(true).await;
    for token in [
        None,
        Some("wrong"),
        Some("test-token-012"),
        Some("test-token-01234"),
    ] {
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/no/such/route")
                    .header(
                        header::AUTHORIZATION,
                        format!("Bearer {}", token.unwrap_or_default()),
                    )
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let (status, body) = send(&app, "GET", "/no/such/route", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{token:?}");
    }
}

#[tokio::test]
async fn unknown_path_with_the_token_is_json_404() {
    let (app, _state, _dir) = test_app(true).await;
    let (status, body) = send(&app, "DELETE", "/no/such/route", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": {"code": "NOT_FOUND", "message": "no route for DELETE /no/such/route"}})
    );
}

#[tokio::test]
async fn wrong_method_on_a_known_path_is_json_405() {
    let (app, _state, _dir) = test_app(false).await;
    let (status, body) = send(&app, "POST", "/health/liveness", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn a_configured_token_is_used_as_is() {
    let (_app, state, _dir) = test_app(false).await;
    assert_eq!(&*state.auth_token, TOKEN);
}

#[tokio::test]
async fn a_missing_token_is_generated_never_left_open() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("mez.db").display());
    let state = build_state(Config::for_tests(&url, false, ""))
        .await
        .expect("state");
    assert_eq!(state.auth_token.len(), 64);
    let app = app(state.clone());
    assert_eq!(
        send(&app, "GET", "/x", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let token = state.auth_token.to_string();
    assert_eq!(
        send(&app, "GET", "/x", Some(&token)).await.0,
        StatusCode::NOT_FOUND
    );
}
