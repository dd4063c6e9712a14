// SPDX-License-Identifier: BUSL-1.1
//! The Mass operations of one request, in whichever mode the zone runs: the only step of the
//! `/v1` pipeline that depends on the mode.
//!
//! The runtime calls a direct route through the generated typed client: `mass.get_account(id)`
//! (one method per route of the spec, generated in `surface.rs`), or `mass.call(Route::X, args)`
//! where a `/v1` route's spec names the route. A sovereign zone plans the route against its own
//! store (the same plan function its direct handler runs, with no HTTP to itself); the planned
//! changes commit later, with the attestation and audit event. A proxy zone sends the call
//! upstream through [`crate::client::MassClient`] and holds the answer to the route's spec
//! type: an answer that does not fit (a missing or mistyped `id`, a JSON array where a record
//! belongs, an empty or non-JSON body) is a 502 naming the route, and nothing is written.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::runtime::args::CallArgs;
use crate::runtime::plan::Plan;
use crate::state::AppState;
use crate::surface::Route;

/// A route's answer: decoded into its spec type, and the JSON it came as (which the envelope's
/// `mass_response` carries unchanged).
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub data: T,
    pub json: Value,
}

/// The Mass operations of one request.
pub struct MassCall<'a> {
    state: &'a AppState,
    /// The records a sovereign zone's Mass operations plan to change.
    pub plan: Plan,
    /// A proxy zone's idempotency keys for its upstream POSTs: this request's key and a
    /// counter of its POSTs, so each call is safe to retry and distinct from the request's
    /// other calls, and an attempt planned again sends the keys of the first.
    request_key: String,
    calls: usize,
    /// Named values a `/v1` hook hands back besides its answer (`outputs.X` of a route's
    /// `fires` data), set through the hook view's generated setters.
    pub outputs: serde_json::Map<String, Value>,
}

impl<'a> MassCall<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Self {
            state,
            plan: Plan::new(),
            request_key: uuid::Uuid::new_v4().to_string(),
            calls: 0,
            outputs: serde_json::Map::new(),
        }
    }

    /// Starts the request's Mass operations again after a commit refused by a concurrent
    /// change: the plan and outputs are dropped, the idempotency keys are kept, so a proxy
    /// zone's repeated upstream POSTs carry the keys of the first attempt and the upstream
    /// answers them without doing the work twice.
    pub fn again(&mut self) {
        self.plan = Plan::new();
        self.outputs = serde_json::Map::new();
        self.calls = 0;
    }

    /// The state this request runs with.
    pub fn state(&self) -> &'a AppState {
        self.state
    }

    /// Calls `route`; a proxy zone's answer is checked against the route's spec type.
    pub async fn call(&mut self, route: Route, args: CallArgs) -> Result<Value, ApiError> {
        let value = self.raw(route, args).await?;
        if !self.state.config.sovereign {
            route
                .check_answer(&value)
                .map_err(|err| misfit(route, &err))?;
        }
        Ok(value)
    }

    /// Calls `route` and decodes its answer as `T` (the generated typed methods name `T`).
    pub async fn typed<T: DeserializeOwned>(
        &mut self,
        route: Route,
        args: CallArgs,
    ) -> Result<Answer<T>, ApiError> {
        let json = self.raw(route, args).await?;
        match T::deserialize(&json) {
            Ok(data) => Ok(Answer { data, json }),
            // The zone's own answer not fitting its own type is a bug of the zone.
            Err(err) if self.state.config.sovereign => Err(ApiError::internal(format!(
                "{} answered outside its type: {err}",
                route.info().name
            ))),
            Err(err) => Err(misfit(route, &err)),
        }
    }

    /// A `/v1` hook's kept zone state (the generated `read_X` of its view): read from this
    /// zone's own store in both modes.
    pub async fn read_kept(
        &mut self,
        collection: &str,
        id: &str,
    ) -> Result<Option<crate::db::Record>, ApiError> {
        self.state.db.get(collection, id).await
    }

    /// Plans an addition to a hook's kept zone state (the generated `add_to_X`), applied in
    /// the request's own commit in both modes ([`crate::audit::RecordOp::Add`]). It is not
    /// what the request is about, so it leaves the plan's resource id alone.
    pub fn add_kept(
        &mut self,
        collection: &str,
        id: &str,
        (field, amount): (&str, rust_decimal::Decimal),
        seed: crate::db::Record,
    ) {
        self.plan.ops.push(crate::audit::RecordOp::Add {
            collection: collection.to_string(),
            id: id.to_string(),
            field: field.to_string(),
            amount,
            seed,
        });
    }

    async fn raw(&mut self, route: Route, args: CallArgs) -> Result<Value, ApiError> {
        if self.state.config.sovereign {
            return route.plan(self.state, &mut self.plan, args).await;
        }
        let client = self.state.mass_client.as_ref().ok_or_else(|| {
            ApiError::ServiceUnavailable(
                "this zone runs in proxy mode and no upstream Mass API is configured \
                 (set the MASS_*_URL variables)"
                    .into(),
            )
        })?;
        let info = route.info();
        // Only POSTs are counted: an attempt planned again may read more or less than the
        // first, and its writes must still meet the first attempt's keys.
        let key = (info.method == "POST").then(|| {
            self.calls += 1;
            format!("{}-{}", self.request_key, self.calls)
        });
        client.call(info, &args, key.as_deref()).await
    }
}

/// The 502 for an upstream answer that does not fit the route's spec type.
fn misfit(route: Route, err: &serde_json::Error) -> ApiError {
    let info = route.info();
    ApiError::BadGateway(format!(
        "the upstream {} service answered {} {} ({}) in a shape the spec does not allow: {err}",
        info.service, info.method, info.path, info.name
    ))
}

/// `Ok(None)` for a "not found" (here or upstream), so that a lookup reads as one expression.
pub trait Found<T> {
    fn found(self) -> Result<Option<T>, ApiError>;
}

impl<T> Found<T> for Result<T, ApiError> {
    fn found(self) -> Result<Option<T>, ApiError> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Whether `value` decodes as `T` (a route with no body answers `null`, which `()` accepts).
pub fn decodes<T: DeserializeOwned>(value: &Value) -> Result<(), serde_json::Error> {
    T::deserialize(value).map(|_| ())
}

/// Decodes `value` as `T` and encodes it again.
pub fn through<T: serde::Serialize + DeserializeOwned>(
    value: Value,
) -> Result<Value, serde_json::Error> {
    if value.is_null() {
        // A route answering no body (a delete) has nothing to decode.
        return Ok(value);
    }
    serde_json::to_value(T::deserialize(&value)?)
}
