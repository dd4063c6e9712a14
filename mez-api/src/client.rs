// SPDX-License-Identifier: BUSL-1.1
//! The Mass client of a proxy zone: any direct route of the spec, over HTTP.
//!
//! The client is driven by the generated route table, so its paths and methods are the
//! spec's by construction (the typed methods in `surface::client` are thin wrappers over
//! [`MassClient::call`]). Upstream failures map onto the zone's error shape: unreachable, a
//! 5xx or an unreadable body is a 502, a timeout a 504, and a 4xx is passed on with the
//! upstream's status and message. Only safe requests are retried: GETs, and POSTs that carry
//! an `Idempotency-Key` (which the direct routes honour, so a retry creates nothing new).

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::config::UpstreamConfig;
use crate::error::ApiError;
use crate::runtime::model::RouteInfo;
use crate::runtime::ops::CallArgs;

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
            if let Some(body) = &args.body {
                req = req.json(body);
            }
            let outcome = match req.send().await {
                Ok(resp) => answer(route, resp).await,
                Err(err) => Err(transport_error(route, &self.upstream, &err)),
            };
            match outcome {
                Err(err) if retriable && attempt < RETRY_DELAYS.len() && is_transient(&err) => {
                    tokio::time::sleep(RETRY_DELAYS[attempt]).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

impl MassClient {
    /// Calls a direct route and decodes its answer as the spec's type for it.
    pub async fn call_typed<T: serde::de::DeserializeOwned>(
        &self,
        route: &RouteInfo,
        args: &CallArgs,
    ) -> Result<T, ApiError> {
        let value = self
            .call(route, args, args.idempotency_key.as_deref())
            .await?;
        serde_json::from_value(value).map_err(|e| {
            ApiError::BadGateway(format!(
                "the upstream {} service answered {} {} in a shape the spec does not allow: {e}",
                route.service, route.method, route.path
            ))
        })
    }
}

/// Decodes `value` as `T` and encodes it again.
pub fn through<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: Value,
) -> Result<Value, serde_json::Error> {
    if value.is_null() {
        // A route answering no body (a delete) has nothing to decode.
        return Ok(value);
    }
    serde_json::to_value(serde_json::from_value::<T>(value)?)
}

/// Whether retrying could help: the upstream was unreachable or overloaded. A timeout is not
/// retried: the caller's deadline is already spent.
fn is_transient(err: &ApiError) -> bool {
    matches!(err, ApiError::BadGateway(_))
}

fn transport_error(route: &RouteInfo, upstream: &UpstreamConfig, err: &reqwest::Error) -> ApiError {
    tracing::warn!(service = route.service, error = %err, "upstream Mass call failed");
    if err.is_timeout() {
        ApiError::GatewayTimeout(format!(
            "the upstream {} service did not answer within {:?}",
            route.service, upstream.timeout
        ))
    } else {
        ApiError::BadGateway(format!(
            "the upstream {} service is unreachable",
            route.service
        ))
    }
}

/// Reads an upstream answer, mapping its status onto the zone's errors.
async fn answer(route: &RouteInfo, resp: reqwest::Response) -> Result<Value, ApiError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|err| {
        if err.is_timeout() {
            ApiError::GatewayTimeout(format!("the upstream {} service timed out", route.service))
        } else {
            ApiError::BadGateway(format!(
                "the upstream {} service sent an unreadable answer",
                route.service
            ))
        }
    })?;
    if status.is_server_error() {
        return Err(ApiError::BadGateway(format!(
            "the upstream {} service failed ({status})",
            route.service
        )));
    }
    if status.is_client_error() {
        return Err(upstream_refusal(route, status, &bytes));
    }
    if !status.is_success() {
        return Err(ApiError::BadGateway(format!(
            "the upstream {} service answered {status}",
            route.service
        )));
    }
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::BadGateway(format!(
            "the upstream {} service sent a body that is not JSON",
            route.service
        ))
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
            "the upstream {} service refused this zone's credentials ({status})",
            route.service
        ));
    }
    ApiError::Upstream(Box::new(crate::error::UpstreamRefusal {
        status: status.as_u16(),
        code,
        message,
        details: error.and_then(|e| e.get("details")).cloned(),
    }))
}
