// SPDX-License-Identifier: BUSL-1.1
//! Identity hooks: the CNIC (NADRA) and NTN (FBR IRIS) checks, and the NTN filer-status rule
//! that the withholding computation shares.
//!
//! No NADRA or FBR connection exists in this zone, so both verifiers are mocks, and they say
//! so: every answer and every stored record carries `mock: true` and names the mock adapter,
//! and the note states what was (only the format) and was not (any registry lookup) checked.
//! The earlier implementation answered `verified: true` with a made-up match score and no
//! such warning, which a caller could mistake for a real identity check.
//!
//! Each check is recorded in the `identities` store, which `GET /consent-info/api/v1/identities`
//! lists, so that a verification can be found again by the id it answered with.

use serde_json::{Value, json};

use super::{new_id, optional_str, required_str};
use crate::clock::now_rfc3339;
use crate::db::Record;
use crate::error::ApiError;
use crate::runtime::model::IdCheck;
use crate::runtime::plan::Plan;
use crate::state::AppState;
use crate::surface::collections;

/// How the tax authority classes a taxpayer, which sets their withholding rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FilerStatus {
    Filer,
    LateFiler,
    NonFiler,
}

impl FilerStatus {
    /// The status an NTN implies, by the Mass surface's first-digit convention: no NTN, or one
    /// starting with `0`, is a non-filer; `9` marks a late filer; any other digit a filer.
    ///
    /// This is a heuristic that stands in for an Active Taxpayer List lookup, which this zone
    /// cannot make.
    pub(super) fn from_ntn(ntn: Option<&str>) -> Self {
        match ntn.and_then(|ntn| ntn.chars().next()) {
            None | Some('0') => Self::NonFiler,
            Some('9') => Self::LateFiler,
            Some(_) => Self::Filer,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Filer => "Filer",
            Self::LateFiler => "LateFiler",
            Self::NonFiler => "NonFiler",
        }
    }
}

/// An NTN is exactly seven ASCII digits, taken as given (see [`IdCheck::Ntn`]).
pub(super) fn check_ntn(ntn: &str) -> Result<(), ApiError> {
    IdCheck::Ntn
        .check(ntn)
        .map(drop)
        .map_err(|message| ApiError::field("ntn", message))
}

/// The 13 digits of a CNIC, with separators (`12345-1234567-1`) and anything else that is not
/// an ASCII digit dropped (see [`IdCheck::Cnic`]).
fn normalize_cnic(raw: &str) -> Result<String, ApiError> {
    IdCheck::Cnic
        .check(raw)
        .map_err(|message| ApiError::field("cnic", message))
}

/// Whether a CNIC's first digit is one of the province codes NADRA issues (1 to 7). The mock
/// can check no more than this, and a CNIC outside them is a failed verification (recorded,
/// `verified: false`), not a malformed request.
fn known_province(cnic: &str) -> bool {
    matches!(cnic.as_bytes().first(), Some(b'1'..=b'7'))
}

/// Route hook for `POST /identity/cnic/verify`: a mock NADRA check that validates the format
/// and records the check.
pub async fn cnic_verify(
    _state: &AppState,
    plan: &mut Plan,
    input: Record,
) -> Result<Value, ApiError> {
    let (record, answer) = cnic_verification(&input, new_id(), &now_rfc3339())?;
    insert_identity(plan, record)?;
    Ok(answer)
}

/// Route hook for `POST /identity/ntn/verify`: a mock FBR IRIS check that validates the format,
/// derives the filer status from the NTN, and records the check.
pub async fn ntn_verify(
    _state: &AppState,
    plan: &mut Plan,
    input: Record,
) -> Result<Value, ApiError> {
    let (record, answer) = ntn_verification(&input, new_id(), &now_rfc3339())?;
    insert_identity(plan, record)?;
    Ok(answer)
}

fn insert_identity(plan: &mut Plan, record: Record) -> Result<(), ApiError> {
    let id = match record.get("id") {
        Some(Value::String(id)) => id.clone(),
        _ => {
            return Err(ApiError::internal(
                "identity record was built without an id",
            ));
        }
    };
    plan.insert(collections::IDENTITIES, &id, record);
    Ok(())
}

/// The record to store and the answer to give for a CNIC check.
fn cnic_verification(input: &Record, id: String, now: &str) -> Result<(Record, Value), ApiError> {
    let cnic = normalize_cnic(required_str(input, "cnic")?)?;
    let full_name = optional_str(input, "full_name")?;
    let entity_id = optional_str(input, "entity_id")?;
    let verified = known_province(&cnic);
    let mut record = identity_record(&id, entity_id, "CNIC", &cnic, full_name, None, now);
    record.insert("verified".to_owned(), json!(verified));
    let (status, note) = if verified {
        (
            "Active",
            "mock verifier: the CNIC format and province code were checked; no NADRA lookup was made",
        )
    } else {
        (
            "NotFound",
            "mock verifier: the CNIC's first digit is no province code (1 to 7), so no such CNIC can exist; no NADRA lookup was made",
        )
    };
    let answer = json!({
        "cnic": cnic,
        "verified": verified,
        "full_name": full_name,
        "identity_id": id,
        "verification_timestamp": now,
        "details": {
            "cnic_status": status,
            "source": "MockNadraAdapter",
            "mock": true,
            "note": note,
        },
    });
    Ok((record, answer))
}

/// The record to store and the answer to give for an NTN check.
fn ntn_verification(input: &Record, id: String, now: &str) -> Result<(Record, Value), ApiError> {
    let ntn = required_str(input, "ntn")?;
    check_ntn(ntn)?;
    let entity_name = optional_str(input, "entity_name")?;
    let entity_id = optional_str(input, "entity_id")?;
    let status = FilerStatus::from_ntn(Some(ntn)).as_str();
    let record = identity_record(&id, entity_id, "NTN", ntn, entity_name, Some(status), now);
    let answer = json!({
        "ntn": ntn,
        "verified": true,
        "registered_name": entity_name,
        "tax_status": status,
        "identity_id": id,
        "verification_timestamp": now,
        "details": {
            "filer_status": status,
            "source": "MockFbrIrisAdapter",
            "mock": true,
            "note": "mock verifier: the NTN format was checked; no FBR IRIS lookup was made",
        },
    });
    Ok((record, answer))
}

/// A stored identity check, with every field of the spec's `Identity` model present (absent
/// values as `null`) so that all records in the store have one shape.
fn identity_record(
    id: &str,
    entity_id: Option<&str>,
    kind: &str,
    number: &str,
    name: Option<&str>,
    tax_status: Option<&str>,
    now: &str,
) -> Record {
    let mut record = Record::new();
    record.insert("id".to_owned(), json!(id));
    record.insert("entityId".to_owned(), json!(entity_id));
    record.insert("kind".to_owned(), json!(kind));
    record.insert("number".to_owned(), json!(number));
    record.insert("name".to_owned(), json!(name));
    // A format check is all a mock can do; `mock` says that `verified` means no more.
    record.insert("verified".to_owned(), json!(true));
    record.insert("mock".to_owned(), json!(true));
    record.insert("taxStatus".to_owned(), json!(tax_status));
    record.insert("createdAt".to_owned(), json!(now));
    record
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_error, record};
    use super::*;

    const NOW: &str = "2026-11-25T10:00:00.000Z";
    const ID: &str = "0b7e3f0e-6a43-4c0c-9d5e-2a8c6f1d9b21";

    #[test]
    fn cnic_separators_are_stripped() {
        assert_eq!(
            normalize_cnic("12345-1234567-1").ok().as_deref(),
            Some("1234512345671")
        );
        assert_eq!(
            normalize_cnic(" 12345 1234567 1 ").ok().as_deref(),
            Some("1234512345671")
        );
        assert_eq!(
            normalize_cnic("1234512345671").ok().as_deref(),
            Some("1234512345671")
        );
    }

    #[test]
    fn a_cnic_of_the_wrong_length_names_the_digit_count() {
        let cases = [
            ("12345-1234567", 12),
            ("12345-1234567-12", 14),
            ("abc", 0),
            ("", 0),
        ];
        for (raw, count) in cases {
            assert_eq!(
                field_error(normalize_cnic(raw)),
                (
                    "cnic".to_owned(),
                    format!("must be exactly 13 digits, got {count}")
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn non_ascii_digits_do_not_count_towards_a_cnic() {
        // Arabic-Indic digits are digits to Unicode but not to NADRA.
        assert_eq!(
            field_error(normalize_cnic("١٢٣٤٥١٢٣٤٥٦٧١")).1,
            "must be exactly 13 digits, got 0"
        );
    }

    #[test]
    fn an_ntn_is_exactly_seven_ascii_digits_without_stripping() {
        assert!(check_ntn("1234567").is_ok());
        assert!(check_ntn("0000000").is_ok());
        for bad in [
            "123456",
            "12345678",
            "123-4567",
            " 1234567",
            "12345a7",
            "",
            "١٢٣٤٥٦٧",
        ] {
            assert_eq!(
                field_error(check_ntn(bad)),
                (
                    "ntn".to_owned(),
                    format!("must be exactly 7 digits, got '{bad}'")
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_filer_status_follows_the_first_digit() {
        assert_eq!(FilerStatus::from_ntn(None), FilerStatus::NonFiler);
        assert_eq!(FilerStatus::from_ntn(Some("")), FilerStatus::NonFiler);
        assert_eq!(
            FilerStatus::from_ntn(Some("0123456")),
            FilerStatus::NonFiler
        );
        assert_eq!(
            FilerStatus::from_ntn(Some("9123456")),
            FilerStatus::LateFiler
        );
        for first in '1'..='8' {
            let ntn = format!("{first}123456");
            assert_eq!(
                FilerStatus::from_ntn(Some(&ntn)),
                FilerStatus::Filer,
                "{ntn}"
            );
        }
        assert_eq!(FilerStatus::Filer.as_str(), "Filer");
        assert_eq!(FilerStatus::LateFiler.as_str(), "LateFiler");
        assert_eq!(FilerStatus::NonFiler.as_str(), "NonFiler");
    }

    #[test]
    fn a_cnic_check_answers_as_a_mock_and_records_itself() {
        let input = record(json!({"cnic": "12345-1234567-1", "full_name": "Ali Khan"}));
        let (stored, answer) =
            cnic_verification(&input, ID.to_owned(), NOW).unwrap_or_else(|err| panic!("{err:?}"));
        assert_eq!(
            answer,
            json!({
                "cnic": "1234512345671",
                "verified": true,
                "full_name": "Ali Khan",
                "identity_id": ID,
                "verification_timestamp": NOW,
                "details": {
                    "cnic_status": "Active",
                    "source": "MockNadraAdapter",
                    "mock": true,
                    "note": "mock verifier: the CNIC format and province code were checked; no NADRA lookup was made",
                },
            })
        );
        assert_eq!(
            Value::Object(stored),
            json!({
                "id": ID, "entityId": null, "kind": "CNIC", "number": "1234512345671",
                "name": "Ali Khan", "verified": true, "mock": true, "taxStatus": null,
                "createdAt": NOW,
            })
        );
    }

    #[test]
    fn a_cnic_outside_the_province_codes_is_a_recorded_failed_check() {
        for cnic in ["02345-1234567-1", "8234512345671", "92345-1234567-1"] {
            let input = record(json!({"cnic": cnic, "full_name": "Ali Khan", "entity_id": "e-1"}));
            let (stored, answer) =
                cnic_verification(&input, "id-1".into(), "2026-11-25T10:00:00.000Z").unwrap();
            assert_eq!(answer["verified"], false, "{cnic}");
            assert_eq!(answer["details"]["cnic_status"], "NotFound");
            assert_eq!(answer["details"]["mock"], true);
            assert_eq!(stored["verified"], false);
            assert_eq!(stored["entityId"], "e-1");
        }
        for first in '1'..='7' {
            let cnic = format!("{first}2345-1234567-1");
            let input = record(json!({"cnic": cnic}));
            let (stored, _) =
                cnic_verification(&input, "id-1".into(), "2026-11-25T10:00:00.000Z").unwrap();
            assert_eq!(stored["verified"], true, "{cnic}");
        }
    }

    #[test]
    fn a_cnic_check_without_a_name_answers_null() {
        let input = record(json!({"cnic": "1234512345671", "full_name": null}));
        let (stored, answer) =
            cnic_verification(&input, ID.to_owned(), NOW).unwrap_or_else(|err| panic!("{err:?}"));
        assert_eq!(answer["full_name"], Value::Null);
        assert_eq!(stored["name"], Value::Null);
    }

    #[test]
    fn a_bad_cnic_records_nothing() {
        let input = record(json!({"cnic": "123"}));
        assert_eq!(
            field_error(cnic_verification(&input, ID.to_owned(), NOW)),
            (
                "cnic".to_owned(),
                "must be exactly 13 digits, got 3".to_owned()
            )
        );
    }

    #[test]
    fn an_ntn_check_answers_as_a_mock_with_the_filer_status() {
        let entity = "5d0f1b8e-8f7a-4b43-9d8e-0f1f8c2b7a64";
        let input = record(json!({"ntn": "9876543", "entity_name": "Acme", "entity_id": entity}));
        let (stored, answer) =
            ntn_verification(&input, ID.to_owned(), NOW).unwrap_or_else(|err| panic!("{err:?}"));
        assert_eq!(
            answer,
            json!({
                "ntn": "9876543",
                "verified": true,
                "registered_name": "Acme",
                "tax_status": "LateFiler",
                "identity_id": ID,
                "verification_timestamp": NOW,
                "details": {
                    "filer_status": "LateFiler",
                    "source": "MockFbrIrisAdapter",
                    "mock": true,
                    "note": "mock verifier: the NTN format was checked; no FBR IRIS lookup was made",
                },
            })
        );
        assert_eq!(
            Value::Object(stored),
            json!({
                "id": ID, "entityId": entity, "kind": "NTN", "number": "9876543",
                "name": "Acme", "verified": true, "mock": true, "taxStatus": "LateFiler",
                "createdAt": NOW,
            })
        );
    }

    #[test]
    fn an_ntn_check_without_a_name_does_not_invent_one() {
        // The earlier mock answered "Mock Entity <ntn>", a name no registry ever returned.
        let input = record(json!({"ntn": "1234567"}));
        let (_, answer) =
            ntn_verification(&input, ID.to_owned(), NOW).unwrap_or_else(|err| panic!("{err:?}"));
        assert_eq!(answer["registered_name"], Value::Null);
        assert_eq!(answer["tax_status"], "Filer");
    }

    #[test]
    fn a_bad_ntn_records_nothing() {
        let input = record(json!({"ntn": "12-34567"}));
        assert_eq!(
            field_error(ntn_verification(&input, ID.to_owned(), NOW)),
            (
                "ntn".to_owned(),
                "must be exactly 7 digits, got '12-34567'".to_owned()
            )
        );
    }
}
