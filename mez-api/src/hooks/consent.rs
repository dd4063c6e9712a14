// SPDX-License-Identifier: BUSL-1.1
//! Consent hooks: approve and reject votes on a pending consent.
//!
//! A vote is one atomic read-modify-write of the consent record, so concurrent votes (on one
//! replica or several) are each counted exactly once. Only a `PENDING` consent takes votes:
//! the earlier implementation let a cancelled or rejected consent be approved later, and never
//! recorded the votes it counted. Here every vote is appended to `votes`, and the consent is
//! decided as soon as either count reaches `numVotesRequired`.

use serde_json::{Value, json};

use crate::clock::now_rfc3339;
use crate::db::Record;
use crate::error::{ApiError, ConflictKind};
use crate::runtime::plan::Plan;
use crate::state::AppState;
use crate::surface::collections;

/// Who a vote is recorded for. The direct surface is reached only with the zone's bearer
/// token, which carries no finer identity, so the voter is the zone's administrator.
const VOTER: &str = "zone-admin";

/// The two ways to vote; each is also the status a consent reaches when its count is met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Vote {
    Approve,
    Reject,
}

impl Vote {
    /// The value of `vote` in the answer, and the status the consent is decided to.
    fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "APPROVED",
            Self::Reject => "REJECTED",
        }
    }

    /// The record's counter that this vote increments.
    fn counter(self) -> &'static str {
        match self {
            Self::Approve => "approvalCount",
            Self::Reject => "rejectionCount",
        }
    }
}

/// Route hook for `POST /consents/approve/{id}`.
pub async fn consent_approve(
    state: &AppState,
    plan: &mut Plan,
    id: String,
) -> Result<Value, ApiError> {
    cast(state, plan, &id, Vote::Approve).await
}

/// Route hook for `POST /consents/reject/{id}`.
pub async fn consent_reject(
    state: &AppState,
    plan: &mut Plan,
    id: String,
) -> Result<Value, ApiError> {
    cast(state, plan, &id, Vote::Reject).await
}

/// Records one vote on the consent `id` and answers with the vote.
async fn cast(state: &AppState, plan: &mut Plan, id: &str, vote: Vote) -> Result<Value, ApiError> {
    // The vote is planned against the version read here; if another vote commits first, the
    // commit refuses this one and the whole request is planned again from a fresh read.
    let now = now_rfc3339();
    let (mut consent, version) = plan
        .get_versioned(&state.db, collections::CONSENTS, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("consent {id} not found")))?;
    apply_vote(&mut consent, id, vote, &now)?;
    let answer = vote_answer(&consent, id, vote, &now);
    plan.replace(collections::CONSENTS, id, consent, version);
    Ok(answer)
}

/// Applies one vote to a consent record, or refuses it if the consent is already decided.
///
/// Pure, so that it can run again on a fresh copy of the record when a concurrent write wins.
fn apply_vote(consent: &mut Record, id: &str, vote: Vote, now: &str) -> Result<(), ApiError> {
    let status = consent
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN");
    if status != "PENDING" {
        return Err(ApiError::conflict(
            ConflictKind::State,
            format!("consent {id} is {status} and cannot be voted on"),
        ));
    }
    let required = match consent.get("numVotesRequired") {
        // A consent that does not say how many votes it needs is decided by the first one.
        None | Some(Value::Null) => 1,
        Some(value) => value
            .as_u64()
            .ok_or_else(|| corrupt(id, "numVotesRequired"))?,
    };
    let count = match consent.get(vote.counter()) {
        None | Some(Value::Null) => 0,
        Some(value) => value.as_u64().ok_or_else(|| corrupt(id, vote.counter()))?,
    }
    .checked_add(1)
    .ok_or_else(|| corrupt(id, vote.counter()))?;

    let entry = json!({ "vote": vote.as_str(), "votedBy": VOTER, "createdAt": now });
    match consent.get_mut("votes") {
        Some(Value::Array(votes)) => votes.push(entry),
        None | Some(Value::Null) => {
            consent.insert("votes".to_owned(), Value::Array(vec![entry]));
        }
        Some(_) => return Err(corrupt(id, "votes")),
    }
    consent.insert(vote.counter().to_owned(), json!(count));
    if count >= required {
        consent.insert("status".to_owned(), json!(vote.as_str()));
    }
    consent.insert("updatedAt".to_owned(), json!(now));
    Ok(())
}

/// A stored consent whose field does not have the type the spec gives it. The client cannot
/// fix that, so it is a server error, logged and not explained.
fn corrupt(id: &str, field: &str) -> ApiError {
    ApiError::internal(format!("consent {id} has an invalid {field}"))
}

/// The answer to a vote, read from the consent as the vote left it.
fn vote_answer(consent: &Record, id: &str, vote: Vote, now: &str) -> Value {
    let field = |key: &str| consent.get(key).cloned().unwrap_or(Value::Null);
    let status = consent.get("status").and_then(Value::as_str);
    json!({
        "consentId": id,
        "operationId": field("operationId"),
        "organizationId": field("organizationId"),
        "vote": vote.as_str(),
        "votedBy": VOTER,
        "operationType": field("operationType"),
        "majorityReached": status == Some(vote.as_str()),
        "createdAt": now,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::record;
    use super::*;

    const ID: &str = "c0c0a000-1111-4222-8333-444455556666";
    const NOW: &str = "2026-11-25T10:00:00.000Z";

    fn pending(required: Value) -> Record {
        record(json!({
            "id": ID,
            "organizationId": "0a0b0c0d-0000-4000-8000-000000000001",
            "operationId": "0a0b0c0d-0000-4000-8000-000000000002",
            "operationType": "ISSUE_NEW_SHARES",
            "status": "PENDING",
            "votes": [],
            "numVotesRequired": required,
            "approvalCount": 0,
            "rejectionCount": 0,
            "requestedBy": "board",
            "createdAt": "2026-11-25T09:00:00.000Z",
            "updatedAt": "2026-11-25T09:00:00.000Z",
        }))
    }

    fn vote_on(consent: &mut Record, vote: Vote) {
        apply_vote(consent, ID, vote, NOW).unwrap_or_else(|err| panic!("{err:?}"));
    }

    #[test]
    fn one_approval_decides_a_consent_that_needs_no_stated_count() {
        let mut consent = pending(Value::Null);
        vote_on(&mut consent, Vote::Approve);
        assert_eq!(consent["status"], "APPROVED");
        assert_eq!(consent["approvalCount"], 1);
        assert_eq!(consent["rejectionCount"], 0);
        assert_eq!(
            consent["votes"],
            json!([{ "vote": "APPROVED", "votedBy": "zone-admin", "createdAt": NOW }])
        );
        assert_eq!(consent["updatedAt"], NOW);
    }

    #[test]
    fn a_consent_stays_pending_until_the_required_count_is_reached() {
        let mut consent = pending(json!(3));
        vote_on(&mut consent, Vote::Approve);
        vote_on(&mut consent, Vote::Reject);
        vote_on(&mut consent, Vote::Approve);
        assert_eq!(consent["status"], "PENDING");
        assert_eq!(consent["approvalCount"], 2);
        assert_eq!(consent["rejectionCount"], 1);
        assert_eq!(consent["votes"].as_array().map(Vec::len), Some(3));
        vote_on(&mut consent, Vote::Approve);
        assert_eq!(consent["status"], "APPROVED");
        assert_eq!(consent["approvalCount"], 3);
    }

    #[test]
    fn rejections_decide_a_consent_the_same_way() {
        let mut consent = pending(json!(2));
        vote_on(&mut consent, Vote::Reject);
        assert_eq!(consent["status"], "PENDING");
        vote_on(&mut consent, Vote::Reject);
        assert_eq!(consent["status"], "REJECTED");
        assert_eq!(consent["rejectionCount"], 2);
        assert_eq!(consent["approvalCount"], 0);
    }

    #[test]
    fn a_decided_or_cancelled_consent_takes_no_votes_and_is_left_unchanged() {
        for status in ["APPROVED", "REJECTED", "CANCELED", "EXPIRED"] {
            for vote in [Vote::Approve, Vote::Reject] {
                let mut consent = pending(Value::Null);
                consent.insert("status".to_owned(), json!(status));
                let before = consent.clone();
                match apply_vote(&mut consent, ID, vote, NOW) {
                    Err(ApiError::Conflict { message, .. }) => assert_eq!(
                        message,
                        format!("consent {ID} is {status} and cannot be voted on")
                    ),
                    other => panic!("expected a conflict for {status}, got {other:?}"),
                }
                assert_eq!(consent, before);
            }
        }
    }

    #[test]
    fn a_second_vote_after_the_decision_is_a_conflict() {
        let mut consent = pending(Value::Null);
        vote_on(&mut consent, Vote::Reject);
        assert!(matches!(
            apply_vote(&mut consent, ID, Vote::Approve, NOW),
            Err(ApiError::Conflict { .. })
        ));
        assert_eq!(consent["status"], "REJECTED");
    }

    #[test]
    fn missing_counters_and_votes_start_from_zero() {
        let mut consent = pending(Value::Null);
        consent.remove("votes");
        consent.remove("approvalCount");
        vote_on(&mut consent, Vote::Approve);
        assert_eq!(consent["approvalCount"], 1);
        assert_eq!(consent["votes"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn a_corrupt_record_is_an_internal_error_not_a_vote() {
        let mut consent = pending(json!("three"));
        let before = consent.clone();
        assert!(matches!(
            apply_vote(&mut consent, ID, Vote::Approve, NOW),
            Err(ApiError::Internal(_))
        ));
        assert_eq!(consent, before);
    }

    #[test]
    fn the_answer_reports_whether_the_vote_decided_the_consent() {
        let mut consent = pending(json!(2));
        vote_on(&mut consent, Vote::Approve);
        assert_eq!(
            vote_answer(&consent, ID, Vote::Approve, NOW),
            json!({
                "consentId": ID,
                "operationId": "0a0b0c0d-0000-4000-8000-000000000002",
                "organizationId": "0a0b0c0d-0000-4000-8000-000000000001",
                "vote": "APPROVED",
                "votedBy": "zone-admin",
                "operationType": "ISSUE_NEW_SHARES",
                "majorityReached": false,
                "createdAt": NOW,
            })
        );
        vote_on(&mut consent, Vote::Approve);
        assert_eq!(
            vote_answer(&consent, ID, Vote::Approve, NOW)["majorityReached"],
            true
        );
    }
}
