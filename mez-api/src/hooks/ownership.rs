// SPDX-License-Identifier: BUSL-1.1
//! Ownership hooks: the share counts of a new cap table, and the share classes of an
//! organization.
//!
//! A cap table's counts are derived, never taken from the client: the outstanding shares are
//! the sum of what the shareholders hold, and a table that allocates more than it authorizes
//! is refused. The arithmetic is checked, so an absurd share count is a 422 and never a wrap
//! or a panic.

use serde_json::{Value, json};

use super::new_id;
use crate::db::{Query, Record};
use crate::error::{ApiError, FieldError};
use crate::runtime::plan::Plan;
use crate::state::AppState;
use crate::surface::collections;

/// How many cap tables to read per page when collecting an organization's share classes.
const PAGE_SIZE: u64 = 200;

/// Prepare hook for `POST /capTables`: derives the share counts and the common share class.
pub async fn cap_table_derive(
    _state: &AppState,
    _plan: &Plan,
    record: &mut Record,
) -> Result<(), ApiError> {
    let classes = record.get("shareClasses").cloned().unwrap_or(Value::Null);
    match classes {
        Value::Array(classes) if !classes.is_empty() => derive_from_classes(record, &classes),
        _ => derive_cap_table(record, new_id()),
    }
}

/// Route hook for `GET /shareClasses/organization/{organizationId}`: the share classes of
/// every cap table of the organization, in the order the cap tables were created.
pub async fn share_classes_by_org(
    state: &AppState,
    _plan: &mut Plan,
    organization_id: String,
) -> Result<Value, ApiError> {
    let mut classes = Vec::new();
    for table in cap_tables_of(state, &organization_id).await? {
        classes.extend(share_classes_of(&table)?);
    }
    Ok(Value::Array(classes))
}

/// Route hook for `GET /shareholders/organization/{organizationId}`: the shareholders the
/// organization's cap tables allocate, one record per allocation, in the order the cap tables
/// were created and, within a table, the order of its allocations.
///
/// Shareholders are derived, never stored apart from the cap tables, so this list cannot
/// drift from the allocations that were written (and audited) with the tables.
pub async fn shareholders_by_org(
    state: &AppState,
    _plan: &mut Plan,
    organization_id: String,
) -> Result<Value, ApiError> {
    let mut shareholders = Vec::new();
    for table in cap_tables_of(state, &organization_id).await? {
        shareholders.extend(shareholders_of(&table)?);
    }
    Ok(Value::Array(shareholders))
}

/// Every cap table of an organization, in the order they were created.
async fn cap_tables_of(state: &AppState, organization_id: &str) -> Result<Vec<Record>, ApiError> {
    let mut tables = Vec::new();
    let mut offset = 0;
    // Read page by page until the store says there is no more, so that an organization with
    // many cap tables is answered in full and never silently cut at a page limit.
    loop {
        let query = Query {
            equals: vec![("organizationId", organization_id)],
            offset,
            limit: PAGE_SIZE,
            ..Query::all()
        };
        let page = state.db.list(collections::CAP_TABLES, &query).await?;
        let fetched = u64::try_from(page.items.len()).map_err(ApiError::internal)?;
        tables.extend(page.items);
        offset += fetched;
        // An empty page ends the loop even if `total` disagrees, so that a table shrinking
        // under the reader cannot keep it asking forever.
        if fetched == 0 || offset >= page.total {
            break;
        }
    }
    Ok(tables)
}

/// The keys of an allocation that a shareholder record carries over as they were written.
const SHAREHOLDER_KEYS: [&str; 7] = [
    "userId",
    "email",
    "firstName",
    "lastName",
    "businessName",
    "isEntity",
    "percentage",
];

/// The shareholder records of one stored cap table: each allocation's own keys, the table's
/// organization and id, and its share count as both outstanding and fully diluted (a cap
/// table reserves nothing yet, see [`derive_cap_table`]). The id is derived from the table's
/// id and the allocation's position, so the same allocation always has the same id.
fn shareholders_of(table: &Record) -> Result<Vec<Value>, ApiError> {
    let table_id = table.get("id").and_then(Value::as_str).unwrap_or_default();
    let allocations = match table.get("shareholders") {
        Some(Value::Array(allocations)) => allocations,
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => {
            return Err(ApiError::internal(format!(
                "cap table {table_id} has a shareholders value that is not an array"
            )));
        }
    };
    let mut out = Vec::with_capacity(allocations.len());
    for (index, allocation) in allocations.iter().enumerate() {
        let shares = shares_of(index, allocation).map_err(|error| {
            ApiError::internal(format!("cap table {table_id}: {}", error.message))
        })?;
        let mut record = Record::new();
        record.insert("id".to_owned(), json!(shareholder_id(table_id, index)));
        record.insert(
            "organizationId".to_owned(),
            table.get("organizationId").cloned().unwrap_or(Value::Null),
        );
        record.insert("capTableId".to_owned(), json!(table_id));
        // Every key is present (null when the allocation does not say), so every shareholder
        // has the one shape the spec's `Shareholder` declares.
        for key in SHAREHOLDER_KEYS {
            let value = allocation.get(key).cloned().unwrap_or(Value::Null);
            record.insert(key.to_owned(), value);
        }
        record.insert("outstandingShares".to_owned(), json!(shares));
        record.insert("fullyDilutedShares".to_owned(), json!(shares));
        out.push(Value::Object(record));
    }
    Ok(out)
}

/// A stable id for the allocation at `index` of a cap table: the first 16 bytes of
/// SHA-256(`table_id/index`), as a version-8 (custom) UUID, so it says it was not drawn at
/// random.
fn shareholder_id(table_id: &str, index: usize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{table_id}/{index}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The share classes stored on one cap table.
fn share_classes_of(table: &Record) -> Result<Vec<Value>, ApiError> {
    match table.get("shareClasses") {
        Some(Value::Array(classes)) => Ok(classes.clone()),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(ApiError::internal(format!(
            "cap table {} has a shareClasses value that is not an array",
            table.get("id").and_then(Value::as_str).unwrap_or("?")
        ))),
    }
}

/// Fills in the derived fields of a new cap table, or refuses its shareholders.
///
/// Options pools are not accepted yet, so nothing is reserved: every share is either
/// outstanding or unreserved. `class_id` is the id the table's one common class gets.
fn derive_cap_table(record: &mut Record, class_id: String) -> Result<(), ApiError> {
    let authorized = record
        .get("authorizedShares")
        .and_then(Value::as_u64)
        .filter(|&shares| shares > 0)
        .ok_or_else(|| ApiError::field("authorizedShares", "must be a positive integer"))?;
    let outstanding = outstanding_shares(record.get("shareholders"))?;
    if outstanding > authorized {
        return Err(ApiError::field(
            "shareholders",
            format!("allocate {outstanding} shares but only {authorized} are authorized"),
        ));
    }
    let reserved: u64 = 0;
    let fully_diluted = outstanding.checked_add(reserved).ok_or_else(uncountable)?;
    let unreserved = authorized
        .checked_sub(outstanding)
        .and_then(|rest| rest.checked_sub(reserved))
        .ok_or_else(uncountable)?;
    let par_value = record.get("parValue").cloned().unwrap_or(Value::Null);
    let common = json!({
        "id": class_id,
        "name": "Common",
        "authorizedShares": authorized,
        "outstandingShares": outstanding,
        "parValue": par_value,
        "votingRights": true,
        "restricted": false,
        "classType": "COMMON",
    });
    record.insert("outstandingShares".to_owned(), json!(outstanding));
    record.insert("fullyDilutedShares".to_owned(), json!(fully_diluted));
    record.insert("reservedShares".to_owned(), json!(reserved));
    record.insert("unreservedShares".to_owned(), json!(unreserved));
    record.insert("shareClasses".to_owned(), json!([common]));
    record.insert("optionsPools".to_owned(), json!([]));
    Ok(())
}

/// The sum of the shareholders' `shares`, reporting every malformed shareholder at once.
fn outstanding_shares(shareholders: Option<&Value>) -> Result<u64, ApiError> {
    let shareholders = match shareholders {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Array(shareholders)) => shareholders,
        Some(_) => return Err(ApiError::field("shareholders", "must be an array")),
    };
    let mut errors = Vec::new();
    // `None` once the sum has overflowed; the loop goes on so that every field error is found.
    let mut total = Some(0u64);
    for (index, shareholder) in shareholders.iter().enumerate() {
        match shares_of(index, shareholder) {
            Ok(shares) => total = total.and_then(|sum| sum.checked_add(shares)),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    total.ok_or_else(uncountable)
}

/// The shares one shareholder holds; a shareholder that does not say holds none.
fn shares_of(index: usize, shareholder: &Value) -> Result<u64, FieldError> {
    let Value::Object(shareholder) = shareholder else {
        return Err(FieldError::new(
            format!("shareholders[{index}]"),
            "must be an object",
        ));
    };
    match shareholder.get("shares") {
        None | Some(Value::Null) => Ok(0),
        // `as_u64` is `None` for negative numbers and for fractions, both of which are wrong.
        Some(shares) => shares.as_u64().ok_or_else(|| {
            FieldError::new(
                format!("shareholders[{index}].shares"),
                "must be a non-negative integer",
            )
        }),
    }
}

/// The most shares a cap table may authorize: the spec's bound on `CapTable.authorizedShares`.
fn authorized_max() -> Option<u64> {
    crate::surface::models::CAP_TABLE
        .field("authorizedShares")
        .and_then(|f| match f.max {
            Some(crate::runtime::model::Bound::Int(max)) => u64::try_from(max).ok(),
            _ => None,
        })
}

/// Derives a cap table from the share classes the request declared: each class is checked
/// and completed, the table's authorized and outstanding shares are their sums, and any
/// shareholder allocations must fit within the outstanding shares.
fn derive_from_classes(record: &mut Record, classes: &[Value]) -> Result<(), ApiError> {
    let table_par = record.get("parValue").cloned().unwrap_or(Value::Null);
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(classes.len());
    let (mut authorized, mut outstanding) = (Some(0u64), Some(0u64));
    for (i, class) in classes.iter().enumerate() {
        let at = |key: &str| format!("shareClasses[{i}].{key}");
        let Value::Object(class) = class else {
            errors.push(FieldError::new(
                format!("shareClasses[{i}]"),
                "must be an object",
            ));
            continue;
        };
        let name = class
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new(at("name"), "must be 1 to 200 characters"));
        }
        let class_authorized = class
            .get("authorizedShares")
            .and_then(Value::as_u64)
            .filter(|&n| n > 0);
        if class_authorized.is_none() {
            errors.push(FieldError::new(
                at("authorizedShares"),
                "must be a positive integer",
            ));
        }
        let issued = match class.get("outstandingShares") {
            None | Some(Value::Null) => Some(0),
            Some(v) => v.as_u64(),
        };
        match (issued, class_authorized) {
            (None, _) => errors.push(FieldError::new(
                at("outstandingShares"),
                "must be a non-negative integer",
            )),
            (Some(n), Some(a)) if n > a => errors.push(FieldError::new(
                at("outstandingShares"),
                format!("issues {n} shares but the class authorizes only {a}"),
            )),
            _ => {}
        }
        let par = match class.get("parValue") {
            None | Some(Value::Null) => table_par.clone(),
            Some(Value::String(p))
                if p.parse::<rust_decimal::Decimal>()
                    .is_ok_and(|d| !d.is_sign_negative()) =>
            {
                json!(p)
            }
            Some(_) => {
                errors.push(FieldError::new(
                    at("parValue"),
                    "must be a non-negative decimal string",
                ));
                Value::Null
            }
        };
        let voting = match class.get("votingRights") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.push(FieldError::new(at("votingRights"), "must be true or false"));
                true
            }
        };
        let (a, n) = (class_authorized.unwrap_or(0), issued.unwrap_or(0));
        authorized = authorized.and_then(|sum| sum.checked_add(a));
        outstanding = outstanding.and_then(|sum| sum.checked_add(n));
        out.push(json!({
            "id": new_id(),
            "name": name,
            "authorizedShares": a,
            "outstandingShares": n,
            "parValue": par,
            "votingRights": voting,
            "restricted": false,
            "classType": if i == 0 { "COMMON" } else { "PREFERRED" },
        }));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let authorized = authorized.ok_or_else(uncountable)?;
    let outstanding = outstanding.ok_or_else(uncountable)?;
    // The classes' sum is the table's `authorizedShares`, which the spec bounds: a table the
    // model refuses must not be stored (a proxy zone would refuse its own upstream's answer).
    if let Some(max) = authorized_max().filter(|&max| authorized > max) {
        return Err(ApiError::field(
            "shareClasses",
            format!("authorize {authorized} shares in total, more than the {max} a cap table may"),
        ));
    }
    let allocated = outstanding_shares(record.get("shareholders"))?;
    if allocated > outstanding {
        return Err(ApiError::field(
            "shareholders",
            format!("allocate {allocated} shares but only {outstanding} are issued"),
        ));
    }
    record.insert("authorizedShares".to_owned(), json!(authorized));
    record.insert("outstandingShares".to_owned(), json!(outstanding));
    record.insert("fullyDilutedShares".to_owned(), json!(outstanding));
    record.insert("reservedShares".to_owned(), json!(0));
    record.insert(
        "unreservedShares".to_owned(),
        json!(authorized - outstanding),
    );
    record.insert("shareClasses".to_owned(), Value::Array(out));
    record.insert("optionsPools".to_owned(), json!([]));
    Ok(())
}

fn uncountable() -> ApiError {
    ApiError::field("shareholders", "allocate more shares than can be counted")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_error, field_errors, record};
    use super::*;

    const CLASS_ID: &str = "5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";

    fn cap_table(authorized: Value, shareholders: Value) -> Record {
        record(json!({
            "id": "11111111-2222-4333-8444-555555555555",
            "organizationId": "0a0b0c0d-0000-4000-8000-000000000001",
            "authorizedShares": authorized,
            "parValue": "1.00",
            "shareholders": shareholders,
            "outstandingShares": 0,
            "fullyDilutedShares": 0,
            "reservedShares": 0,
            "unreservedShares": 0,
            "shareClasses": [],
            "optionsPools": [],
            "createdAt": "2026-11-25T10:00:00.000Z",
            "updatedAt": "2026-11-25T10:00:00.000Z",
        }))
    }

    fn derive(table: &mut Record) {
        derive_cap_table(table, CLASS_ID.to_owned()).unwrap_or_else(|err| panic!("{err:?}"));
    }

    #[test]
    fn share_classes_may_not_authorize_more_than_a_cap_table_may() {
        let class = |n: u64| json!({"name": "C", "authorizedShares": n, "outstandingShares": 1});
        let mut table = cap_table(json!(1), json!([]));
        let limit = 1_000_000_000_000_000u64;
        let err = derive_from_classes(&mut table, &[class(limit), class(1)]).unwrap_err();
        let ApiError::Validation(errors) = err else {
            panic!("expected a field error, got {err:?}");
        };
        assert_eq!(errors[0].field, "shareClasses");
        let mut table = cap_table(json!(1), json!([]));
        derive_from_classes(&mut table, &[class(limit - 1), class(1)]).unwrap();
        assert_eq!(table["authorizedShares"], json!(limit));
    }

    #[test]
    fn an_empty_cap_table_has_everything_unreserved() {
        let mut table = cap_table(json!(1_000_000), json!([]));
        derive(&mut table);
        assert_eq!(table["outstandingShares"], 0);
        assert_eq!(table["fullyDilutedShares"], 0);
        assert_eq!(table["reservedShares"], 0);
        assert_eq!(table["unreservedShares"], 1_000_000);
        assert_eq!(table["optionsPools"], json!([]));
        assert_eq!(
            table["shareClasses"],
            json!([{
                "id": CLASS_ID,
                "name": "Common",
                "authorizedShares": 1_000_000,
                "outstandingShares": 0,
                "parValue": "1.00",
                "votingRights": true,
                "restricted": false,
                "classType": "COMMON",
            }])
        );
    }

    #[test]
    fn outstanding_shares_are_the_sum_of_the_holdings() {
        let mut table = cap_table(
            json!(1000),
            json!([{"name": "A", "shares": 600}, {"name": "B"}, {"name": "C", "shares": 150}]),
        );
        derive(&mut table);
        assert_eq!(table["outstandingShares"], 750);
        assert_eq!(table["fullyDilutedShares"], 750);
        assert_eq!(table["unreservedShares"], 250);
        assert_eq!(table["shareClasses"][0]["outstandingShares"], 750);
        // The shareholders themselves are kept as the client sent them.
        assert_eq!(table["shareholders"][1], json!({"name": "B"}));
    }

    #[test]
    fn allocating_exactly_the_authorized_shares_is_allowed() {
        let mut table = cap_table(json!(100), json!([{"shares": 60}, {"shares": 40}]));
        derive(&mut table);
        assert_eq!(table["unreservedShares"], 0);
    }

    #[test]
    fn allocating_more_than_authorized_is_refused() {
        let mut table = cap_table(json!(100), json!([{"shares": 60}, {"shares": 41}]));
        assert_eq!(
            field_error(derive_cap_table(&mut table, CLASS_ID.to_owned())),
            (
                "shareholders".to_owned(),
                "allocate 101 shares but only 100 are authorized".to_owned()
            )
        );
    }

    #[test]
    fn every_malformed_shareholder_is_reported_at_once() {
        let mut table = cap_table(
            json!(100),
            json!([{"shares": -1}, "alice", {"shares": 1.5}, {"shares": "10"}, {"shares": 5}]),
        );
        let errors = field_errors(derive_cap_table(&mut table, CLASS_ID.to_owned()));
        let fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "shareholders[0].shares",
                "shareholders[1]",
                "shareholders[2].shares",
                "shareholders[3].shares"
            ]
        );
        assert_eq!(errors[1].1, "must be an object");
        assert_eq!(errors[0].1, "must be a non-negative integer");
    }

    #[test]
    fn a_share_count_sum_that_overflows_is_a_field_error() {
        let mut table = cap_table(
            json!(1_000_000_000_000_000u64),
            json!([{"shares": u64::MAX}, {"shares": 1}]),
        );
        assert_eq!(
            field_error(derive_cap_table(&mut table, CLASS_ID.to_owned())),
            (
                "shareholders".to_owned(),
                "allocate more shares than can be counted".to_owned()
            )
        );
    }

    #[test]
    fn a_single_huge_holding_is_compared_not_wrapped() {
        let mut table = cap_table(json!(10), json!([{"shares": u64::MAX}]));
        assert_eq!(
            field_error(derive_cap_table(&mut table, CLASS_ID.to_owned())).1,
            format!("allocate {} shares but only 10 are authorized", u64::MAX)
        );
    }

    #[test]
    fn a_missing_or_invalid_authorized_count_is_refused() {
        for authorized in [Value::Null, json!(0), json!(-5), json!("100"), json!(2.5)] {
            let mut table = cap_table(authorized.clone(), json!([]));
            assert_eq!(
                field_error(derive_cap_table(&mut table, CLASS_ID.to_owned())).0,
                "authorizedShares",
                "{authorized}"
            );
        }
    }

    #[test]
    fn missing_shareholders_count_as_none_and_a_non_array_is_refused() {
        let mut table = cap_table(json!(10), Value::Null);
        derive(&mut table);
        assert_eq!(table["outstandingShares"], 0);
        let mut table = cap_table(json!(10), json!({"shares": 1}));
        assert_eq!(
            field_error(derive_cap_table(&mut table, CLASS_ID.to_owned())),
            ("shareholders".to_owned(), "must be an array".to_owned())
        );
    }

    #[test]
    fn client_supplied_derived_fields_are_overwritten() {
        let mut table = cap_table(json!(10), json!([{"shares": 4}]));
        table.insert("outstandingShares".to_owned(), json!(999));
        table.insert("shareClasses".to_owned(), json!([{"name": "Fake"}]));
        table.insert("optionsPools".to_owned(), json!([{"size": 5}]));
        derive(&mut table);
        assert_eq!(table["outstandingShares"], 4);
        assert_eq!(table["shareClasses"][0]["name"], "Common");
        assert_eq!(table["optionsPools"], json!([]));
    }

    #[test]
    fn shareholders_are_derived_from_a_stored_tables_allocations() {
        let mut table = cap_table(
            json!(1000),
            json!([
                {"email": "a@example.com", "firstName": "A", "shares": 600, "note": "dropped"},
                {"email": "b@example.com", "isEntity": true}
            ]),
        );
        table.insert("id".to_owned(), json!("t-1"));
        table.insert("organizationId".to_owned(), json!("org-1"));
        let holders = shareholders_of(&table).unwrap_or_default();
        assert_eq!(holders.len(), 2);
        assert_eq!(holders[0]["organizationId"], json!("org-1"));
        assert_eq!(holders[0]["capTableId"], json!("t-1"));
        assert_eq!(holders[0]["email"], json!("a@example.com"));
        assert_eq!(holders[0]["firstName"], json!("A"));
        assert_eq!(holders[0]["outstandingShares"], json!(600));
        assert_eq!(holders[0]["fullyDilutedShares"], json!(600));
        assert!(
            holders[0].get("note").is_none(),
            "unknown keys are not carried"
        );
        assert_eq!(holders[1]["outstandingShares"], json!(0));
        assert_eq!(holders[1]["isEntity"], json!(true));
        // Stable, distinct, well-formed ids.
        assert_eq!(holders[0]["id"], json!(shareholder_id("t-1", 0)));
        assert_ne!(holders[0]["id"], holders[1]["id"]);
        let id = holders[0]["id"].as_str().unwrap_or_default();
        assert_eq!(
            uuid::Uuid::parse_str(id).ok().map(|u| u.get_version_num()),
            Some(8)
        );
    }

    #[test]
    fn a_table_without_allocations_has_no_shareholders() {
        let table = cap_table(json!(1000), Value::Null);
        assert_eq!(shareholders_of(&table).map(|h| h.len()).ok(), Some(0));
    }

    #[test]
    fn share_classes_are_read_from_a_stored_table() {
        let mut table = cap_table(json!(10), json!([]));
        derive(&mut table);
        let classes = share_classes_of(&table).unwrap_or_else(|err| panic!("{err:?}"));
        assert_eq!(classes.len(), 1);
        assert_eq!(classes[0]["id"], CLASS_ID);
        table.remove("shareClasses");
        assert!(share_classes_of(&table).is_ok_and(|classes| classes.is_empty()));
        table.insert("shareClasses".to_owned(), json!("nope"));
        assert!(matches!(
            share_classes_of(&table),
            Err(ApiError::Internal(_))
        ));
    }
}
