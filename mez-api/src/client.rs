// SPDX-License-Identifier: BUSL-1.1
//! The HTTP transport of a proxy zone: any direct route of the spec, sent upstream.
//!
//! The client is driven by the generated route table, so its paths and methods are the
//! spec's by construction; the generated typed client (`MassCall`'s method per route, see
//! [`crate::mass`]) calls it and holds each answer to the route's spec type. Upstream failures
//! map onto the zone's error shape: unreachable, a 5xx, a redirect (never followed) or an
//! unreadable body is a 502, a timeout a 504, an upstream 401/403 (this zone's credentials) a
//! 502, and any other 4xx is passed on with the upstream's status and message.
//!
//! Only safe calls are retried (GETs, and POSTs carrying an `Idempotency-Key`, which the
//! direct routes honour, so a retry creates nothing new), and only after a failure a retry may
//! cure: a connection failure, a 502/503/504, or a timeout (each attempt is bounded by
//! `MASS_TIMEOUT_SECS`, so a caller waits at most three of them and the pauses between). A 4xx,
//! a 500, a redirect or a malformed answer would come back the same, and is answered at once.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::config::UpstreamConfig;
use crate::error::ApiError;
use crate::runtime::args::CallArgs;
use crate::runtime::model::RouteInfo;

/// Retries after the first attempt, and the pause before each.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// A connection to an upstream Mass API (the live services, or another zone's surface).
#[derive(Clone, Debug)]
pub struct MassClient {
    http: reqwest::Client,
    upstream: UpstreamConfig,
}

impl MassClient {
    /// A client for the configured upstream; `None` when no `MASS_*_URL` is set.
    pub fn new(upstream: &UpstreamConfig) -> Result<Option<MassClient>, ApiError> {
        if upstream.urls.is_empty() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            // A redirect is answered as a 502: following one could loop, or take the zone's
            // bearer token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(upstream.connect_timeout)
            .timeout(upstream.timeout)
            .build()
            .map_err(|e| ApiError::internal(format!("http client: {e}")))?;
        Ok(Some(MassClient {
            http,
            upstream: upstream.clone(),
        }))
    }

    /// The URL of `route` with its path parameters and query filled in.
    fn url(&self, route: &RouteInfo, args: &CallArgs) -> Result<Url, ApiError> {
        let variable = route.url_env.ok_or_else(|| {
            ApiError::ServiceUnavailable(format!(
                "{} {} has no upstream service",
                route.method, route.path
            ))
        })?;
        let base = self.upstream.urls.get(variable).ok_or_else(|| {
            ApiError::ServiceUnavailable(format!(
                "no upstream Mass API is configured for {}: set {variable}",
                route.service
            ))
        })?;
        let mut url = Url::parse(base).map_err(|e| {
            ApiError::ServiceUnavailable(format!("{variable} is not a valid URL: {e}"))
        })?;
        let mut params = args.params.iter();
        {
            let mut segments = url.path_segments_mut().map_err(|_| {
                ApiError::ServiceUnavailable(format!("{variable} cannot carry a path"))
            })?;
            segments.pop_if_empty();
            for segment in route.path.split('/').filter(|s| !s.is_empty()) {
                if segment.starts_with('{') {
                    let value = params
                        .next()
                        .ok_or_else(|| ApiError::internal("missing path parameter"))?;
                    // A dot segment would be removed from the URL (it means "this" or "parent"
                    // directory), sending the request to another route; no record has such an
                    // id, so there is nothing upstream to ask for.
                    if value == "." || value == ".." {
                        let what = route.model.map(|m| m.name).unwrap_or("record");
                        return Err(ApiError::NotFound(format!("{what} {value} not found")));
                    }
                    segments.push(value);
                } else {
                    segments.push(segment);
                }
            }
        }
        if !args.query.is_empty() {
            url.query_pairs_mut().extend_pairs(args.query.iter());
        }
        Ok(url)
    }

    /// Calls one direct route upstream and returns its JSON answer (`null` for no body).
    pub async fn call(
        &self,
        route: &RouteInfo,
        args: &CallArgs,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ApiError> {
        let url = self.url(route, args)?;
        let method = Method::from_bytes(route.method.as_bytes())
            .map_err(|_| ApiError::internal("bad method"))?;
        let retriable = method == Method::GET || idempotency_key.is_some();
        let mut attempt = 0;
        loop {
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(token) = &self.upstream.token {
                req = req.bearer_auth(token);
            }
            if let Some(key) = idempotency_key {
                req = req.header("Idempotency-Key", key);
            }
            // The request being served upstream is the same request: same id.
            if let Some(id) = crate::request_id::current() {
                req = req.header(crate::request_id::HEADER, &*id);
            }
            if let Some(body) = &args.body {
                req = req.json(body);
            }
            let started = std::time::Instant::now();
            let outcome = match req.send().await {
                Ok(resp) => answer(route, resp).await,
                Err(err) => Err(transport_error(route, &self.upstream, &err)),
            };
            crate::metrics::record_upstream(route.service, started, outcome.is_ok());
            match outcome {
                Ok(value) => return Ok(value),
                Err(Failure::Transient(_)) if retriable && attempt < RETRY_DELAYS.len() => {
                    tokio::time::sleep(RETRY_DELAYS[attempt]).await;
                    attempt += 1;
                }
                Err(Failure::Transient(err) | Failure::Final(err)) => return Err(err),
            }
        }
    }
}

/// An upstream failure, and whether calling again might cure it.
enum Failure {
    /// Unreachable, overloaded (502/503/504) or too slow: worth one more try when safe.
    Transient(ApiError),
    /// Any other answer would come back the same.
    Final(ApiError),
}

fn transport_error(route: &RouteInfo, upstream: &UpstreamConfig, err: &reqwest::Error) -> Failure {
    tracing::warn!(service = route.service, error = %err, "upstream Mass call failed");
    if err.is_timeout() {
        Failure::Transient(ApiError::GatewayTimeout(format!(
            "the upstream {} service did not answer within {:?}",
            route.service, upstream.timeout
        )))
    } else {
        Failure::Transient(ApiError::BadGateway(format!(
            "the upstream {} service is unreachable",
            route.service
        )))
    }
}

/// Reads an upstream answer, mapping its status onto the zone's errors.
async fn answer(route: &RouteInfo, resp: reqwest::Response) -> Result<Value, Failure> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|err| {
        if err.is_timeout() {
            Failure::Transient(ApiError::GatewayTimeout(format!(
                "the upstream {} service timed out",
                route.service
            )))
        } else {
            Failure::Transient(ApiError::BadGateway(format!(
                "the upstream {} service sent an unreadable answer",
                route.service
            )))
        }
    })?;
    let what = format!("{} {} ({})", route.method, route.path, route.name);
    if status.is_server_error() {
        let err = ApiError::BadGateway(format!(
            "the upstream {} service failed ({status}) on {what}",
            route.service
        ));
        return Err(match status {
            StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Failure::Transient(err),
            _ => Failure::Final(err),
        });
    }
    if status.is_client_error() {
        return Err(Failure::Final(upstream_refusal(route, status, &bytes)));
    }
    if !status.is_success() {
        // A redirect (or a 1xx that reached us): never followed.
        return Err(Failure::Final(ApiError::BadGateway(format!(
            "the upstream {} service answered {status} on {what}; redirects are not followed",
            route.service
        ))));
    }
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|_| {
        Failure::Final(ApiError::BadGateway(format!(
            "the upstream {} service sent a body that is not JSON on {what}",
            route.service
        )))
    })
}

/// An upstream 4xx, with the upstream's own code, message and details when it sent the
/// error shape, so the caller sees why.
fn upstream_refusal(route: &RouteInfo, status: StatusCode, bytes: &[u8]) -> ApiError {
    let body: Option<Value> = serde_json::from_slice(bytes).ok();
    let error = body.as_ref().and_then(|b| b.get("error"));
    let text = |key: &str| error.and_then(|e| e.get(key)).and_then(Value::as_str);
    let message = text("message")
        .map(str::to_string)
        .or_else(|| {
            body.as_ref()
                .and_then(|b| b.get("error"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            format!(
                "the upstream {} service refused the request ({status})",
                route.service
            )
        });
    let code = text("code")
        .map(str::to_string)
        .unwrap_or_else(|| match status {
            StatusCode::NOT_FOUND => "NOT_FOUND".into(),
            StatusCode::CONFLICT => "CONFLICT".into(),
            StatusCode::UNAUTHORIZED => "UPSTREAM_UNAUTHORIZED".into(),
            _ => "UPSTREAM_REJECTED".into(),
        });
    // A 401 from the upstream is this zone's misconfiguration (its MASS_API_TOKEN), not the
    // caller's: answer 502 so the caller is not told their own token is wrong.
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return ApiError::BadGateway(format!(
            "the upstream {} service refused this zone's credentials ({status}) on {} {}",
            route.service, route.method, route.path
        ));
    }
    ApiError::Upstream(Box::new(crate::error::UpstreamRefusal {
        status: status.as_u16(),
        code,
        message,
        details: error.and_then(|e| e.get("details")).cloned(),
    }))
}
