// SPDX-License-Identifier: BUSL-1.1
//! Every `/v1` write kind, sent once to a zone: the requests, in an order that gives each its
//! prerequisites, and the envelopes they answer with (checked by [`assert_envelope`]).
//!
//! The credential tests (the zone's own verifier, the W3C reference verifier) use the same
//! list, so a `/v1` write added to the spec is added here once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::v1::{Envelope, assert_envelope};
use crate::zone::TestZone;

/// The number of `/v1` write routes [`every_write`] exercises.
pub const WRITE_KINDS: usize = 9;

/// A `/v1` write: its name for messages, and its request.
pub struct Write {
    pub name: &'static str,
    pub method: Method,
    pub path: String,
    pub body: Value,
    pub status: u16,
    pub credential_type: &'static str,
    pub domains: &'static [&'static str],
}

pub async fn send(zone: &TestZone, write: Write) -> (&'static str, Envelope) {
    let (status, answer) = zone
        .request(write.method.clone(), &write.path, Some(write.body))
        .await;
    assert_eq!(
        status, write.status,
        "{} {} {}: {answer}",
        write.name, write.method, write.path
    );
    let envelope = assert_envelope(&answer, write.credential_type, write.domains);
    (write.name, envelope)
}

pub fn create_entity(legal_name: &str) -> Write {
    Write {
        name: "entity create",
        method: Method::POST,
        path: "/v1/entities".into(),
        body: json!({"entity_type": "PRIVATE_LIMITED", "legal_name": legal_name,
                     "jurisdiction_id": "PK"}),
        status: 201,
        credential_type: "MezFormationComplianceCredential",
        domains: &["aml", "kyc", "sanctions", "tax", "corporate", "licensing"],
    }
}

pub fn open_account(entity_id: &str) -> Write {
    Write {
        name: "account",
        method: Method::POST,
        path: "/v1/fiscal/accounts".into(),
        body: json!({"entity_id": entity_id, "account_type": "Operating", "currency": "PKR"}),
        status: 201,
        credential_type: "MezFiscalComplianceCredential",
        domains: &["aml", "kyc", "sanctions", "tax", "banking"],
    }
}

/// Runs every `/v1` write once, in an order that gives each its prerequisites, and returns
/// each write's envelope.
pub async fn every_write(zone: &TestZone) -> Vec<(&'static str, Envelope)> {
    let mut out = Vec::new();
    let entity = send(zone, create_entity("Credential Works (Pvt) Ltd")).await;
    let entity_id = entity.1.resource_id.clone();
    out.push(entity);
    out.push(
        send(
            zone,
            Write {
                name: "entity update",
                method: Method::PUT,
                path: format!("/v1/entities/{entity_id}"),
                body: json!({"legal_name": "Credential Works Holdings Ltd"}),
                status: 200,
                credential_type: "MezFormationComplianceCredential",
                domains: &["aml", "kyc", "sanctions", "tax", "corporate", "licensing"],
            },
        )
        .await,
    );
    out.push(
        send(
            zone,
            Write {
                name: "cap table",
                method: Method::POST,
                path: "/v1/ownership/cap-tables".into(),
                body: json!({"entity_id": entity_id,
                             "share_classes": [{"name": "Ordinary", "authorized_shares": 500_000,
                                                "issued_shares": 100_000, "par_value": "10.00",
                                                "voting_rights": true}]}),
                status: 201,
                credential_type: "MezOwnershipComplianceCredential",
                domains: &["aml", "kyc", "sanctions", "securities", "corporate"],
            },
        )
        .await,
    );
    let account = send(zone, open_account(&entity_id)).await;
    let account_id = account.1.resource_id.clone();
    out.push(account);
    out.push(
        send(
            zone,
            Write {
                name: "payment",
                method: Method::POST,
                path: "/v1/fiscal/payments".into(),
                body: json!({"from_account_id": account_id, "amount": "9999.99",
                             "currency": "PKR", "reference": "CRED-1"}),
                status: 201,
                credential_type: "MezPaymentComplianceCredential",
                domains: &["aml", "sanctions", "tax", "payments", "banking"],
            },
        )
        .await,
    );
    let identity_domains: &'static [&'static str] = &["kyc", "sanctions", "data_privacy"];
    out.push(
        send(
            zone,
            Write {
                name: "identity verify",
                method: Method::POST,
                path: "/v1/identity/verify".into(),
                body: json!({"identity_type": "INDIVIDUAL", "full_name": "Sana Mirza",
                             "entity_id": entity_id,
                             "linked_ids": [{"id_type": "CNIC", "id_value": "61101-7654321-2"}]}),
                status: 200,
                credential_type: "MezIdentityComplianceCredential",
                domains: identity_domains,
            },
        )
        .await,
    );
    out.push(
        send(
            zone,
            Write {
                name: "cnic verify",
                method: Method::POST,
                path: "/v1/identity/cnic/verify".into(),
                body: json!({"cnic": "6110176543212", "full_name": "Sana Mirza",
                             "entity_id": entity_id}),
                status: 200,
                credential_type: "MezIdentityComplianceCredential",
                domains: identity_domains,
            },
        )
        .await,
    );
    out.push(
        send(
            zone,
            Write {
                name: "ntn verify",
                method: Method::POST,
                path: "/v1/identity/ntn/verify".into(),
                body: json!({"ntn": "4455667", "entity_name": "Credential Works Holdings Ltd",
                             "entity_id": entity_id}),
                status: 200,
                credential_type: "MezIdentityComplianceCredential",
                domains: identity_domains,
            },
        )
        .await,
    );
    out.push(
        send(
            zone,
            Write {
                name: "consent",
                method: Method::POST,
                path: "/v1/consent".into(),
                body: json!({"consent_type": "CREATE_OPTIONS_POOL",
                             "description": "An options pool of 5% for staff",
                             "parties": [{"entity_id": entity_id, "role": "issuer"}]}),
                status: 201,
                credential_type: "MezConsentComplianceCredential",
                domains: &["aml", "sanctions", "corporate"],
            },
        )
        .await,
    );
    out
}
