// SPDX-License-Identifier: BUSL-1.1
//! Request ids: one id per request, to follow it from its log lines to its upstream calls and
//! its audit event.
//!
//! [`assign`] (the outermost middleware) takes the caller's `x-request-id` when it is
//! well-formed ([`well_formed`]) and makes a new UUID otherwise. The id is then:
//!
//! - put back on the request's `x-request-id` header (replacing a malformed one), so the
//!   tracing span of the request (see `lib.rs`) names it on every log line;
//! - in scope for the whole handling of the request as a task-local, read with [`current`]:
//!   the proxy client sends it upstream, and the audit log stores it in the event's metadata as
//!   `request_id`, for direct and `/v1` writes alike, without every function on the way
//!   passing it along;
//! - echoed on the response.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The header that carries the id, both ways and upstream.
pub const HEADER: &str = "x-request-id";

/// The longest caller-chosen id kept; a longer one is replaced.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// Whether a caller's id is kept: 1 to 128 characters, each an ASCII letter, digit, or one of
/// `-`, `_`, `.`, `:`. Anything else (spaces, control characters, quotes, very long text) could
/// forge or break log lines and is replaced by a fresh id.
pub fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Middleware: settles the request's id, runs the rest of the stack with it in scope, and
/// echoes it on the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| well_formed(id));
    let id: Arc<str> = match given {
        Some(id) => Arc::from(id),
        None => Arc::from(uuid::Uuid::new_v4().to_string()),
    };
    // Well-formed ids and UUIDs are visible ASCII, which a header value always accepts.
    let header = HeaderValue::from_str(&id).ok();
    if let Some(value) = &header {
        request.headers_mut().insert(HEADER, value.clone());
    }
    let mut response = REQUEST_ID.scope(id, next.run(request)).await;
    if let Some(value) = header {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn keeps_plain_ids_and_replaces_the_rest() {
        for id in ["abc", "3f1c-22:req.7_x", &"a".repeat(128)] {
            assert!(well_formed(id), "{id}");
        }
        for id in [
            "",
            "has space",
            "quote\"",
            "new\nline",
            "ünï",
            &"a".repeat(129),
        ] {
            assert!(!well_formed(id), "{id:?}");
        }
    }
}
