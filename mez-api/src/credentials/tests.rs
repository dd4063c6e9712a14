// SPDX-License-Identifier: BUSL-1.1
//! Unit tests of issuance and verification: an issued credential verifies, and any change to
//! it, or any claim that someone else issued it, does not.

use super::*;

const NOW: &str = "2026-01-15T10:00:00.123Z";

fn key(seed: u8) -> ZoneKey {
    ZoneKey::from_signing_key(SigningKey::from_bytes(&[seed; 32]))
}

fn subject() -> Value {
    json!({
        "id": "urn:uuid:1b0e0f3a-7d4c-4f7e-9a55-2f5b2c7d9e10",
        "entity_reference": "org-42",
        "overall_status": "compliant",
        "passing_domains": ["aml", "kyc"],
        "domain_results": { "aml": "compliant", "kyc": "compliant" },
        "score": 0.75,
        "hard_blocks": [],
        "blocked": false,
    })
}

fn issued(key: &ZoneKey) -> Value {
    issue(
        key,
        "MezFormationComplianceCredential",
        subject(),
        Map::new(),
        NOW,
    )
    .unwrap()
}

/// A different value of the same JSON kind, so that a check on types cannot be what
/// catches the change. An array has its last item replaced rather than one appended,
/// because appending to `@context` is a change the cryptosuite allows (3.3.2).
fn altered(value: &Value) -> Value {
    match value {
        Value::Null => json!(0),
        Value::Bool(flag) => Value::Bool(!flag),
        Value::Number(number) => json!(number.as_f64().unwrap_or_default() + 1.0),
        Value::String(text) => Value::String(format!("{text}x")),
        Value::Array(items) => {
            let mut items = items.clone();
            items.pop();
            items.push(json!("https://example.org/extra"));
            Value::Array(items)
        }
        Value::Object(members) => {
            let mut members = members.clone();
            members.insert("extra".into(), json!(true));
            Value::Object(members)
        }
    }
}

fn assert_refused(credential: &Value, what: &str) {
    let outcome = verify(credential);
    assert!(!outcome.verified, "{what}: still verified");
    let reason = outcome.reason.unwrap_or_default();
    assert!(!reason.is_empty(), "{what}: no reason given");
}

#[test]
fn an_issued_credential_verifies() {
    let key = key(1);
    let credential = issued(&key);
    assert_eq!(verify(&credential), Verification::verified());
    assert_eq!(
        verify_with_key(&credential, &key.verifying_key()),
        Verification::verified()
    );
}

#[test]
fn an_issued_credential_has_the_vc_2_0_shape() {
    let key = key(2);
    let credential = issued(&key);
    assert_eq!(
        credential["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/undefined-terms/v2"
        ])
    );
    assert_eq!(
        credential["type"],
        json!(["VerifiableCredential", "MezFormationComplianceCredential"])
    );
    let id = credential["id"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(id.strip_prefix("urn:uuid:").unwrap()).unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    assert_eq!(credential["issuer"], json!(key.did()));
    assert_eq!(credential["validFrom"], json!(NOW));
    assert_eq!(credential["credentialSubject"], subject());

    let proof = &credential["proof"];
    assert_eq!(proof["type"], json!("DataIntegrityProof"));
    assert_eq!(proof["cryptosuite"], json!("eddsa-jcs-2022"));
    assert_eq!(proof["created"], json!(NOW));
    assert_eq!(
        proof["verificationMethod"],
        json!(key.verification_method())
    );
    assert_eq!(proof["proofPurpose"], json!("assertionMethod"));
    let proof_value = proof["proofValue"].as_str().unwrap();
    assert!(proof_value.starts_with('z'));
    assert_eq!(
        bs58::decode(&proof_value[1..]).into_vec().unwrap().len(),
        64
    );
    // 3.3.1 step 2: the proof carries the document's @context.
    assert_eq!(proof["@context"], credential["@context"]);
    assert_eq!(proof.as_object().unwrap().len(), 7);
}

#[test]
fn verification_answers_in_the_handler_shape() {
    let key = key(3);
    assert_eq!(
        serde_json::to_value(verify(&issued(&key))).unwrap(),
        json!({ "verified": true, "reason": null })
    );
    assert_eq!(
        serde_json::to_value(verify(&json!({ "issuer": key.did() }))).unwrap(),
        json!({ "verified": false, "reason": "proof is missing" })
    );
}

#[test]
fn a_credential_survives_a_round_trip_through_text_and_any_key_order() {
    let credential = issued(&key(4));
    let text = serde_json::to_string_pretty(&credential).unwrap();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert!(verify(&parsed).verified);

    // Reverse every object's key order: the canonical form, and so the proof, ignore it.
    fn reversed(value: &Value) -> Value {
        match value {
            Value::Object(members) => Value::Object(
                members
                    .iter()
                    .rev()
                    .map(|(key, member)| (key.clone(), reversed(member)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
            other => other.clone(),
        }
    }
    let shuffled = reversed(&credential);
    assert_ne!(
        serde_json::to_string(&shuffled).unwrap(),
        serde_json::to_string(&credential).unwrap()
    );
    assert!(verify(&shuffled).verified);
}

#[test]
fn changing_or_removing_any_top_level_field_fails() {
    let credential = issued(&key(5));
    let fields: Vec<String> = credential.as_object().unwrap().keys().cloned().collect();
    assert_eq!(fields.len(), 7);
    for field in fields {
        let mut changed = credential.clone();
        changed[&field] = altered(&credential[&field]);
        assert_refused(&changed, &format!("changed {field}"));

        let mut removed = credential.clone();
        removed.as_object_mut().unwrap().remove(&field);
        assert_refused(&removed, &format!("removed {field}"));
    }
    let mut added = credential.clone();
    added["validUntil"] = json!("2999-01-01T00:00:00Z");
    assert_refused(&added, "added validUntil");
}

#[test]
fn changing_or_removing_any_subject_field_fails() {
    let credential = issued(&key(6));
    let fields: Vec<String> = subject().as_object().unwrap().keys().cloned().collect();
    for field in fields {
        let mut changed = credential.clone();
        changed["credentialSubject"][&field] = altered(&credential["credentialSubject"][&field]);
        assert_refused(&changed, &format!("changed credentialSubject.{field}"));

        let mut removed = credential.clone();
        removed["credentialSubject"]
            .as_object_mut()
            .unwrap()
            .remove(&field);
        assert_refused(&removed, &format!("removed credentialSubject.{field}"));
    }
    let mut nested = credential.clone();
    nested["credentialSubject"]["domain_results"]["kyc"] = json!("non_compliant");
    assert_refused(&nested, "changed a nested subject value");
}

#[test]
fn changing_or_removing_any_proof_field_fails() {
    let credential = issued(&key(7));
    let fields: Vec<String> = credential["proof"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for field in fields {
        let mut changed = credential.clone();
        changed["proof"][&field] = altered(&credential["proof"][&field]);
        assert_refused(&changed, &format!("changed proof.{field}"));

        let mut removed = credential.clone();
        removed["proof"].as_object_mut().unwrap().remove(&field);
        assert_refused(&removed, &format!("removed proof.{field}"));
    }

    // A proof context the credential's does not start with is refused as such; without its
    // @context the proof is not what was signed (the verifier adds nothing back).
    let mut other = credential.clone();
    other["proof"]["@context"] = json!(["https://example.org/other/v1"]);
    assert_eq!(
        verify(&other),
        Verification::failed("proof context does not match the credential's context")
    );
    let mut removed = credential.clone();
    removed["proof"].as_object_mut().unwrap().remove("@context");
    assert_eq!(
        verify(&removed),
        Verification::failed("signature does not match")
    );
}

#[test]
fn a_context_may_be_extended_after_signing_but_not_changed() {
    let credential = issued(&key(21));
    let mut extended = credential.clone();
    extended["@context"]
        .as_array_mut()
        .unwrap()
        .push(json!("https://example.org/extra/v1"));
    assert_eq!(verify(&extended), Verification::verified());

    let mut shortened = credential.clone();
    shortened["@context"].as_array_mut().unwrap().pop();
    assert_eq!(
        verify(&shortened),
        Verification::failed("proof context does not match the credential's context")
    );
}

/// A credential as the previous release issued it: the VC 2.0 context alone, a proof without
/// `@context`, signed over a proof configuration that had the document's context added.
fn legacy_issued(key: &ZoneKey) -> Value {
    let mut unsigned = issued(key);
    let document = unsigned.as_object_mut().unwrap();
    document.remove("proof");
    document.insert("@context".into(), json!([CREDENTIALS_V2_CONTEXT]));
    let options = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": NOW,
        "verificationMethod": key.verification_method(),
        "proofPurpose": ASSERTION_METHOD,
    });
    let mut config = options.as_object().unwrap().clone();
    config.insert("@context".into(), json!([CREDENTIALS_V2_CONTEXT]));
    let signature = key
        .signing_key()
        .sign(&hash_data(document, &config).unwrap());
    let mut proof = options;
    proof["proofValue"] = json!(format!(
        "z{}",
        bs58::encode(signature.to_bytes()).into_string()
    ));
    let mut signed = Value::Object(document.clone());
    signed["proof"] = proof;
    signed
}

#[test]
fn the_previous_releases_form_verifies_and_says_so() {
    let key = key(22);
    let legacy = legacy_issued(&key);
    let outcome = verify(&legacy);
    assert_eq!(outcome, Verification::verified_legacy());
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        json!({"verified": true, "reason": null, "legacy": LEGACY_NOTE})
    );
    assert_eq!(
        verify_with_key(&legacy, &key.verifying_key()),
        Verification::verified_legacy()
    );
    // A standard credential's answer has no `legacy` member at all.
    assert_eq!(
        serde_json::to_value(verify(&issued(&key))).unwrap(),
        json!({"verified": true, "reason": null})
    );
}

#[test]
fn the_legacy_form_is_no_loophole() {
    let key = key(23);
    let legacy = legacy_issued(&key);

    let mut edited = legacy.clone();
    edited["credentialSubject"]["score"] = json!(1);
    assert_eq!(
        verify(&edited),
        Verification::failed("signature does not match")
    );

    // Only the context the previous release wrote: with any other, the legacy reading is
    // not tried.
    let mut extended = legacy.clone();
    extended["@context"] = json!(CREDENTIAL_CONTEXTS);
    assert_eq!(
        verify(&extended),
        Verification::failed("signature does not match")
    );

    // A proof that carries an @context is read the standard way only.
    let mut with_context = legacy.clone();
    with_context["proof"]["@context"] = json!([CREDENTIALS_V2_CONTEXT]);
    assert_eq!(
        verify(&with_context),
        Verification::verified(),
        "the signed configuration had exactly this @context, so this is the standard form"
    );
    with_context["credentialSubject"]["score"] = json!(1);
    assert!(!verify(&with_context).verified);

    // Another key's legacy credential is not this key's.
    assert!(!verify_with_key(&legacy, &self::key(24).verifying_key()).verified);
}

#[test]
fn a_well_formed_signature_over_something_else_does_not_match() {
    let key = key(8);
    let one = issued(&key);
    let mut two = issued(&key);
    two["proof"]["proofValue"] = one["proof"]["proofValue"].clone();
    assert_eq!(
        verify(&two),
        Verification::failed("signature does not match")
    );
}

#[test]
fn a_credential_cannot_be_passed_off_as_another_issuers() {
    let signer = key(9);
    let other = key(10);
    let credential = issued(&signer);

    let mut issuer_swapped = credential.clone();
    issuer_swapped["issuer"] = json!(other.did());
    assert_eq!(
        verify(&issuer_swapped),
        Verification::failed("verification method does not belong to the issuer")
    );

    // Claiming the other key throughout does not help: the signature is not that key's.
    let mut all_swapped = issuer_swapped.clone();
    all_swapped["proof"]["verificationMethod"] = json!(other.verification_method());
    assert_eq!(
        verify(&all_swapped),
        Verification::failed("signature does not match")
    );
    assert!(!verify_with_key(&credential, &other.verifying_key()).verified);
}

#[test]
fn the_verification_method_must_be_the_did_key_itself() {
    let signer = key(11);
    let other = key(12);
    let mut credential = issue(&signer, "TestCredential", subject(), Map::new(), NOW).unwrap();
    credential["proof"]["verificationMethod"] =
        json!(format!("{}#{}", signer.did(), other.public_key_multibase()));
    assert_eq!(
        verify(&credential),
        Verification::failed("verification method is not the issuer's key")
    );
}

#[test]
fn an_issuer_object_with_an_id_is_accepted() {
    let key = key(13);
    let unsigned = json!({
        "@context": [CREDENTIALS_V2_CONTEXT],
        "type": ["VerifiableCredential"],
        "issuer": { "id": key.did(), "name": "Zone" },
        "credentialSubject": { "id": "did:example:1" },
    });
    let options = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": key.verification_method(),
        "proofPurpose": ASSERTION_METHOD,
    });
    let signed = sign_document(key.signing_key(), &unsigned, &options).unwrap();
    assert_eq!(verify(&signed), Verification::verified());
}

#[test]
fn only_did_key_issuers_are_resolved() {
    let key = key(14);
    let unsigned = json!({
        "@context": [CREDENTIALS_V2_CONTEXT],
        "type": ["VerifiableCredential"],
        "issuer": "https://zone.example/issuer",
        "credentialSubject": { "id": "did:example:1" },
    });
    let options = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": "https://zone.example/issuer#key-1",
        "proofPurpose": ASSERTION_METHOD,
    });
    let signed = sign_document(key.signing_key(), &unsigned, &options).unwrap();
    assert_eq!(
        verify(&signed),
        Verification::failed("issuer is not a did:key")
    );
    // A caller who trusts the key by other means can still check it.
    assert!(verify_with_key(&signed, &key.verifying_key()).verified);
}

#[test]
fn malformed_did_keys_are_refused() {
    let credential = issued(&key(15));
    for (did, reason) in [
        ("did:key:mABCD", "the did:key is not base58btc multibase"),
        ("did:key:z0OIl", "the did:key is not valid base58btc"),
        (
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
            "the did:key is not an Ed25519 key",
        ),
    ] {
        let mut changed = credential.clone();
        changed["issuer"] = json!(did);
        let multibase = &did["did:key:".len()..];
        changed["proof"]["verificationMethod"] = json!(format!("{did}#{multibase}"));
        assert_eq!(verify(&changed), Verification::failed(reason), "{did}");
    }
}

#[test]
fn proofs_of_another_shape_are_refused() {
    let credential = issued(&key(16));
    let mut listed = credential.clone();
    listed["proof"] = json!([credential["proof"].clone()]);
    assert_eq!(
        verify(&listed),
        Verification::failed("credential must carry a single proof object")
    );

    let mut other_suite = credential.clone();
    other_suite["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022");
    assert_eq!(
        verify(&other_suite),
        Verification::failed("proof cryptosuite is not eddsa-jcs-2022")
    );

    let mut other_purpose = credential.clone();
    other_purpose["proof"]["proofPurpose"] = json!("authentication");
    assert_eq!(
        verify(&other_purpose),
        Verification::failed("proof purpose is not assertionMethod")
    );

    assert_eq!(
        verify(&json!("not a credential")),
        Verification::failed("credential is not a JSON object")
    );
}

#[test]
fn the_validity_period_is_enforced() {
    let key = key(17);
    let sign_with = |extra: Value| {
        let mut unsigned = json!({
            "@context": [CREDENTIALS_V2_CONTEXT],
            "type": ["VerifiableCredential", "TestCredential"],
            "issuer": key.did(),
            "validFrom": NOW,
            "credentialSubject": { "id": "did:example:1" },
        });
        for (field, value) in extra.as_object().unwrap() {
            unsigned[field] = value.clone();
        }
        let options = json!({
            "type": PROOF_TYPE,
            "cryptosuite": CRYPTOSUITE,
            "created": NOW,
            "verificationMethod": key.verification_method(),
            "proofPurpose": ASSERTION_METHOD,
        });
        verify(&sign_document(key.signing_key(), &unsigned, &options).unwrap())
    };

    assert!(sign_with(json!({ "validUntil": "2999-01-01T00:00:00Z" })).verified);
    assert_eq!(
        sign_with(json!({ "validUntil": "2001-01-01T00:00:00Z" })),
        Verification::failed("credential has expired")
    );
    assert_eq!(
        sign_with(json!({ "validUntil": "next tuesday" })),
        Verification::failed("validUntil is not a date-time")
    );
    assert_eq!(
        sign_with(json!({ "validFrom": "2999-01-01T00:00:00Z" })),
        Verification::failed("credential is not valid yet")
    );
}

#[test]
fn issuing_refuses_what_would_make_a_meaningless_credential() {
    let key = key(18);
    assert!(issue(&key, "", subject(), Map::new(), NOW).is_err());
    assert!(issue(&key, "VerifiableCredential", subject(), Map::new(), NOW).is_err());
    assert!(issue(&key, "TestCredential", json!("text"), Map::new(), NOW).is_err());
    assert!(issue(&key, "TestCredential", subject(), Map::new(), "yesterday").is_err());
}

#[test]
fn signing_refuses_bad_inputs() {
    let key = key(19);
    let options = json!({
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": ASSERTION_METHOD,
    });
    let signing = key.signing_key();
    assert!(sign_document(signing, &json!([]), &options).is_err());
    assert!(sign_document(signing, &issued(&key), &options).is_err());
    assert!(sign_document(signing, &json!({}), &json!("options")).is_err());
    let mut valued = options.clone();
    valued["proofValue"] = json!("z1");
    assert!(sign_document(signing, &json!({}), &valued).is_err());
    let mut other_suite = options.clone();
    other_suite["cryptosuite"] = json!("ecdsa-jcs-2019");
    assert!(sign_document(signing, &json!({}), &other_suite).is_err());
    let mut other_context = options.clone();
    other_context["@context"] = json!(["https://example.org/other/v1"]);
    assert!(
        sign_document(
            signing,
            &json!({"@context": [CREDENTIALS_V2_CONTEXT]}),
            &other_context
        )
        .is_err()
    );
}

#[test]
fn extra_properties_are_signed_and_may_not_replace_the_core_ones() {
    let mut extra = Map::new();
    extra.insert("evidence".into(), json!([{"id": "urn:x:1", "type": "T"}]));
    let credential = issue(&key(21), "TestCredential", subject(), extra, NOW).unwrap();
    assert_eq!(credential["evidence"][0]["id"], "urn:x:1");
    assert!(verify(&credential).verified);
    let mut tampered = credential.clone();
    tampered["evidence"][0]["id"] = json!("urn:x:2");
    assert!(!verify(&tampered).verified);
    for core in ["issuer", "id", "proof", "credentialSubject"] {
        let mut extra = Map::new();
        extra.insert(core.into(), json!("x"));
        assert!(
            issue(&key(21), "TestCredential", subject(), extra, NOW).is_err(),
            "{core}"
        );
    }
}

#[test]
fn issuing_with_the_clock_verifies() {
    let credential = issue(
        &key(20),
        "TestCredential",
        subject(),
        Map::new(),
        &crate::clock::now_rfc3339(),
    )
    .unwrap();
    assert!(verify(&credential).verified);
}
