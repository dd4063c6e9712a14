// SPDX-License-Identifier: BUSL-1.1
//! The one error type of the zone server, and the one JSON body every failure answers with.
//!
//! Every route, generated or hand-written, returns `Result<_, ApiError>`. The body is always
//! `{"error": {"code": "...", "message": "...", "details": [...]}}`, where `details` appears
//! only for validation failures (one entry per offending field). A 500 never carries the
//! internal cause: the cause is logged with a reference id, and the reference id is returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The request key, as the client spelled it (`name`, `entity_id`, `shareholders[2].shares`).
    pub field: String,
    /// What is wrong, as a sentence fragment: `is required`, `must be at most 1000 characters`.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An upstream 4xx answer, kept whole so the caller sees the upstream's reason.
#[derive(Debug)]
pub struct UpstreamRefusal {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

/// Why a write conflicts with the stored state. The retry loop decides by kind, never by
/// message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// A record the write inserts (a record id, a unique value's guard, an idempotency key)
    /// was inserted by another writer after this one read the store: plan again.
    Exists,
    /// A record the write replaces or deletes changed after it was read: plan again.
    Stale,
    /// Other writers kept changing the record; the caller may try again later.
    Busy,
    /// The record's state forbids the operation (a decided consent): planning again would
    /// give the same answer.
    State,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or the query string cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// The request carried a body that is not `application/json`.
    #[error("expected a body with content type application/json")]
    UnsupportedMediaType,
    /// The body exceeds the configured limit.
    #[error("request body is too large")]
    PayloadTooLarge,
    /// The request is well-formed JSON but breaks the spec's rules.
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { kind: ConflictKind, message: String },
    /// The caller's rate limit (`MEZ_RATE_LIMIT`) is used up for now.
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    GatewayTimeout(String),
    /// An upstream Mass API refused the request with a 4xx; passed on with its status and
    /// message.
    #[error("{}", .0.message)]
    Upstream(Box<UpstreamRefusal>),
    /// A failure of the server itself. The string is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A validation failure for a single field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// Wraps any error as an internal one; the cause is kept for the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// A conflict of `kind`.
    pub fn conflict(kind: ConflictKind, message: impl Into<String>) -> Self {
        Self::Conflict {
            kind,
            message: message.into(),
        }
    }

    /// Whether planning the write again from fresh reads may succeed.
    pub fn is_retriable_conflict(&self) -> bool {
        matches!(
            self,
            Self::Conflict {
                kind: ConflictKind::Exists | ConflictKind::Stale,
                ..
            }
        )
    }

    /// Whether the error says the thing asked for does not exist, here or upstream.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::NotFound(_) => true,
            Self::Upstream(refusal) => refusal.status == 404,
            _ => false,
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Upstream(refusal) => {
                StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code in the body.
    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Validation(_) => "VALIDATION_ERROR",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict { .. } => "CONFLICT",
            Self::TooManyRequests { .. } => "RATE_LIMITED",
            Self::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            Self::BadGateway(_) => "UPSTREAM_ERROR",
            Self::GatewayTimeout(_) => "UPSTREAM_TIMEOUT",
            Self::Upstream(refusal) => &refusal.code,
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let message = match &self {
            Self::Internal(cause) => {
                let reference = uuid::Uuid::new_v4();
                tracing::error!(%reference, %cause, "internal error");
                format!("an internal error occurred (reference {reference})")
            }
            Self::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("request validation failed: {}", fields.join(", "))
            }
            other => other.to_string(),
        };
        let mut error = json!({ "code": self.code(), "message": message });
        match &self {
            Self::Validation(errors) => error["details"] = json!(errors),
            Self::Upstream(refusal) => {
                if let Some(details) = &refusal.details {
                    error["details"] = details.clone();
                }
            }
            _ => {}
        }
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        if let Self::TooManyRequests { retry_after_secs } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(format!("database: {err}"))
    }
}
