// SPDX-License-Identifier: BUSL-1.1
//! Who is calling (issue 11, first slice): API keys created through `/v1/keys` and the
//! `mez-api keys` command, used, listed without secrets and revoked (refused at once, on a
//! second replica sharing the database too); the coarse role checks (a regulator reads only,
//! `/v1/keys` is the zone administrator's); JWTs from an identity provider whose JWKS the test
//! writes; and the per-principal rate limit. Every scenario runs on SQLite and PostgreSQL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use mez_api::auth::jwt::JwtConfig;
use mez_api::auth::rate_limit::RateLimit;
use mez_api::config::Config;
use mez_api::db::Db;
use mez_tests::json::{assert_error, error_fields};
use mez_tests::{DataDir, TestDb, TestZone};
use reqwest::Method;
use serde_json::{Value, json};

/// Creates a key through `POST /v1/keys` with `admin`'s token and checks the answer's shape.
async fn create_key(zone: &TestZone, admin: &str, body: Value) -> Value {
    let answer = zone
        .send_as(admin, Method::POST, "/v1/keys", Some(body.clone()))
        .await;
    assert_eq!(answer.status, 201, "{body}: {}", answer.text());
    let key = answer.json();
    let id = key["id"].as_str().expect("an id").to_owned();
    let secret = key["secret"].as_str().expect("a secret");
    let random = secret
        .strip_prefix(&format!("mez_{id}_"))
        .unwrap_or_else(|| panic!("the secret is mez_<id>_<secret>: {secret}"));
    assert_eq!(random.len(), 64, "256 bits as hex: {secret}");
    assert!(random.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
    assert_eq!(key["role"], body["role"]);
    assert_eq!(
        key["entity_id"],
        body.get("entity_id").cloned().unwrap_or(Value::Null)
    );
    assert_eq!(
        key["name"],
        body.get("name").cloned().unwrap_or(Value::Null)
    );
    assert!(key["created_at"].is_string(), "{key}");
    key
}

fn secret(key: &Value) -> String {
    key["secret"].as_str().expect("a secret").to_owned()
}

async fn keys_of_every_role_are_created_used_listed_and_revoked(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let bootstrap = zone.token.clone();
    let admin = create_key(
        &zone,
        &bootstrap,
        json!({"role": "zone_admin", "name": "ops"}),
    )
    .await;
    let admin_token = secret(&admin);
    // A key of the zone_admin role manages keys itself.
    let regulator = create_key(&zone, &admin_token, json!({"role": "regulator"})).await;
    let operator = create_key(
        &zone,
        &admin_token,
        json!({"role": "entity_operator", "entity_id": "entity-a", "name": "A's operator"}),
    )
    .await;

    // Bad requests: the zone's 422, every field named.
    for (body, fields) in [
        (json!({"role": "entity_operator"}), vec!["entity_id"]),
        (
            json!({"role": "regulator", "entity_id": "entity-a"}),
            vec!["entity_id"],
        ),
        (json!({"role": "root"}), vec!["role"]),
        (json!({"name": "no role"}), vec!["role"]),
        (
            json!({"role": "regulator", "secret": "mine"}),
            vec!["secret"],
        ),
    ] {
        let answer = zone
            .send_as(&bootstrap, Method::POST, "/v1/keys", Some(body.clone()))
            .await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.text());
        assert_error(&answer.json(), "VALIDATION_ERROR");
        assert_eq!(error_fields(&answer.json()), fields, "{body}");
    }

    // The list shows every key and no secret.
    let answer = zone
        .send_as(&admin_token, Method::GET, "/v1/keys", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let listed = answer.json();
    let listed = listed.as_array().expect("an array");
    assert_eq!(listed.len(), 3, "{listed:?}");
    for key in listed {
        assert!(key.get("secret").is_none(), "{key}");
        assert_eq!(key["revoked_at"], Value::Null);
    }
    let text = answer.text();
    for key in [&admin, &regulator, &operator] {
        let secret = secret(key);
        let random = secret.rsplit('_').next().expect("a secret part");
        assert!(!text.contains(random), "a listing shows a secret");
    }
    let operator_listed = listed
        .iter()
        .find(|key| key["id"] == operator["id"])
        .expect("the operator's key is listed");
    assert_eq!(operator_listed["entity_id"], "entity-a");
    assert_eq!(operator_listed["name"], "A's operator");

    // A regulator reads everything and writes nothing; the refusal names its role.
    let regulator_token = secret(&regulator);
    for path in [
        "/v1/policies",
        "/v1/audit/events",
        "/v1/attestations",
        "/v1/audit/verify",
    ] {
        let answer = zone
            .send_as(&regulator_token, Method::GET, path, None)
            .await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    }
    let answer = zone
        .send_as(
            &regulator_token,
            Method::POST,
            "/v1/triggers",
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    let message = assert_error(&answer.json(), "FORBIDDEN");
    assert!(message.contains("regulator"), "{message}");

    // Nobody but a zone administrator manages keys.
    let operator_token = secret(&operator);
    for token in [&regulator_token, &operator_token] {
        for (method, path, body) in [
            (Method::GET, "/v1/keys".to_string(), None),
            (
                Method::POST,
                "/v1/keys".to_string(),
                Some(json!({"role": "zone_admin"})),
            ),
            (
                Method::DELETE,
                format!("/v1/keys/{}", admin["id"].as_str().unwrap_or_default()),
                None,
            ),
        ] {
            let answer = zone.send_as(token, method.clone(), &path, body).await;
            assert_eq!(answer.status, 403, "{method} {path}: {}", answer.text());
            let message = assert_error(&answer.json(), "FORBIDDEN");
            assert!(message.contains("zone_admin"), "{message}");
        }
    }
    // An entity operator uses no zone administration route and no zone-wide read (403, its
    // role named), and reads the zone's public information; its entity scope is
    // tests/tests/entity_scope.rs's.
    for (method, path) in [
        (Method::POST, "/v1/triggers"),
        (Method::GET, "/v1/audit/events"),
    ] {
        let answer = zone
            .send_as(&operator_token, method, path, Some(json!({})))
            .await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.text());
        let message = assert_error(&answer.json(), "FORBIDDEN");
        assert!(message.contains("entity_operator"), "{message}");
    }
    let answer = zone
        .send_as(&operator_token, Method::GET, "/v1/policies", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());

    // Revoked: refused on the very next request; the list says when.
    let regulator_id = regulator["id"].as_str().expect("an id");
    let answer = zone
        .send_as(
            &admin_token,
            Method::DELETE,
            &format!("/v1/keys/{regulator_id}"),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let revoked = answer.json();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    assert!(revoked.get("secret").is_none(), "{revoked}");
    let answer = zone
        .send_as(&regulator_token, Method::GET, "/v1/policies", None)
        .await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert_error(&answer.json(), "UNAUTHORIZED");
    let answer = zone
        .send_as(&admin_token, Method::GET, "/v1/keys", None)
        .await;
    let listed = answer.json();
    let revoked_listed = listed
        .as_array()
        .and_then(|keys| keys.iter().find(|key| key["id"] == regulator["id"]))
        .expect("a revoked key is still listed");
    assert_eq!(revoked_listed["revoked_at"], revoked["revoked_at"]);

    // An unknown key is a 404; a token that only looks like a key, or a key with another
    // key's secret, is a 401.
    let answer = zone
        .send_as(
            &admin_token,
            Method::DELETE,
            "/v1/keys/0123456789abcdef",
            None,
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_error(&answer.json(), "NOT_FOUND");
    let operator_random = operator_token.rsplit('_').next().unwrap_or_default();
    let forged = format!(
        "mez_{}_{operator_random}",
        admin["id"].as_str().unwrap_or_default()
    );
    for token in [forged.as_str(), "mez_abc_def", "mez_"] {
        let answer = zone.send_as(token, Method::GET, "/v1/policies", None).await;
        assert_eq!(answer.status, 401, "{token}: {}", answer.text());
    }
    // AUTH_TOKEN stays the bootstrap administrator.
    let answer = zone
        .send_as(&bootstrap, Method::GET, "/v1/keys", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    zone.stop().await;
}

async fn the_cli_manages_keys_on_the_zones_database(db: &TestDb) {
    let zone = TestZone::sovereign(db).await;
    let store = Db::connect(db.url()).await.expect("the zone's database");
    let cli = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let store = store.clone();
        async move { mez_api::auth::keys::run_cli(&store, &args).await }
    };
    let mut made = Vec::new();
    for args in [
        &["create", "--role", "zone_admin"][..],
        &["create", "--role", "regulator", "--name", "the regulator"],
        &[
            "create",
            "--role",
            "entity_operator",
            "--entity",
            "entity-b",
        ],
    ] {
        let printed = cli(args).await.expect("created");
        let key: Value = serde_json::from_str(&printed).expect("JSON");
        assert!(
            key["secret"]
                .as_str()
                .is_some_and(|s| s.starts_with("mez_")),
            "{key}"
        );
        made.push(key);
    }
    assert_eq!(made[2]["entity_id"], "entity-b");
    assert_eq!(made[1]["name"], "the regulator");
    // Each key works on the running zone, with its role.
    let answer = zone
        .send_as(&secret(&made[0]), Method::GET, "/v1/keys", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = zone
        .send_as(&secret(&made[1]), Method::GET, "/v1/policies", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = zone
        .send_as(&secret(&made[2]), Method::GET, "/v1/keys", None)
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text());

    let listed: Value = serde_json::from_str(&cli(&["list"]).await.expect("list")).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    assert!(
        listed
            .as_array()
            .into_iter()
            .flatten()
            .all(|k| k.get("secret").is_none())
    );

    let id = made[1]["id"].as_str().expect("an id");
    let revoked: Value =
        serde_json::from_str(&cli(&["revoke", id]).await.expect("revoked")).expect("JSON");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let answer = zone
        .send_as(&secret(&made[1]), Method::GET, "/v1/policies", None)
        .await;
    assert_eq!(answer.status, 401, "{}", answer.text());

    for bad in [
        &["create", "--role", "entity_operator"][..],
        &["create", "--role", "regulator", "--entity", "x"],
        &["create"],
        &["revoke"],
        &["rotate"],
    ] {
        assert!(cli(bad).await.is_err(), "{bad:?}");
    }
    assert!(
        cli(&["revoke", "0123abcd"]).await.is_err(),
        "an unknown key"
    );
    store.close().await;
    zone.stop().await;
}

async fn revocation_on_one_replica_is_seen_by_another_at_once(db: &TestDb) {
    // Two replicas of one zone: the same database and the same key (data directory).
    let data_dir = DataDir::new();
    let a = TestZone::start_in(db, true, &data_dir).await;
    let b = TestZone::start_in(db, true, &data_dir).await;
    let key = create_key(&a, &a.token, json!({"role": "regulator"})).await;
    let token = secret(&key);
    let answer = b.send_as(&token, Method::GET, "/v1/policies", None).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let id = key["id"].as_str().expect("an id");
    let answer = a
        .send_as(&a.token, Method::DELETE, &format!("/v1/keys/{id}"), None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = b.send_as(&token, Method::GET, "/v1/policies", None).await;
    assert_eq!(
        answer.status,
        401,
        "replica B still accepted a revoked key: {}",
        answer.text()
    );
    let answer = a.send_as(&token, Method::GET, "/v1/policies", None).await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    a.stop().await;
    b.stop().await;
}

const ISSUER: &str = "https://idp.example";
const AUDIENCE: &str = "mez-test-zone";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS signed with `key`, written here rather than by the zone's library.
fn jwt(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{input}.{}", b64(&key.sign(input.as_bytes()).to_bytes()))
}

fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_secs() as i64).unwrap_or_default()
}

async fn jwts_of_the_configured_provider_are_accepted_and_no_others(db: &TestDb) {
    let idp = SigningKey::from_bytes(&rand_bytes());
    let stranger = SigningKey::from_bytes(&rand_bytes());
    let data_dir = DataDir::new();
    let jwks = data_dir.path().join("jwks.json");
    let set = json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "idp-1", "use": "sig", "alg": "EdDSA",
        "x": b64(idp.verifying_key().as_bytes()),
    }]});
    std::fs::write(&jwks, set.to_string()).expect("write the JWKS");
    let token = format!("test-token-{}", uuid::Uuid::new_v4().simple());
    let mut config = Config::for_tests(db.url(), true, &token);
    config.data_dir = data_dir.path().to_path_buf();
    config.jwt = Some(JwtConfig {
        jwks_file: jwks,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
    });
    let zone = TestZone::start_with_config(config).await;

    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "idp-1"});
    let claims = |role: &str| {
        json!({"sub": "alice@idp", "iss": ISSUER, "aud": AUDIENCE, "exp": unix_now() + 600,
               "nbf": unix_now() - 10, "mez_role": role})
    };
    let valid = jwt(&idp, &header, &claims("regulator"));
    let answer = zone
        .send_as(&valid, Method::GET, "/v1/policies", None)
        .await;
    assert_eq!(answer.status, 200, "a valid JWT: {}", answer.text());
    // The role comes from mez_role.
    let answer = zone
        .send_as(&valid, Method::POST, "/v1/triggers", Some(json!({})))
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text());
    let mut operator = claims("entity_operator");
    operator["mez_entity_id"] = json!("entity-a");
    let operator = jwt(&idp, &header, &operator);
    assert_eq!(
        zone.send_as(&operator, Method::GET, "/v1/keys", None)
            .await
            .status,
        403
    );
    assert_eq!(
        zone.send_as(&operator, Method::GET, "/v1/policies", None)
            .await
            .status,
        200
    );
    let admin = jwt(&idp, &header, &claims("zone_admin"));
    assert_eq!(
        zone.send_as(&admin, Method::GET, "/v1/keys", None)
            .await
            .status,
        200
    );

    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims("zone_admin");
        change(&mut c);
        jwt(&idp, &header, &c)
    };
    let refused = [
        ("expired", with(&|c| c["exp"] = json!(unix_now() - 3600))),
        (
            "not yet valid",
            with(&|c| c["nbf"] = json!(unix_now() + 3600)),
        ),
        (
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://other-idp.example")),
        ),
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("another-zone")),
        ),
        ("wrong key", jwt(&stranger, &header, &claims("zone_admin"))),
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
                b64(claims("zone_admin").to_string().as_bytes())
            ),
        ),
    ];
    for (what, token) in refused {
        let answer = zone
            .send_as(&token, Method::GET, "/v1/policies", None)
            .await;
        assert_eq!(answer.status, 401, "{what}: {}", answer.text());
        assert_error(&answer.json(), "UNAUTHORIZED");
    }
    zone.stop().await;
}

fn rand_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, byte) in uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .enumerate()
    {
        bytes[i] = *byte;
    }
    bytes
}

async fn the_rate_limit_is_per_principal(db: &TestDb) {
    let data_dir = DataDir::new();
    let token = format!("test-token-{}", uuid::Uuid::new_v4().simple());
    let mut config = Config::for_tests(db.url(), true, &token);
    config.data_dir = data_dir.path().to_path_buf();
    config.rate_limit = Some(RateLimit::parse("1/s,burst=2").expect("a rate"));
    let zone = TestZone::start_with_config(config).await;
    // Keys made through the store, so that making them spends no budget.
    let store = Db::connect(db.url()).await.expect("the zone's database");
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let printed = mez_api::auth::keys::run_cli(
            &store,
            &[
                "create".to_string(),
                "--role".to_string(),
                "regulator".to_string(),
            ],
        )
        .await
        .expect("created");
        let key: Value = serde_json::from_str(&printed).expect("JSON");
        tokens.push(secret(&key));
    }
    store.close().await;

    let client = reqwest::Client::new();
    let get = |token: &str| {
        client
            .get(zone.url("/v1/policies"))
            .bearer_auth(token)
            .send()
    };
    for _ in 0..2 {
        let answer = get(&tokens[0]).await.expect("answered");
        assert_eq!(answer.status(), 200);
    }
    let answer = get(&tokens[0]).await.expect("answered");
    assert_eq!(answer.status(), 429);
    let retry_after: u64 = answer
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After of whole seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = answer.json().await.expect("JSON");
    assert_error(&body, "RATE_LIMITED");
    // Another key, and the bootstrap token, have budgets of their own.
    assert_eq!(get(&tokens[1]).await.expect("answered").status(), 200);
    assert_eq!(get(&zone.token).await.expect("answered").status(), 200);
    // Health probes are never limited.
    for _ in 0..5 {
        let answer = client
            .get(zone.url("/health/liveness"))
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), 200);
    }
    zone.stop().await;
}

mez_tests::on_sqlite_and_postgres!(
    keys_of_every_role_are_created_used_listed_and_revoked,
    the_cli_manages_keys_on_the_zones_database,
    revocation_on_one_replica_is_seen_by_another_at_once,
    jwts_of_the_configured_provider_are_accepted_and_no_others,
    the_rate_limit_is_per_principal,
);
