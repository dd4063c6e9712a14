// SPDX-License-Identifier: BUSL-1.1
//! Mass hooks of the `/v1` surface: operations that take more than one Mass call.
//!
//! Each runs over a generated view of the request's [`crate::mass::MassCall`] that offers a
//! typed method for exactly the routes `spec/zone.yaml` lists under the hook's `mass_hooks`
//! entry, so it is the same code in both modes: a sovereign zone plans the calls against its
//! own store (committed together with the attestation and audit event), a proxy zone sends them
//! upstream and holds each answer to its spec type. They fix the earlier implementation's shortcuts
//! (reference §12.16, §12.21): an account is opened in the entity's own treasury (found or
//! created, never the entity id passed as a treasury id), a payment must come from an
//! existing account in its currency, and it records its withholding tax event against the
//! account's real entity.

use std::collections::BTreeMap;

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::required_str;
use crate::db::Record;
use crate::error::{ApiError, ConflictKind};
use crate::mass::Found;
use crate::surface::mass_hooks::{InitiatePayment, OpenAccount, VerifyIdentity};

/// `POST /v1/fiscal/accounts`: an account in the entity's treasury, creating the treasury on
/// the entity's first account.
pub async fn open_account(
    mut mass: OpenAccount<'_, '_>,
    request: &Record,
) -> Result<Value, ApiError> {
    let entity_id = required_str(request, "entity_id")?;
    let organization = mass
        .get_organization(entity_id)
        .await
        .found()?
        .ok_or_else(|| {
            ApiError::field("entity_id", "does not reference an existing organization")
        })?;
    let treasury = match mass.get_treasury_by_entity(entity_id).await.found()? {
        Some(treasury) => treasury.data,
        None => {
            let body = json!({
                "entityId": entity_id,
                "entityName": organization.data.name,
                "context": "MASS",
            });
            mass.create_treasury(body).await?.data
        }
    };
    let mut query = BTreeMap::new();
    query.insert("treasuryId".to_string(), treasury.id);
    query.insert(
        "idempotencyKey".to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    query.insert(
        "name".to_string(),
        required_str(request, "account_type")?.to_string(),
    );
    query.insert(
        "currency".to_string(),
        required_str(request, "currency")?.to_string(),
    );
    Ok(mass.create_account(query).await?.json)
}

/// The Pakistani fiscal year (July to June) a date falls in: `2025-2026`.
pub fn fiscal_year(year: i32, month: u8) -> String {
    if month >= 7 {
        format!("{year}-{}", year + 1)
    } else {
        format!("{}-{year}", year - 1)
    }
}

/// `POST /v1/fiscal/payments`: a payment from an existing account in its own currency, and
/// the withholding tax event it gives rise to for the account's entity.
pub async fn initiate_payment(
    mut mass: InitiatePayment<'_, '_>,
    request: &Record,
) -> Result<Value, ApiError> {
    let account_id = required_str(request, "from_account_id")?;
    let account = mass.get_account(account_id).await.found()?.ok_or_else(|| {
        ApiError::field("from_account_id", "does not reference an existing account")
    })?;
    let currency = required_str(request, "currency")?;
    if let Some(own) = &account.data.currency {
        if !own.eq_ignore_ascii_case(currency) {
            return Err(ApiError::field(
                "currency",
                format!("does not match the account's currency ({own})"),
            ));
        }
    }
    let amount = required_str(request, "amount")?;
    let payment = mass
        .create_payment(json!({
            "sourceAccountId": account_id,
            "amount": amount,
            "currency": currency,
            "reference": request.get("reference").cloned().unwrap_or(Value::Null),
        }))
        .await?;
    let Some(entity_id) = account.data.entity_id.as_deref() else {
        return Err(ApiError::conflict(
            ConflictKind::State,
            format!(
                "account {account_id} belongs to no entity, so its payment's tax cannot be recorded"
            ),
        ));
    };
    let withholding = mass
        .compute_withholding(json!({
            "entity_id": entity_id,
            "transaction_amount": amount,
            "currency": currency,
            "transaction_type": "payment_for_goods",
            "ntn": request.get("ntn").cloned().unwrap_or(Value::Null),
        }))
        .await?;
    let today = time::OffsetDateTime::now_utc();
    let tax_year = fiscal_year(today.year(), u8::from(today.month()));
    let withheld = withholding
        .json
        .get("withholding_amount")
        .and_then(Value::as_str)
        .and_then(|a| Decimal::from_str(a).ok())
        .unwrap_or_default();
    let cumulative = crate::metrics::stage(
        "policy",
        keep_withholding_total(&mut mass, entity_id, &tax_year, withheld),
    )
    .await?;
    // For the withholding_due trigger (spec: the route's `fires`).
    mass.output_entity_id(json!(entity_id));
    mass.output_filer_status(json!(filer_status(&withholding.data.ntn_status)));
    mass.output_cumulative_withholding(json!(cumulative.to_string()));
    mass.create_tax_event(json!({
        "entity_id": entity_id,
        "event_type": "WITHHOLDING_AT_SOURCE",
        "amount": withholding.json.get("withholding_amount").cloned().unwrap_or(json!("0.00")),
        "currency": currency,
        "tax_year": tax_year,
        "source_transaction_id": payment.data.id,
        // The rate follows a filer status the mock guessed; the event says so.
        "details": {
            "withholding": withholding.json,
            "mock": withholding.data.ntn_status_mock,
        },
    }))
    .await?;
    Ok(payment.json)
}

/// The filer status of a withholding computation (`Filer`, `LateFiler`, `NonFiler`) in the
/// policy engine's words (`filer`, `late_filer`, `non_filer`).
fn filer_status(ntn_status: &str) -> String {
    let mut out = String::new();
    for (i, c) in ntn_status.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The entity's withholding in the tax year with this payment's `withheld` added. The zone
/// keeps it as a running total (the hook's `withholding_totals`), to which the payment's own
/// commit adds `withheld`, so a concurrent payment of the same entity neither conflicts nor
/// is lost (the figure handed to the trigger may miss one still committing, as a sum read
/// before the commit would). The first payment of an entity in a tax year seeds the total
/// from the tax events recorded so far (an older zone's, or ones recorded directly).
async fn keep_withholding_total(
    mass: &mut InitiatePayment<'_, '_>,
    entity_id: &str,
    tax_year: &str,
    withheld: Decimal,
) -> Result<Decimal, ApiError> {
    let key = format!("{entity_id}/{tax_year}");
    let before = match mass.read_withholding_totals(&key).await? {
        Some(total) => total
            .get("total")
            .and_then(Value::as_str)
            .and_then(|a| Decimal::from_str(a).ok())
            .ok_or_else(|| {
                ApiError::internal(format!("the withholding total {key} holds no amount"))
            })?,
        None => withheld_in(mass, entity_id, tax_year).await?,
    };
    let cumulative = before + withheld;
    let mut seed = Record::new();
    seed.insert("entity_id".into(), json!(entity_id));
    seed.insert("tax_year".into(), json!(tax_year));
    seed.insert("total".into(), json!(cumulative.to_string()));
    mass.add_to_withholding_totals(&key, ("total", withheld), seed);
    Ok(cumulative)
}

/// The tax an entity had withheld at source in a tax year, over its recorded tax events.
async fn withheld_in(
    mass: &mut InitiatePayment<'_, '_>,
    entity_id: &str,
    tax_year: &str,
) -> Result<Decimal, ApiError> {
    const SIZE: usize = 1000;
    let mut total = Decimal::ZERO;
    for page in 0.. {
        let mut query = BTreeMap::new();
        query.insert("entity_id".to_string(), entity_id.to_string());
        query.insert("tax_year".to_string(), tax_year.to_string());
        query.insert("page".to_string(), page.to_string());
        query.insert("size".to_string(), SIZE.to_string());
        let events = mass.list_tax_events(query).await?.data;
        for event in &events {
            if event.event_type == "WITHHOLDING_AT_SOURCE" {
                total += Decimal::from_str(&event.amount).unwrap_or_default();
            }
        }
        if events.len() < SIZE {
            break;
        }
    }
    Ok(total)
}

/// `POST /v1/identity/verify`: the check the first linked id asks for (CNIC or NTN).
pub async fn verify_identity(
    mut mass: VerifyIdentity<'_, '_>,
    request: &Record,
) -> Result<Value, ApiError> {
    let first = request
        .get("linked_ids")
        .and_then(Value::as_array)
        .and_then(|ids| ids.first())
        .ok_or_else(|| {
            ApiError::field("linked_ids", "must hold at least one {id_type, id_value}")
        })?;
    let id_type = first
        .get("id_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id_value = first
        .get("id_value")
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::field("linked_ids[0].id_value", "must be a non-empty string"))?;
    let name = request.get("full_name").cloned().unwrap_or(Value::Null);
    let entity_id = request.get("entity_id").cloned().unwrap_or(Value::Null);
    match id_type.to_ascii_uppercase().as_str() {
        "CNIC" => Ok(mass
            .verify_cnic(json!({ "cnic": id_value, "full_name": name, "entity_id": entity_id }))
            .await?
            .json),
        "NTN" => Ok(mass
            .verify_ntn(json!({ "ntn": id_value, "entity_name": name, "entity_id": entity_id }))
            .await?
            .json),
        other => Err(ApiError::field(
            "linked_ids[0].id_type",
            format!("unsupported identity type {other:?} (supported: CNIC, NTN)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::fiscal_year;

    #[test]
    fn fiscal_years_run_july_to_june() {
        assert_eq!(fiscal_year(2025, 7), "2025-2026");
        assert_eq!(fiscal_year(2026, 6), "2025-2026");
        assert_eq!(fiscal_year(2026, 1), "2025-2026");
    }
}
