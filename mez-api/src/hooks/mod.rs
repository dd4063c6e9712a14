// SPDX-License-Identifier: BUSL-1.1
//! The hand-written behaviour that the spec names as hooks: everything that is not CRUD.
//!
//! The generated handlers validate requests, apply defaults, and assign ids and timestamps;
//! they call into this module only for the rules a spec cannot express.
//! There are two kinds of hook:
//!
//! - **prepare hooks** (`account_from_treasury`, `payment_from_account`, `cap_table_derive`)
//!   run on a create, after validation and before the insert, and may refuse the record or
//!   fill in server-derived fields;
//! - **route hooks** (`withholding_compute`, `cnic_verify`, `ntn_verify`, `consent_approve`,
//!   `consent_reject`, `share_classes_by_org`, `shareholders_by_org`) are the whole body of a route and answer with
//!   a JSON value, to which the generated handler adds the status code.
//!
//! Each submodule keeps its rules in pure functions over [`Record`]s and values, with the
//! async hook a thin shell around them, so that the rules are unit-tested without a database.
//!
//! [`Record`]: crate::db::Record

mod consent;
mod fiscal;
mod identity;
mod orchestration;
mod ownership;

pub use consent::{consent_approve, consent_reject};
pub use fiscal::{account_from_treasury, payment_from_account, withholding_compute};
pub use identity::{cnic_verify, ntn_verify};
pub use orchestration::{initiate_payment, open_account, verify_identity};
pub use ownership::{cap_table_derive, share_classes_by_org, shareholders_by_org};

use serde_json::Value;

use crate::db::Record;
use crate::error::ApiError;

/// A fresh record id, in the one format every record uses (UUID v4, hyphenated).
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reads an optional string input; absent and `null` both mean "not given".
///
/// The generated validator has already checked the types, so a non-string here means the
/// spec and the hook disagree; it is still answered as the client's field error rather than
/// trusted blindly, because a hook must never act on a value it did not understand.
fn optional_str<'a>(input: &'a Record, key: &str) -> Result<Option<&'a str>, ApiError> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::field(key, "must be a string")),
    }
}

/// Reads a string input that the spec marks as required.
fn required_str<'a>(input: &'a Record, key: &str) -> Result<&'a str, ApiError> {
    optional_str(input, key)?.ok_or_else(|| ApiError::field(key, "is required"))
}

/// Fixtures and assertions shared by the unit tests of every hook module.
#[cfg(test)]
mod test_support {
    use serde_json::Value;

    use crate::db::Record;
    use crate::error::ApiError;

    /// Turns a `json!` object literal into a record.
    pub(super) fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => map,
            other => panic!("test fixture is not an object: {other}"),
        }
    }

    /// The `(field, message)` pairs of a validation failure; panics on anything else.
    pub(super) fn field_errors<T: std::fmt::Debug>(
        result: Result<T, ApiError>,
    ) -> Vec<(String, String)> {
        match result {
            Err(ApiError::Validation(errors)) => errors
                .into_iter()
                .map(|error| (error.field, error.message))
                .collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    /// The one `(field, message)` pair of a single-field validation failure.
    pub(super) fn field_error<T: std::fmt::Debug>(result: Result<T, ApiError>) -> (String, String) {
        let mut errors = field_errors(result);
        assert_eq!(
            errors.len(),
            1,
            "expected exactly one field error: {errors:?}"
        );
        errors.remove(0)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{field_error, record};
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_str_treats_absent_and_null_alike() {
        let input = record(json!({"a": null, "b": "x"}));
        assert_eq!(optional_str(&input, "a").ok(), Some(None));
        assert_eq!(optional_str(&input, "missing").ok(), Some(None));
        assert_eq!(optional_str(&input, "b").ok(), Some(Some("x")));
    }

    #[test]
    fn optional_str_rejects_a_non_string_as_a_field_error() {
        let input = record(json!({"a": 5}));
        assert_eq!(
            field_error(optional_str(&input, "a")),
            ("a".to_owned(), "must be a string".to_owned())
        );
    }

    #[test]
    fn required_str_reports_a_missing_field() {
        let input = record(json!({}));
        assert_eq!(
            field_error(required_str(&input, "cnic")),
            ("cnic".to_owned(), "is required".to_owned())
        );
    }

    #[test]
    fn new_ids_are_uuid_v4() {
        let id = new_id();
        let parsed = uuid::Uuid::parse_str(&id).ok();
        assert_eq!(parsed.map(|u| u.get_version_num()), Some(4));
        assert_ne!(id, new_id());
    }
}
