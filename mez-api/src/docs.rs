// SPDX-License-Identifier: BUSL-1.1
//! The zone's API description: `/openapi.json` for the surfaces this zone mounts, and `/docs`,
//! an HTML reference rendered from it by Redoc, whose bundle is vendored (`assets/redoc/`,
//! with its licence) and embedded in the binary, so the page needs no network access.
//!
//! The generated document describes the sovereign zone. Every operation says which surface
//! it belongs to (`x-mez-surface`: `direct`, `v1` or `zone`); a proxy zone mounts no direct
//! surface, so its document is the generated one without those operations.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::Value;

use crate::surface;

const REDOC_JS: &str = include_str!("../assets/redoc/redoc.standalone.js");
const REDOC_LICENSE: &str = include_str!("../assets/redoc/LICENSE");

const DOCS_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mez zone API</title>
</head>
<body>
<div id="redoc"></div>
<script src="/docs/redoc.standalone.js"></script>
<script>
Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
</script>
</body>
</html>
"#;

/// The OpenAPI document of what a zone of this mode mounts, as JSON text.
pub fn document(sovereign: bool) -> String {
    if sovereign {
        return surface::OPENAPI.to_string();
    }
    let Ok(mut doc) = serde_json::from_str::<Value>(surface::OPENAPI) else {
        return surface::OPENAPI.to_string();
    };
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            if let Some(ops) = item.as_object_mut() {
                ops.retain(|_, op| op["x-mez-surface"] != "direct");
            }
        }
        paths.retain(|_, item| item.as_object().is_some_and(|ops| !ops.is_empty()));
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| surface::OPENAPI.into());
    text.push('\n');
    text
}

/// `/openapi.json`, `/docs` and the renderer's files: public, like the health probes.
pub fn router<S: Clone + Send + Sync + 'static>(sovereign: bool) -> Router<S> {
    let doc: Arc<str> = Arc::from(document(sovereign));
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
        .route("/docs", get(docs_page))
        .route("/docs/redoc.standalone.js", get(redoc_js))
        .route("/docs/LICENSE", get(redoc_license))
}

async fn docs_page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DOCS_HTML,
    )
}

async fn redoc_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        REDOC_JS,
    )
}

async fn redoc_license() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        REDOC_LICENSE,
    )
}
