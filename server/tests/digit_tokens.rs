//! Digit tokens at HTTP level, on SQLite and (with `DATABASE_URL`) PostgreSQL: generating
//! them (every documented status), redeeming them (every outcome of the endpoint's table),
//! the whole reset flow end to end (the crate's encryptor and Java's recipe), key rotation,
//! concurrency on one node and on two, the guess budget across reissued tokens, clocks
//! apart, and logs without a code or a password.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "tests: a panic is a failure report"
)]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use password_mgmt::time::Duration;
use password_mgmt::{PasswordEncryptor, Scheme, UserState};
use password_mgmt_server::hashing::verify_blocking;
use password_mgmt_server::rows;
use password_mgmt_server::store::{
    Batch, BoxFuture, Claim, Committed, Credential, PasswordChange, Settle, StateKey, Store,
    StoreResult,
};
use serde_json::{Value, json};

const GENERATE: &str = "/v2025/generate-password-reset-token/digit";
const REDEEM: &str = "/reset-password/v1/digit-token";
const WRONG: &str = "the code is wrong or has expired";
const GOOD_PASSWORD: &str = "correct horse battery staple 42";

/// Limits out of the way of tests about something else.
fn lax(s: &mut password_mgmt_server::config::Settings) {
    s.limits.user =
        "requests 1000/1h, failures 1000/1h 1000/1d, consecutive 100, clock tolerance 5s".into();
    s.limits.digit_token_per_client = "10000/1h".into();
    s.limits.redeem_per_address = "10000/1h".into();
}

async fn enable(app: &TestApp, tenant: &str) {
    let r = app
        .json(
            "PUT",
            "/v2025/password-org-config",
            &app.admin(tenant),
            &json!({"digitTokenEnabled": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// Generates a token for `user` and returns it (registered as a secret).
async fn generate(app: &TestApp, user: &str) -> String {
    let r = app
        .json(
            "POST",
            GENERATE,
            &app.admin("acme"),
            &json!({"userId": user}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let code = r.body["digitToken"].as_str().expect("a string").to_owned();
    secret(&code);
    code
}

/// The reset page's public key.
async fn public_key(app: &TestApp) -> (String, String) {
    let r = app
        .call("GET", "/reset-password/v1/public-key", None, None, "")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (
        r.body["publicKeyId"].as_str().unwrap().to_owned(),
        r.body["publicKey"].as_str().unwrap().to_owned(),
    )
}

fn redeem_body(key_id: &str, encrypted: &str, user: &str, code: &str) -> Value {
    json!({
        "tenant": "acme",
        "userId": user,
        "digitToken": code,
        "publicKeyId": key_id,
        "encryptedPassword": encrypted,
    })
}

async fn redeem(app: &TestApp, body: &Value) -> TestResponse {
    app.call(
        "POST",
        REDEEM,
        None,
        Some("application/json"),
        body.to_string(),
    )
    .await
}

/// The user's stored state.
async fn user_state(app: &TestApp, user: &str) -> UserState {
    let values = app
        .state
        .store()
        .read(&[rows::user_key("acme", user)])
        .await
        .unwrap();
    rows::user_state(values[0].as_deref()).unwrap()
}

/// A code other than `code`, of its length.
fn wrong(code: &str) -> String {
    let last = code.as_bytes()[code.len() - 1] - b'0';
    format!("{}{}", &code[..code.len() - 1], (last + 1) % 10)
}

#[tokio::test]
async fn generate_answers_a_string_token_and_a_request_id_on_every_path() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let r = app
            .json(
                "PUT",
                "/v2025/password-org-config",
                &app.admin("acme"),
                &json!({"digitTokenEnabled": true, "digitTokenLength": 9}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for (path, body, digits) in [
            (GENERATE, json!({"userId": "Abby.Smith"}), 9),
            (
                "/beta/generate-password-reset-token/digit",
                json!({"userId": "Abby.Smith", "length": 12, "durationMinutes": 10}),
                12,
            ),
            (
                "/generate-password-reset-token/v1/digit",
                json!({"userId": "Brian.Jones", "length": 6}),
                6,
            ),
        ] {
            let r = app.json("POST", path, &app.admin("acme"), &body).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            let code = r.body["digitToken"]
                .as_str()
                .expect("digitToken is a string");
            secret(code);
            assert_eq!(code.len(), digits, "{path}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
            let id = r.body["requestId"].as_str().unwrap();
            assert!(id.parse::<password_mgmt::RequestId>().is_ok(), "{id}");
        }
        // The token is stored only as a MAC: the user's row holds the state, not the code.
        let state = user_state(&app, "Abby.Smith").await;
        assert_eq!(state.record().unwrap().length().get(), 12);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn generate_refusals_have_the_apis_statuses_and_bodies() {
    for backend in backends() {
        let app = spawn_app_with(&backend, None, |s| {
            s.limits.digit_token_per_client = "2/1h".into();
        })
        .await;
        let admin = app.admin("acme");
        let body = json!({"userId": "Abby.Smith"});
        // Digit tokens disabled (the default): 403.
        let r = app.json("POST", GENERATE, &admin, &body).await;
        let causes = api_error(&r, 403, "403 Forbidden");
        assert!(causes[0].contains("digitTokenEnabled"), "{causes:?}");
        enable(&app, "acme").await;
        // No token, a token without the scope: 401, 403.
        let r = app
            .call(
                "POST",
                GENERATE,
                None,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        unauthorized(&r);
        let narrow = rs256(&claims(app.now(), "acme", "idn:password-org-config:read"));
        api_error(
            &app.json("POST", GENERATE, &narrow, &body).await,
            403,
            "403 Forbidden",
        );
        // Every invalid value at once; an unknown user; a number where a string goes.
        let r = app
            .json(
                "POST",
                GENERATE,
                &admin,
                &json!({"userId": " ", "length": 5, "durationMinutes": 61}),
            )
            .await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content").len(), 3);
        let r = app
            .json("POST", GENERATE, &admin, &json!({"userId": "Nobody"}))
            .await;
        api_error(&r, 400, "400.1 Bad Request Content");
        let r = app
            .json("POST", GENERATE, &admin, &json!({"userId": 42}))
            .await;
        let causes = api_error(&r, 400, "400.1 Bad Request Content");
        assert_eq!(causes[0].matches("userId").count(), 1, "{causes:?}");
        // The client's limit (2 an hour): the third request is 429 with Retry-After.
        generate(&app, "Abby.Smith").await;
        generate(&app, "Brian.Jones").await;
        let r = app.json("POST", GENERATE, &admin, &body).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        assert_eq!(r.body, json!({"message": "Rate Limit Exceeded"}));
        // 2 an hour: a burst of 2, then one an hour.
        let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert_eq!(wait, 3600);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn the_users_own_request_limit_answers_429() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        enable(&app, "acme").await;
        // The default, 5 an hour: a burst of 4, then one each 30 minutes.
        for _ in 0..4 {
            generate(&app, "Carol.Diaz").await;
        }
        let r = app
            .json(
                "POST",
                GENERATE,
                &app.admin("acme"),
                &json!({"userId": "Carol.Diaz"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        assert_eq!(r.headers["retry-after"], "1800");
        // Another user is not affected.
        generate(&app, "Abby.Smith").await;
        app.clock.advance(Duration::minutes(30));
        generate(&app, "Carol.Diaz").await;
    }
    assert_logs_clean();
}

#[tokio::test]
async fn the_whole_reset_flow_end_to_end_with_the_crate_and_with_javas_recipe() {
    for backend in backends() {
        let app = spawn_app_with(&backend, None, lax).await;
        enable(&app, "acme").await;
        let (key_id, key) = public_key(&app).await;
        // The public key the reset page gets is the one query-password-info hands out.
        let info = app
            .json(
                "POST",
                "/v2025/query-password-info",
                &app.admin("acme"),
                &json!({"userName": "Abby.Smith", "sourceName": "My-AD"}),
            )
            .await;
        assert_eq!(info.body["publicKeyId"], key_id.as_str());
        let mut encryptions = vec![("crate", encrypt(&key, "Abby.Smith", GOOD_PASSWORD))];
        if let Some(encrypted) = java_encrypt(&key, GOOD_PASSWORD) {
            encryptions.push(("java", encrypted));
        }
        let mut old = None;
        for (who, encrypted) in encryptions {
            let code = generate(&app, "Abby.Smith").await;
            let r = redeem(&app, &redeem_body(&key_id, &encrypted, "Abby.Smith", &code)).await;
            assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.text);
            assert_eq!(r.body["state"], "FINISHED", "{who}");
            // Abby has accounts on two sources with the PASSWORD feature: one change each.
            let ids = r.body["requestIds"].as_array().unwrap();
            assert_eq!(ids.len(), 2, "{who}");
            let mut sources = Vec::new();
            for id in ids {
                let status = app
                    .get(
                        &format!("/v2025/password-change-status/{}", id.as_str().unwrap()),
                        &app.admin("acme"),
                    )
                    .await;
                assert_eq!(status.status, StatusCode::OK, "{}", status.text);
                assert_eq!(status.body["state"], "FINISHED");
                sources.push(status.body["sourceIds"][0].as_str().unwrap().to_owned());
            }
            sources.sort();
            assert_eq!(sources, [MY_AD, LEGACY]);
            let credential = app
                .state
                .store()
                .credential("acme", MY_AD, ABBY_AD_ACCOUNT)
                .await
                .unwrap()
                .unwrap();
            assert!(credential.phc.starts_with("$argon2id$"), "{who}");
            assert!(verify_blocking(&credential.phc, GOOD_PASSWORD), "{who}");
            assert!(!verify_blocking(
                &credential.phc,
                "a different password here"
            ));
            if let Some(previous) = old.replace(credential.phc.clone()) {
                assert_ne!(previous, credential.phc, "a fresh salt each time");
            }
            // The code is single-use.
            let again = redeem(&app, &redeem_body(&key_id, &encrypted, "Abby.Smith", &code)).await;
            assert_eq!(api_error(&again, 400, "400.1 Bad Request Content"), [WRONG]);
        }
    }
    assert_logs_clean();
}

/// The API's Java recipe (tests/interop/Interop.java), or `None` with a printed reason
/// when Java is missing (a failure where `PASSWORD_MGMT_REQUIRE_INTEROP=1`, as in CI).
fn java_encrypt(public_key: &str, password: &str) -> Option<String> {
    let java = Command::new("java").arg("-version").output();
    if java.is_err() {
        assert!(
            std::env::var("PASSWORD_MGMT_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "PASSWORD_MGMT_REQUIRE_INTEROP=1 but java is missing"
        );
        eprintln!("SKIPPED: the Java client of the reset flow (java is not on PATH)");
        return None;
    }
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/Interop.java");
    let mut child = Command::new("java")
        .arg(source)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let key_id = PasswordEncryptor::from_spki_base64(public_key, Scheme::Pkcs1v15)
        .unwrap()
        .public_key_id()
        .to_string();
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    writeln!(
        child.stdin.take().unwrap(),
        "enc pkcs1v15 {public_key} {key_id} {} {}",
        hex("Abby.Smith"),
        hex(password)
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim();
    assert!(!line.starts_with("ERR"), "java: {line}");
    Some(line.to_owned())
}

#[tokio::test]
async fn every_redemption_outcome_answers_as_documented() {
    for backend in backends() {
        let app = spawn_app_with(&backend, None, lax).await;
        enable(&app, "acme").await;
        let (key_id, key) = public_key(&app).await;
        let good = encrypt(&key, "Abby.Smith", GOOD_PASSWORD);
        let weak = encrypt(&key, "Abby.Smith", "too short");
        let code = generate(&app, "Abby.Smith").await;
        let wrong_code = wrong(&code);

        // A wrong code, with a good or a weak password: the same answer, and counted.
        for encrypted in [&good, &weak] {
            let r = redeem(
                &app,
                &redeem_body(&key_id, encrypted, "Abby.Smith", &wrong_code),
            )
            .await;
            assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);
        }
        assert_eq!(
            user_state(&app, "Abby.Smith").await.consecutive_failures(),
            2
        );
        // A malformed code counts too.
        let r = redeem(&app, &redeem_body(&key_id, &good, "Abby.Smith", "12 34")).await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);
        assert_eq!(
            user_state(&app, "Abby.Smith").await.consecutive_failures(),
            3
        );

        // The right code with a weak password: the broken rules, and the code stays live.
        let r = redeem(&app, &redeem_body(&key_id, &weak, "Abby.Smith", &code)).await;
        assert_eq!(
            api_error(&r, 400, "400.1 Bad Request Content"),
            ["passwordMinLength: at least 15 required, found 9"]
        );
        // The right code with a forged ciphertext: the one decryption failure, code live.
        let forged = <base64ct::Base64 as base64ct::Encoding>::encode_string(&[0x33u8; 256]);
        let r = redeem(&app, &redeem_body(&key_id, &forged, "Abby.Smith", &code)).await;
        assert_eq!(
            api_error(&r, 400, "400.1 Bad Request Content"),
            ["the encrypted password could not be decrypted"]
        );
        let state = user_state(&app, "Abby.Smith").await;
        assert!(!state.record().unwrap().is_used());
        assert_eq!(
            state.consecutive_failures(),
            3,
            "a right code counts nothing"
        );
        // The same code for another user, another tenant: wrong (the MAC binds both).
        let r = redeem(&app, &redeem_body(&key_id, &good, "Brian.Jones", &code)).await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);
        let mut other_tenant = redeem_body(&key_id, &good, "Abby.Smith", &code);
        other_tenant["tenant"] = json!("globex");
        let r = redeem(&app, &other_tenant).await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);
        // An unknown user: wrong, like every other refusal.
        let r = redeem(&app, &redeem_body(&key_id, &good, "Nobody", &code)).await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);
        // Missing fields and an unknown key: named.
        let r = redeem(&app, &json!({"tenant": "acme"})).await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content").len(), 4);
        let r = redeem(
            &app,
            &redeem_body(
                "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                &good,
                "Abby.Smith",
                &code,
            ),
        )
        .await;
        assert!(api_error(&r, 400, "400.1 Bad Request Content")[0].contains("publicKeyId"));
        // Now the right code and a good password.
        let r = redeem(&app, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            user_state(&app, "Abby.Smith").await.consecutive_failures(),
            0
        );
        // Expired: a new code, 6 minutes later (the default lifetime is 5).
        let code = generate(&app, "Abby.Smith").await;
        app.clock.advance(Duration::minutes(6));
        let r = redeem(&app, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn limits_on_redemption_answer_429_and_a_lockout_403() {
    for backend in backends() {
        let app = spawn_app_with(&backend, None, |s| {
            s.limits.redeem_per_address = "3/10m".into();
            s.limits.user = "consecutive 4".into();
        })
        .await;
        enable(&app, "acme").await;
        let (key_id, key) = public_key(&app).await;
        let good = encrypt(&key, "Abby.Smith", GOOD_PASSWORD);
        let code = generate(&app, "Abby.Smith").await;
        // The address's limit (3 in 10 minutes).
        for _ in 0..3 {
            let r = redeem(
                &app,
                &redeem_body(&key_id, &good, "Abby.Smith", &wrong(&code)),
            )
            .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        }
        let r = redeem(&app, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        assert!(r.headers.contains_key("retry-after"));
        // From another address (a second node's): the fourth failure in a row locks out.
        let other = second_node(&app, Duration::ZERO).await;
        let r = redeem(
            &other,
            &redeem_body(&key_id, &good, "Abby.Smith", &wrong(&code)),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        let r = redeem(&other, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        let causes = api_error(&r, 403, "403 Forbidden");
        assert!(causes[0].contains("help desk"), "{causes:?}");
        // And no token is issued until an unlock; the refusal still counts against the
        // client's limit (its limiter's row changes).
        let client = [StateKey::new(
            "acme",
            password_mgmt_server::store::Kind::Client,
            "client:external",
        )];
        let before = app.state.store().read(&client).await.unwrap();
        let r = app
            .json(
                "POST",
                GENERATE,
                &app.admin("acme"),
                &json!({"userId": "Abby.Smith"}),
            )
            .await;
        api_error(&r, 403, "403 Forbidden");
        let after = app.state.store().read(&client).await.unwrap();
        assert!(before[0].is_some(), "the first generate counted");
        assert_ne!(before, after, "the refused generate counted");
        // The help desk's unlock (`password-mgmt-server unlock`) resets the 4 and keeps the
        // live token: it redeems (from the second node, past the first's address limit).
        let unlock = || {
            rows::unlock(
                &**app.state.store(),
                app.state.key_locks(),
                "acme",
                "Abby.Smith",
            )
        };
        assert_eq!(unlock().await.unwrap(), Some(4));
        assert_eq!(unlock().await.unwrap(), Some(0), "nothing left to reset");
        let r = redeem(&other, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            rows::unlock(
                &**app.state.store(),
                app.state.key_locks(),
                "acme",
                "Nobody"
            )
            .await
            .unwrap(),
            None,
            "no state, no write"
        );
    }
    assert_logs_clean();
}

#[tokio::test]
async fn the_guess_budget_holds_across_reissued_tokens() {
    for backend in backends() {
        let app = spawn_app_with(&backend, None, |s| {
            s.limits.user = "requests 100/1h".into(); // the default budget: 6 at once
            s.limits.redeem_per_address = "10000/1h".into();
        })
        .await;
        enable(&app, "acme").await;
        let (key_id, key) = public_key(&app).await;
        let good = encrypt(&key, "Abby.Smith", GOOD_PASSWORD);
        for _ in 0..3 {
            let code = generate(&app, "Abby.Smith").await;
            for _ in 0..2 {
                let r = redeem(
                    &app,
                    &redeem_body(&key_id, &good, "Abby.Smith", &wrong(&code)),
                )
                .await;
                assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);
            }
        }
        // Six failures over three tokens: even a fresh token's right code waits.
        let code = generate(&app, "Abby.Smith").await;
        let r = redeem(&app, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        assert_eq!(r.headers["retry-after"], "720");
        app.clock.advance(Duration::minutes(4)); // the token lives 5 minutes
        let r = redeem(&app, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        app.clock.advance(Duration::minutes(8));
        let code = generate(&app, "Abby.Smith").await;
        let r = redeem(&app, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn a_client_that_fetched_the_previous_key_still_succeeds() {
    for backend in backends() {
        let app = spawn_app_with(&backend, None, lax).await;
        enable(&app, "acme").await;
        // The previous key of the harness's ring (rsa3072), as fetched before a rotation.
        let previous = read_key("rsa3072.spki.b64");
        let previous_id = PasswordEncryptor::from_spki_base64(previous.trim(), Scheme::Pkcs1v15)
            .unwrap()
            .public_key_id()
            .to_string();
        assert_ne!(public_key(&app).await.0, previous_id);
        let encrypted = encrypt(previous.trim(), "Abby.Smith", GOOD_PASSWORD);
        let code = generate(&app, "Abby.Smith").await;
        let r = redeem(
            &app,
            &redeem_body(&previous_id, &encrypted, "Abby.Smith", &code),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_logs_clean();
}

/// `n` redemptions of `codes[i % codes.len()]` at once, spread over `nodes`.
async fn at_once(nodes: &[&TestApp], bodies: Vec<Value>) -> Vec<TestResponse> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let node = nodes[i % nodes.len()];
        let router = node.router.clone();
        tasks.spawn(async move {
            let request = axum::http::Request::builder()
                .method("POST")
                .uri(REDEEM)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        out.push(TestResponse {
            status,
            headers: axum::http::HeaderMap::new(),
            text: body.to_string(),
            body,
        });
    }
    out
}

/// 50 concurrent wrong guesses count exactly `limit` failures, then the token is locked;
/// 50 concurrent right guesses are accepted exactly once. On one node, and (PostgreSQL)
/// on two nodes of one database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_count_exactly_and_a_code_is_used_once() {
    for backend in backends() {
        let first = spawn_app_with(&backend, None, lax).await;
        enable(&first, "acme").await;
        let second = second_node(&first, Duration::ZERO).await;
        let (key_id, key) = public_key(&first).await;
        let good = encrypt(&key, "Abby.Smith", GOOD_PASSWORD);
        let two_nodes = matches!(backend, Backend::Postgres(_));
        let nodes: Vec<&TestApp> = if two_nodes {
            vec![&first, &second]
        } else {
            vec![&first]
        };

        let code = generate(&first, "Abby.Smith").await;
        let wrong_code = wrong(&code);
        let answers = at_once(
            &nodes,
            (0..50)
                .map(|_| redeem_body(&key_id, &good, "Abby.Smith", &wrong_code))
                .collect(),
        )
        .await;
        assert!(
            answers.iter().all(|r| r.status == StatusCode::BAD_REQUEST),
            "{:?}",
            answers.iter().map(|r| &r.text).collect::<Vec<_>>()
        );
        let state = user_state(&first, "Abby.Smith").await;
        let record = state.record().unwrap();
        assert_eq!(record.failed_attempts(), 5, "exactly the limit counted");
        assert!(record.is_locked());
        assert_eq!(
            state.consecutive_failures(),
            5,
            "the refusals after the lock count nothing"
        );
        // Even the right code is refused now.
        let r = redeem(&first, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(api_error(&r, 400, "400.1 Bad Request Content"), [WRONG]);

        let code = generate(&first, "Abby.Smith").await;
        let answers = at_once(
            &nodes,
            (0..50)
                .map(|_| redeem_body(&key_id, &good, "Abby.Smith", &code))
                .collect(),
        )
        .await;
        let accepted = answers
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .count();
        let refused = answers
            .iter()
            .filter(|r| r.status == StatusCode::BAD_REQUEST && r.body["causes"][0]["text"] == WRONG)
            .count();
        assert_eq!((accepted, refused), (1, 49), "{backend:?}");
        println!(
            "{}: 50 wrong guesses counted 5; 50 right guesses accepted once ({} node(s))",
            backend.name(),
            nodes.len()
        );
    }
    assert_logs_clean();
}

/// Two nodes whose clocks are 3 seconds apart (within the 5-second tolerance): a token
/// issued by the one ahead is accepted by the one behind, and the limits hold.
#[tokio::test]
async fn nodes_a_few_seconds_apart_keep_every_limit() {
    for backend in backends() {
        let ahead = spawn_app_with(&backend, None, |s| {
            s.limits.redeem_per_address = "10000/1h".into();
        })
        .await;
        enable(&ahead, "acme").await;
        let behind = second_node(&ahead, Duration::seconds(-3)).await;
        let (key_id, key) = public_key(&ahead).await;
        let good = encrypt(&key, "Abby.Smith", GOOD_PASSWORD);
        // Failures alternating between the nodes: the hourly budget (a burst of 6) holds.
        let code = generate(&ahead, "Abby.Smith").await;
        let mut failures = 0;
        for i in 0..20 {
            let node = if i % 2 == 0 { &ahead } else { &behind };
            if i == 4 {
                // A fresh token from the node ahead (the first has 4 failures of 5).
                generate(&ahead, "Abby.Smith").await;
            }
            let r = redeem(
                node,
                &redeem_body(&key_id, &good, "Abby.Smith", &wrong(&code)),
            )
            .await;
            if r.status == StatusCode::BAD_REQUEST {
                failures += 1;
            } else {
                assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
            }
        }
        assert_eq!(
            failures, 6,
            "the burst of the hourly limit, across both clocks"
        );
        // After the budget's wait, a token issued by the node ahead is good on the one behind.
        ahead.clock.advance(Duration::hours(1));
        behind.clock.advance(Duration::hours(1));
        let code = generate(&ahead, "Abby.Smith").await;
        let r = redeem(&behind, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_logs_clean();
}

/// A store whose next read of one key answers stale bytes once (then everything passes
/// through): what a redemption sees when the state changes between its first look and
/// its transaction.
#[derive(Debug)]
struct StaleOnce {
    inner: Arc<dyn Store>,
    key: StateKey,
    stale: std::sync::Mutex<Option<Vec<u8>>>,
}

impl Store for StaleOnce {
    fn read<'a>(
        &'a self,
        keys: &'a [StateKey],
    ) -> BoxFuture<'a, StoreResult<Vec<Option<Vec<u8>>>>> {
        Box::pin(async move {
            let mut values = self.inner.read(keys).await?;
            if let Some(stale) = self.stale.lock().unwrap().take() {
                let i = keys.iter().position(|k| *k == self.key).unwrap();
                values[i] = Some(stale);
            }
            Ok(values)
        })
    }
    fn commit<'a>(&'a self, batch: &'a Batch) -> BoxFuture<'a, StoreResult<Committed>> {
        self.inner.commit(batch)
    }
    fn change<'a>(
        &'a self,
        t: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<PasswordChange>>> {
        self.inner.change(t, id)
    }
    fn due_changes(&self, now: i64, limit: u32) -> BoxFuture<'_, StoreResult<Vec<PasswordChange>>> {
        self.inner.due_changes(now, limit)
    }
    fn claim_change<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, StoreResult<bool>> {
        self.inner.claim_change(claim)
    }
    fn settle_change<'a>(&'a self, settle: &'a Settle) -> BoxFuture<'a, StoreResult<bool>> {
        self.inner.settle_change(settle)
    }
    fn credential<'a>(
        &'a self,
        t: &'a str,
        source: &'a str,
        account: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Credential>>> {
        self.inner.credential(t, source, account)
    }
    fn import_directory<'a>(
        &'a self,
        d: &'a [(String, String)],
        now: i64,
    ) -> BoxFuture<'a, StoreResult<()>> {
        self.inner.import_directory(d, now)
    }
    fn directory(&self) -> BoxFuture<'_, StoreResult<Vec<(String, String)>>> {
        self.inner.directory()
    }
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        self.inner.ping()
    }
}

/// The first look of a redemption sees the user locked out (as just before a help desk's
/// unlock), the transaction sees the unlocked state: the right code with a good password
/// still sets the password (the route looks again and hashes), never a 500.
#[tokio::test]
async fn a_state_that_changes_between_the_look_and_the_transaction_is_looked_at_again() {
    let first = spawn_app_with(&Backend::SqliteMemory, None, lax).await;
    enable(&first, "acme").await;
    let code = generate(&first, "Abby.Smith").await;
    let (key_id, key) = public_key(&first).await;
    let good = encrypt(&key, "Abby.Smith", GOOD_PASSWORD);
    // The stored state, with 100 wrong codes in a row (the cap of `lax`): locked out.
    let user = rows::user_key("acme", "Abby.Smith");
    let mut locked = first
        .state
        .store()
        .read(std::slice::from_ref(&user))
        .await
        .unwrap()[0]
        .clone()
        .unwrap();
    let at = locked.len() - 2;
    locked[at..].copy_from_slice(&100u16.to_be_bytes());
    assert!(
        UserState::decode(&locked)
            .unwrap()
            .is_locked_out(&"consecutive 100".parse().unwrap())
    );
    let store = Arc::new(StaleOnce {
        inner: Arc::clone(first.state.store()),
        key: user,
        stale: std::sync::Mutex::new(Some(locked)),
    });
    let node = spawn_app_with(&Backend::SqliteMemory, Some(store), lax).await;
    let r = redeem(&node, &redeem_body(&key_id, &good, "Abby.Smith", &code)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "FINISHED");
    assert!(
        user_state(&first, "Abby.Smith")
            .await
            .record()
            .unwrap()
            .is_used()
    );
    assert_logs_clean();
}
