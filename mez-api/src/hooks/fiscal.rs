// SPDX-License-Identifier: BUSL-1.1
//! Fiscal hooks: accounts and payments take their entity from the record they hang off, and
//! the withholding-at-source computation.
//!
//! An account names its treasury and a payment names its account; both refuse a dangling
//! reference (the earlier implementation stored payments against accounts that did not
//! exist) and copy the parent's `entityId`, so that every fiscal record can be traced to its
//! entity without a join.
//!
//! Withholding follows the Mass surface's rate table: the rate depends on the kind of payment
//! and on the payee's filer status, which is read from the NTN. The arithmetic is exact: money
//! is counted in whole cents as `i128`, so no amount is ever a binary float and the only
//! rounding is the one the rule asks for.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use super::identity::{FilerStatus, check_ntn};
use super::{optional_str, required_str};
use crate::clock::now_rfc3339;
use crate::db::Record;
use crate::error::ApiError;
use crate::runtime::plan::Plan;
use crate::state::AppState;
use crate::surface::collections;

/// Prepare hook for `POST /account/create`: the treasury must exist, and the account belongs
/// to the treasury's entity.
pub async fn account_from_treasury(
    state: &AppState,
    plan: &Plan,
    record: &mut Record,
) -> Result<(), ApiError> {
    let treasury = fetch_parent(state, plan, record, "treasuryId", collections::TREASURIES).await?;
    inherit_entity(
        record,
        treasury.as_ref(),
        "treasuryId",
        "does not reference an existing treasury",
    )
}

/// Prepare hook for `POST /transaction/create/payment`: the source account must exist, and
/// the payment belongs to the account's entity.
pub async fn payment_from_account(
    state: &AppState,
    plan: &Plan,
    record: &mut Record,
) -> Result<(), ApiError> {
    let account = fetch_parent(state, plan, record, "accountId", collections::ACCOUNTS).await?;
    // The record key is `accountId`, but the client sent it as `sourceAccountId`; errors name
    // the key the client used.
    inherit_entity(
        record,
        account.as_ref(),
        "sourceAccountId",
        "does not reference an existing account",
    )
}

/// Loads the record that `record[key]` points to in `collection`, if there is one.
async fn fetch_parent(
    state: &AppState,
    plan: &Plan,
    record: &Record,
    key: &str,
    collection: &str,
) -> Result<Option<Record>, ApiError> {
    match record.get(key) {
        // Through the plan, so that a parent created earlier in the same request counts.
        Some(Value::String(id)) => plan.get(&state.db, collection, id).await,
        // A missing or non-string reference names no parent; `inherit_entity` says so.
        _ => Ok(None),
    }
}

/// Copies the parent's `entityId` into `record`, or refuses a reference to no parent as a
/// field error on `field`.
fn inherit_entity(
    record: &mut Record,
    parent: Option<&Record>,
    field: &str,
    message: &str,
) -> Result<(), ApiError> {
    let parent = parent.ok_or_else(|| ApiError::field(field, message))?;
    let entity_id = parent.get("entityId").cloned().unwrap_or(Value::Null);
    record.insert("entityId".to_owned(), entity_id);
    Ok(())
}

/// Route hook for `POST /withholding/compute`: a pure computation, nothing is stored.
pub async fn withholding_compute(
    _state: &AppState,
    _plan: &mut Plan,
    input: Record,
) -> Result<Value, ApiError> {
    withholding_answer(&input, &now_rfc3339())
}

/// The kinds of payment the rate table knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransactionType {
    Goods,
    Services,
    Salary,
}

impl TransactionType {
    const ALL: [Self; 3] = [Self::Goods, Self::Services, Self::Salary];

    fn as_str(self) -> &'static str {
        match self {
            Self::Goods => "payment_for_goods",
            Self::Services => "payment_for_services",
            Self::Salary => "salary_payment",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The withholding rate in tenths of a percent (45 is 4.5%).
    ///
    /// Tenths are the finest step in the table, so every rate is an exact integer here.
    fn rate_tenths(self, status: FilerStatus) -> i128 {
        use FilerStatus::{Filer, LateFiler, NonFiler};
        match (self, status) {
            (Self::Goods, Filer) => 45,
            (Self::Goods, LateFiler) => 65,
            (Self::Goods, NonFiler) => 90,
            (Self::Services, Filer) => 80,
            (Self::Services, LateFiler) => 120,
            (Self::Services, NonFiler) => 160,
            (Self::Salary, Filer) => 125,
            (Self::Salary, LateFiler) => 150,
            (Self::Salary, NonFiler) => 200,
        }
    }
}

/// The outcome of one withholding computation, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Withholding {
    gross_cents: i128,
    rate_tenths: i128,
    withholding_cents: i128,
    net_cents: i128,
}

/// Applies the rate to a gross amount.
///
/// The gross is first rounded to whole cents, because money moves in cents: the answer then
/// shows the gross that was actually taxed, and `net = gross - withholding` holds exactly for
/// the three amounts as printed. The withholding is rounded half away from zero, as the tax
/// rule asks; all amounts are non-negative, so that is the same as rounding half up.
fn compute(
    gross: Decimal,
    kind: TransactionType,
    status: FilerStatus,
) -> Result<Withholding, ApiError> {
    if gross < Decimal::ZERO {
        return Err(ApiError::field("transaction_amount", "must be at least 0"));
    }
    let gross_cents = to_cents(gross)?;
    let rate_tenths = kind.rate_tenths(status);
    // cents * tenths-of-a-percent / 1000 is the withholding in cents; adding 500 before the
    // integer division rounds a remainder of exactly one half upwards. A gross that fits a
    // Decimal is below 2^96 cents and the rate is at most 200, so none of this can overflow
    // an i128; the checked operations only keep that argument honest.
    let withholding_cents = gross_cents
        .checked_mul(rate_tenths)
        .and_then(|product| product.checked_add(500))
        .map(|product| product / 1000)
        .ok_or_else(too_large)?;
    let net_cents = gross_cents - withholding_cents;
    Ok(Withholding {
        gross_cents,
        rate_tenths,
        withholding_cents,
        net_cents,
    })
}

/// A non-negative amount as a whole number of cents, rounded half away from zero.
///
/// An amount too large to be written with two decimals (beyond about 7.9e26) is refused
/// here, so that every amount derived from it can be shown.
fn to_cents(amount: Decimal) -> Result<i128, ApiError> {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    // After rounding the scale is at most 2, so scaling the mantissa up to exactly two
    // decimals is a multiplication by 1, 10 or 100.
    let missing_digits = 2u32.saturating_sub(rounded.scale());
    let cents = rounded
        .mantissa()
        .checked_mul(10i128.pow(missing_digits))
        .ok_or_else(too_large)?;
    format_cents(cents)?;
    Ok(cents)
}

/// Cents as a decimal string with exactly two decimals (`450000` -> `"4500.00"`).
fn format_cents(cents: i128) -> Result<String, ApiError> {
    Decimal::try_from_i128_with_scale(cents, 2)
        .map(|amount| amount.to_string())
        .map_err(|_| too_large())
}

/// A rate in tenths of a percent as the shortest decimal (`90` -> `"9"`, `45` -> `"4.5"`).
fn format_rate(tenths: i128) -> Result<String, ApiError> {
    Decimal::try_from_i128_with_scale(tenths, 1)
        .map(|rate| rate.normalize().to_string())
        .map_err(ApiError::internal)
}

fn too_large() -> ApiError {
    ApiError::field("transaction_amount", "is too large")
}

/// Reads the gross amount, which the validator has checked is a decimal; a JSON number is
/// read through its decimal text so that no binary float is ever involved.
fn gross_input(input: &Record) -> Result<Decimal, ApiError> {
    let text = match input.get("transaction_amount") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        None | Some(Value::Null) => {
            return Err(ApiError::field("transaction_amount", "is required"));
        }
        Some(_) => return Err(not_a_decimal()),
    };
    Decimal::from_str(text.trim()).map_err(|_| not_a_decimal())
}

fn not_a_decimal() -> ApiError {
    ApiError::field("transaction_amount", "must be a decimal number")
}

/// The whole withholding answer for a validated request, stamped with `computed_at`.
fn withholding_answer(input: &Record, computed_at: &str) -> Result<Value, ApiError> {
    let entity_id = required_str(input, "entity_id")?;
    let gross = gross_input(input)?;
    let currency = optional_str(input, "currency")?.unwrap_or("PKR");
    let kind_text = optional_str(input, "transaction_type")?.unwrap_or("payment_for_goods");
    let kind = TransactionType::parse(kind_text).ok_or_else(|| {
        ApiError::field(
            "transaction_type",
            "must be one of payment_for_goods, payment_for_services, salary_payment",
        )
    })?;
    // An empty NTN means "none given" (a non-filer); any other NTN must be well formed, since
    // its first digit decides the rate.
    let ntn = optional_str(input, "ntn")?.filter(|ntn| !ntn.is_empty());
    if let Some(ntn) = ntn {
        check_ntn(ntn)?;
    }
    let status = FilerStatus::from_ntn(ntn);
    let result = compute(gross, kind, status)?;
    Ok(json!({
        "entity_id": entity_id,
        "gross_amount": format_cents(result.gross_cents)?,
        "withholding_amount": format_cents(result.withholding_cents)?,
        "withholding_rate": format_rate(result.rate_tenths)?,
        "net_amount": format_cents(result.net_cents)?,
        "currency": currency,
        "withholding_type": kind.as_str(),
        "ntn_status": status.as_str(),
        // No Active Taxpayer List is connected: the status is the mock's first-digit guess.
        "ntn_status_mock": true,
        "computed_at": computed_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_error, record};
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap_or_else(|err| panic!("bad test decimal {text}: {err}"))
    }

    /// Runs the computation and renders it as (gross, withholding, rate, net) strings.
    fn run(gross: &str, kind: TransactionType, status: FilerStatus) -> [String; 4] {
        let result = compute(dec(gross), kind, status).unwrap_or_else(|err| panic!("{err:?}"));
        let render = |cents| format_cents(cents).unwrap_or_else(|err| panic!("{err:?}"));
        [
            render(result.gross_cents),
            render(result.withholding_cents),
            format_rate(result.rate_tenths).unwrap_or_else(|err| panic!("{err:?}")),
            render(result.net_cents),
        ]
    }

    #[test]
    fn every_cell_of_the_rate_table_applies_to_a_round_gross() {
        use FilerStatus::{Filer, LateFiler, NonFiler};
        use TransactionType::{Goods, Salary, Services};
        let table = [
            (Goods, Filer, "4.5", "4500.00", "95500.00"),
            (Goods, LateFiler, "6.5", "6500.00", "93500.00"),
            (Goods, NonFiler, "9", "9000.00", "91000.00"),
            (Services, Filer, "8", "8000.00", "92000.00"),
            (Services, LateFiler, "12", "12000.00", "88000.00"),
            (Services, NonFiler, "16", "16000.00", "84000.00"),
            (Salary, Filer, "12.5", "12500.00", "87500.00"),
            (Salary, LateFiler, "15", "15000.00", "85000.00"),
            (Salary, NonFiler, "20", "20000.00", "80000.00"),
        ];
        for (kind, status, rate, withheld, net) in table {
            assert_eq!(
                run("100000", kind, status),
                ["100000.00", withheld, rate, net].map(str::to_owned),
                "{kind:?} / {status:?}"
            );
        }
    }

    #[test]
    fn a_single_cent_withholds_nothing() {
        assert_eq!(
            run("0.01", TransactionType::Salary, FilerStatus::NonFiler),
            ["0.01", "0.00", "20", "0.01"].map(str::to_owned)
        );
    }

    #[test]
    fn the_gross_is_rounded_to_cents_half_away_from_zero_before_it_is_taxed() {
        // 123.455 -> 123.46; 123.46 * 4.5% = 5.5557 -> 5.56.
        assert_eq!(
            run("123.455", TransactionType::Goods, FilerStatus::Filer),
            ["123.46", "5.56", "4.5", "117.90"].map(str::to_owned)
        );
        assert_eq!(
            run("123.454999", TransactionType::Goods, FilerStatus::Filer),
            ["123.45", "5.56", "4.5", "117.89"].map(str::to_owned)
        );
    }

    #[test]
    fn an_exact_half_cent_of_withholding_rounds_up() {
        // 0.10 * 4.5% = 0.0045 (down); 1.00 * 12.5% = 0.125 (a tie, away from zero).
        assert_eq!(
            run("0.10", TransactionType::Goods, FilerStatus::Filer)[1],
            "0.00"
        );
        assert_eq!(
            run("1.00", TransactionType::Salary, FilerStatus::Filer)[1],
            "0.13"
        );
        assert_eq!(
            run("0.30", TransactionType::Goods, FilerStatus::LateFiler)[1],
            "0.02"
        );
    }

    #[test]
    fn large_amounts_stay_exact() {
        // 1000000000.99 * 4.5% = 45000000.04455 -> 45000000.04.
        assert_eq!(
            run("1000000000.99", TransactionType::Goods, FilerStatus::Filer),
            ["1000000000.99", "45000000.04", "4.5", "955000000.95"].map(str::to_owned)
        );
        // The largest Decimal has no room for two more digits, so it cannot be shown in cents.
        let result = compute(Decimal::MAX, TransactionType::Salary, FilerStatus::NonFiler);
        assert_eq!(
            field_error(result),
            ("transaction_amount".to_owned(), "is too large".to_owned())
        );
    }

    #[test]
    fn zero_and_negative_zero_withhold_nothing() {
        assert_eq!(
            run("0", TransactionType::Goods, FilerStatus::Filer),
            ["0.00", "0.00", "4.5", "0.00"].map(str::to_owned)
        );
        assert_eq!(
            run("-0.00", TransactionType::Goods, FilerStatus::Filer),
            ["0.00", "0.00", "4.5", "0.00"].map(str::to_owned)
        );
    }

    #[test]
    fn a_negative_gross_is_refused() {
        let result = compute(dec("-1"), TransactionType::Goods, FilerStatus::Filer);
        assert_eq!(
            field_error(result),
            (
                "transaction_amount".to_owned(),
                "must be at least 0".to_owned()
            )
        );
    }

    #[test]
    fn rates_are_shown_in_their_shortest_form() {
        let shown: Vec<String> = [45, 90, 120, 125, 200]
            .into_iter()
            .map(|tenths| format_rate(tenths).unwrap_or_else(|err| panic!("{err:?}")))
            .collect();
        assert_eq!(shown, ["4.5", "9", "12", "12.5", "20"]);
    }

    #[test]
    fn the_answer_has_every_field_in_snake_case() {
        let input = record(json!({
            "entity_id": "7f1c4a52-3c1e-4a8e-9a59-3f5b8f0e2a10",
            "transaction_amount": "100000",
            "currency": "PKR",
            "transaction_type": "payment_for_goods",
            "ntn": "1234567",
            "jurisdiction_id": null,
        }));
        let answer = withholding_answer(&input, "2026-11-25T10:00:00.000Z");
        assert_eq!(
            answer.unwrap_or_else(|err| panic!("{err:?}")),
            json!({
                "entity_id": "7f1c4a52-3c1e-4a8e-9a59-3f5b8f0e2a10",
                "gross_amount": "100000.00",
                "withholding_amount": "4500.00",
                "withholding_rate": "4.5",
                "net_amount": "95500.00",
                "currency": "PKR",
                "withholding_type": "payment_for_goods",
                "ntn_status": "Filer",
                "ntn_status_mock": true,
                "computed_at": "2026-11-25T10:00:00.000Z",
            })
        );
    }

    #[test]
    fn the_ntn_picks_the_rate_and_absent_or_empty_means_non_filer() {
        let status_for = |ntn: Value| {
            let input = record(json!({
                "entity_id": "7f1c4a52-3c1e-4a8e-9a59-3f5b8f0e2a10",
                "transaction_amount": "10",
                "transaction_type": "payment_for_services",
                "ntn": ntn,
            }));
            let answer = withholding_answer(&input, "t").unwrap_or_else(|err| panic!("{err:?}"));
            (
                answer["ntn_status"].clone(),
                answer["withholding_rate"].clone(),
            )
        };
        assert_eq!(status_for(json!("1234567")), (json!("Filer"), json!("8")));
        assert_eq!(
            status_for(json!("9234567")),
            (json!("LateFiler"), json!("12"))
        );
        assert_eq!(
            status_for(json!("0234567")),
            (json!("NonFiler"), json!("16"))
        );
        assert_eq!(status_for(json!("")), (json!("NonFiler"), json!("16")));
        assert_eq!(status_for(Value::Null), (json!("NonFiler"), json!("16")));
    }

    #[test]
    fn defaults_apply_when_the_optional_fields_are_absent() {
        let input = record(json!({
            "entity_id": "7f1c4a52-3c1e-4a8e-9a59-3f5b8f0e2a10",
            "transaction_amount": "200",
        }));
        let answer = withholding_answer(&input, "t").unwrap_or_else(|err| panic!("{err:?}"));
        assert_eq!(answer["currency"], "PKR");
        assert_eq!(answer["withholding_type"], "payment_for_goods");
        assert_eq!(answer["withholding_amount"], "18.00");
    }

    #[test]
    fn a_malformed_ntn_or_amount_or_type_is_a_field_error() {
        let base = json!({
            "entity_id": "7f1c4a52-3c1e-4a8e-9a59-3f5b8f0e2a10",
            "transaction_amount": "10",
        });
        let with = |key: &str, value: Value| {
            let mut input = record(base.clone());
            input.insert(key.to_owned(), value);
            field_error(withholding_answer(&input, "t")).0
        };
        assert_eq!(with("ntn", json!("123")), "ntn");
        assert_eq!(with("ntn", json!("12345678")), "ntn");
        assert_eq!(
            with("transaction_amount", json!("ten")),
            "transaction_amount"
        );
        assert_eq!(
            with("transaction_amount", json!(true)),
            "transaction_amount"
        );
        assert_eq!(with("transaction_type", json!("rent")), "transaction_type");
    }

    #[test]
    fn a_numeric_amount_is_read_through_its_decimal_text() {
        let input = record(json!({
            "entity_id": "7f1c4a52-3c1e-4a8e-9a59-3f5b8f0e2a10",
            "transaction_amount": 100000,
        }));
        let answer = withholding_answer(&input, "t").unwrap_or_else(|err| panic!("{err:?}"));
        assert_eq!(answer["gross_amount"], "100000.00");
    }

    #[test]
    fn inheriting_copies_the_parent_entity() {
        let mut account = record(json!({"treasuryId": "t", "entityId": null}));
        let treasury = record(json!({"id": "t", "entityId": "e-1"}));
        let result = inherit_entity(&mut account, Some(&treasury), "treasuryId", "missing");
        assert!(result.is_ok());
        assert_eq!(account["entityId"], "e-1");
    }

    #[test]
    fn inheriting_from_no_parent_is_a_field_error_on_the_request_key() {
        let mut payment = record(json!({"accountId": "a", "entityId": null}));
        let result = inherit_entity(
            &mut payment,
            None,
            "sourceAccountId",
            "does not reference an existing account",
        );
        assert_eq!(
            field_error(result),
            (
                "sourceAccountId".to_owned(),
                "does not reference an existing account".to_owned()
            )
        );
        assert_eq!(payment["entityId"], Value::Null);
    }
}
