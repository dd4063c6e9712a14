// SPDX-License-Identifier: BUSL-1.1
//! The hand-written runtime the generated surface calls.
//!
//! `model` holds the types the generated code instantiates (the spec as static data), `args`
//! what a route is called with, `validate` checks a request against a model, `ops` implements
//! each route operation (create, get, update, list, ...) once for every model, `plan` collects
//! a request's intended changes, `commit` is the one commit-and-retry loop, and `serve` answers
//! a direct route (with idempotency keys).

pub mod args;
pub mod commit;
pub mod decimal;
pub mod mapping;
pub mod model;
pub mod ops;
pub mod plan;
pub mod serve;
pub mod validate;
