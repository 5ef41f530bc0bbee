//! HTTP-level tests of every implemented operation, on SQLite (memory) and, when
//! `DATABASE_URL` is set, PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failed expectation is a failed test"
)]

mod common;

use axum::body::Body;
use axum::http::{StatusCode, header};
use base64ct::{Base64, Encoding};
use common::*;
use password_mgmt::{PasswordEncryptor, Scheme};
use password_mgmt_server::hashing::verify_blocking;
use password_mgmt_server::store::{
    Batch, CasWrite, Committed, Kind, NewChange, ORG_CONFIG_KEY, StateKey,
};
use password_mgmt_server::worker;
use serde_json::{Value, json};

#[tokio::test]
async fn health_and_readiness() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let live = app.call("GET", "/healthz", None, None, Body::empty()).await;
        assert_eq!(live.status, StatusCode::OK);
        let ready = app.call("GET", "/readyz", None, None, Body::empty()).await;
        assert_eq!(ready.status, StatusCode::OK, "{}", backend.name());
        assert!(ready.headers.get("x-request-id").is_some());
    }
    assert_logs_clean();
}

/// The test key is RSA-2048 under PKCS#1 v1.5 (245 bytes of password) and the sample's
/// My-AD allows 64 characters (up to 256 bytes): the server says so at start, naming the
/// source. Legacy-LDAP (no maximum) is named too; HR-Feed (no PASSWORD feature) is not.
#[tokio::test]
async fn a_policy_the_key_cannot_carry_is_warned_of_at_start() {
    let _app = spawn_app(&Backend::SqliteMemory).await;
    let logs = logs();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("may not fit the served key"))
        .collect();
    let my_ad = warnings
        .iter()
        .find(|l| l.contains("source=My-AD"))
        .expect("My-AD is warned of");
    assert!(my_ad.contains("WARN"), "{my_ad}");
    assert!(
        my_ad.contains("passwordMaxLength is 64 (up to 256 bytes of UTF-8), but the transport carries 245 bytes: 61 characters are sure to fit (245 if ASCII)"),
        "{my_ad}"
    );
    assert!(warnings.iter().any(|l| l.contains("source=Legacy-LDAP")));
    assert!(!warnings.iter().any(|l| l.contains("source=HR-Feed")));
}

#[tokio::test]
async fn bearer_tokens_rs256_and_eddsa_and_every_401() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let now = app.now();
        let path = "/v2025/password-org-config";
        let ok = claims(now, "acme", "idn:password-org-config:read");
        assert_eq!(app.get(path, &rs256(&ok)).await.status, StatusCode::OK);
        assert_eq!(app.get(path, &eddsa(&ok)).await.status, StatusCode::OK);

        let missing = app.call("GET", path, None, None, Body::empty()).await;
        assert_eq!(unauthorized(&missing), "Authorization header is missing");
        let basic = app
            .send(
                axum::http::Request::builder()
                    .uri(path)
                    .header(header::AUTHORIZATION, "Basic dXNlcjpwdw==")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            unauthorized(&basic),
            "JWT validation failed: the Authorization header is not a Bearer token"
        );
        assert_eq!(
            unauthorized(&app.get(path, "not-a-jwt").await),
            "JWT validation failed: JWT is malformed"
        );

        let mut expired = ok.clone();
        expired.exp = Some(now - 31);
        assert_eq!(
            unauthorized(&app.get(path, &rs256(&expired)).await),
            "JWT validation failed: JWT is expired"
        );
        let mut within_leeway = ok.clone();
        within_leeway.exp = Some(now - 29);
        assert_eq!(
            app.get(path, &rs256(&within_leeway)).await.status,
            StatusCode::OK
        );

        let mut early = ok.clone();
        early.nbf = Some(now + 120);
        assert_eq!(
            unauthorized(&app.get(path, &eddsa(&early)).await),
            "JWT validation failed: JWT is not yet valid"
        );
        let mut issuer = ok.clone();
        issuer.iss = Some("https://evil.test".into());
        assert_eq!(
            unauthorized(&app.get(path, &rs256(&issuer)).await),
            "JWT validation failed: JWT issuer is not accepted"
        );
        let mut audience = ok.clone();
        audience.aud = Some(json!("someone-else"));
        assert_eq!(
            unauthorized(&app.get(path, &rs256(&audience)).await),
            "JWT validation failed: JWT audience is not accepted"
        );
        let mut no_org = ok.clone();
        no_org.org = None;
        assert_eq!(
            unauthorized(&app.get(path, &rs256(&no_org)).await),
            "JWT validation failed: JWT has no org claim"
        );

        // Signed by a key the server does not know, with a known kid and with none.
        let (stranger, _) = password_mgmt_server::keys::SigningKey::generate(
            &mut password_mgmt_server::entropy::Entropy::seeded(99),
        )
        .unwrap();
        for kid in [Some("ext-ed".to_owned()), None] {
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
            header.kid = kid;
            let token = jsonwebtoken::encode(&header, &ok, stranger.encoding_key()).unwrap();
            secret(&token);
            assert_eq!(
                unauthorized(&app.get(path, &token).await),
                "JWT validation failed: JWT signature does not match any accepted key"
            );
        }
        // A tampered payload.
        let token = rs256(&ok);
        let mut parts: Vec<&str> = token.split('.').collect();
        let evil = base64ct::Base64UrlUnpadded::encode_string(
            serde_json::to_string(&claims(now, "globex", "sp:scopes:all"))
                .unwrap()
                .as_bytes(),
        );
        parts[1] = &evil;
        let tampered = parts.join(".");
        assert!(
            unauthorized(&app.get(path, &tampered).await)
                .starts_with("JWT validation failed: JWT signature")
        );
        // HS256 is refused whatever the key.
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &ok,
            &jsonwebtoken::EncodingKey::from_secret(b"k").unwrap(),
        )
        .unwrap();
        assert!(unauthorized(&app.get(path, &hs).await).contains("algorithm"));
    }
    assert_logs_clean();
}

#[tokio::test]
async fn missing_scope_is_403_with_the_api_body() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = rs256(&claims(app.now(), "acme", "idn:password-org-config:read"));
        let r = app
            .json(
                "PUT",
                "/v2025/password-org-config",
                &token,
                &json!({"digitTokenEnabled": true}),
            )
            .await;
        let causes = api_error(&r, 403, "403 Forbidden");
        assert_eq!(
            r.body["messages"][0]["text"],
            "The server understood the request but refuses to authorize it."
        );
        assert!(causes[0].contains("idn:password-org-config:write"));
        let r = app
            .json(
                "POST",
                "/v2025/query-password-info",
                &token,
                &json!({"userName": "Abby.Smith", "sourceName": "My-AD"}),
            )
            .await;
        api_error(&r, 403, "403 Forbidden");
    }
    assert_logs_clean();
}

#[tokio::test]
async fn org_config_get_create_update_on_every_mount() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = app.admin("acme");
        for (i, base) in [
            "/v2025/password-org-config",
            "/beta/password-org-config",
            "/password-org-config/v1",
        ]
        .iter()
        .enumerate()
        {
            let tenant_token = if i == 0 {
                token.clone()
            } else {
                app.admin(["acme", "globex", "initech"][i])
            };
            let defaults = app.get(base, &tenant_token).await;
            assert_eq!(defaults.status, StatusCode::OK);
            assert_eq!(
                defaults.body,
                json!({"customInstructionsEnabled": false, "digitTokenEnabled": false, "digitTokenDurationMinutes": 5, "digitTokenLength": 6})
            );
            let created = app
                .json(
                    "POST",
                    base,
                    &tenant_token,
                    &json!({"digitTokenEnabled": true, "digitTokenLength": 9, "unknownField": 1}),
                )
                .await;
            assert_eq!(created.status, StatusCode::OK, "{}", created.text);
            assert_eq!(created.body["digitTokenLength"], 9);
            assert_eq!(created.body["digitTokenDurationMinutes"], 5);
            let again = app.json("POST", base, &tenant_token, &json!({})).await;
            let causes = api_error(&again, 400, "400.1 Bad Request Content");
            assert!(causes[0].contains("exists already"), "{causes:?}");
            let updated = app
                .json(
                    "PUT",
                    base,
                    &tenant_token,
                    &json!({"digitTokenDurationMinutes": 10}),
                )
                .await;
            assert_eq!(updated.status, StatusCode::OK);
            assert_eq!(
                updated.body,
                json!({"customInstructionsEnabled": false, "digitTokenEnabled": true, "digitTokenDurationMinutes": 10, "digitTokenLength": 9})
            );
            let bad = app
                .json(
                    "PUT",
                    base,
                    &tenant_token,
                    &json!({"digitTokenDurationMinutes": 0, "digitTokenLength": 19}),
                )
                .await;
            let causes = api_error(&bad, 400, "400.1 Bad Request Content");
            assert_eq!(causes.len(), 2, "{causes:?}");
            assert!(
                causes[0].contains("digitTokenDurationMinutes")
                    && causes[1].contains("digitTokenLength")
            );
            assert_eq!(
                app.get(base, &tenant_token).await.body,
                updated.body,
                "a refused update changes nothing"
            );
        }
        // Tenants are apart: acme's config is not globex's.
        assert_eq!(
            app.get("/v2025/password-org-config", &app.admin("umbrella"))
                .await
                .body["digitTokenEnabled"],
            false
        );
    }
    assert_logs_clean();
}

#[tokio::test]
async fn concurrent_partial_updates_all_survive() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = app.admin("acme");
        for round in 0..5_i64 {
            let bodies = [
                json!({"customInstructionsEnabled": round % 2 == 0}),
                json!({"digitTokenEnabled": round % 2 == 1}),
                json!({"digitTokenDurationMinutes": 10 + round}),
                json!({"digitTokenLength": 7 + round}),
            ];
            let tasks: Vec<_> = bodies
                .iter()
                .map(|body| {
                    let router = app.router.clone();
                    let request = axum::http::Request::builder()
                        .method("PUT")
                        .uri("/v2025/password-org-config")
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap();
                    tokio::spawn(async move {
                        use tower::ServiceExt as _;
                        router.oneshot(request).await.unwrap().status()
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), StatusCode::OK);
            }
            let got = app.get("/v2025/password-org-config", &token).await.body;
            assert_eq!(
                got,
                json!({
                    "customInstructionsEnabled": round % 2 == 0,
                    "digitTokenEnabled": round % 2 == 1,
                    "digitTokenDurationMinutes": 10 + round,
                    "digitTokenLength": 7 + round,
                }),
                "{} round {round}",
                backend.name()
            );
        }
    }
    assert_logs_clean();
}

#[tokio::test]
async fn bad_bodies_are_the_api_400_or_413() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = app.admin("acme");
        let path = "/v2025/password-org-config";
        let r = app
            .call(
                "PUT",
                path,
                Some(&token),
                Some("application/json"),
                "{\"digitTokenLength\": ",
            )
            .await;
        let causes = api_error(&r, 400, "400.1 Bad Request Content");
        assert!(causes[0].starts_with("invalid JSON body"), "{causes:?}");

        let r = app
            .call(
                "PUT",
                path,
                Some(&token),
                Some("application/json"),
                "{\"digitTokenLength\": \"8\"}",
            )
            .await;
        let causes = api_error(&r, 400, "400.1 Bad Request Content");
        assert_eq!(causes.len(), 1);
        assert!(
            causes[0].starts_with("invalid JSON body: digitTokenLength: invalid type"),
            "{causes:?}"
        );
        assert_eq!(
            causes[0].matches("digitTokenLength").count(),
            1,
            "the field is named once: {causes:?}"
        );

        let r = app
            .call("PUT", path, Some(&token), Some("text/plain"), "{}")
            .await;
        assert_eq!(
            api_error(&r, 400, "400.1 Bad Request Content"),
            ["Content-Type must be application/json"]
        );
        let r = app.call("PUT", path, Some(&token), None, "{}").await;
        api_error(&r, 400, "400.1 Bad Request Content");
        let r = app
            .call("PUT", path, Some(&token), Some("application/json"), "")
            .await;
        let causes = api_error(&r, 400, "400.1 Bad Request Content");
        assert!(causes[0].contains("missing"), "{causes:?}");
        let r = app
            .call(
                "PUT",
                path,
                Some(&token),
                Some("application/json"),
                "[1, 2]",
            )
            .await;
        api_error(&r, 400, "400.1 Bad Request Content");

        let big = format!(
            "{{\"digitTokenLength\": 8, \"pad\": \"{}\"}}",
            "x".repeat(5000)
        );
        let r = app
            .call("PUT", path, Some(&token), Some("application/json"), big)
            .await;
        api_error(&r, 413, "413 Payload Too Large");

        let r = app
            .call(
                "GET",
                "/v2025/no-such-thing",
                Some(&token),
                None,
                Body::empty(),
            )
            .await;
        api_error(&r, 404, "404 Not found");
        let r = app
            .call("DELETE", path, Some(&token), None, Body::empty())
            .await;
        api_error(&r, 405, "405 Method Not Allowed");
    }
    assert_logs_clean();
}

async fn query_info(
    app: &TestApp,
    base: &str,
    token: &str,
    user: &str,
    source: &str,
) -> TestResponse {
    app.json(
        "POST",
        base,
        token,
        &json!({"userName": user, "sourceName": source}),
    )
    .await
}

#[tokio::test]
async fn query_password_info() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = app.admin("acme");
        for base in [
            "/v2025/query-password-info",
            "/beta/query-password-info",
            "/query-password-info/v1",
        ] {
            let r = query_info(&app, base, &token, "Abby.Smith", "My-AD").await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body["identityId"], ABBY);
            assert_eq!(r.body["sourceId"], MY_AD);
            assert_eq!(r.body["publicKey"], read_key("rsa2048.spki.b64").trim());
            let id = app
                .state
                .password_keys()
                .current(Scheme::Pkcs1v15)
                .unwrap()
                .public_key_id()
                .to_string();
            assert_eq!(r.body["publicKeyId"], id);
            assert_eq!(
                r.body["accounts"],
                json!([{"accountId": ABBY_AD_ACCOUNT, "accountName": "Abby.Smith"}])
            );
            assert_eq!(r.body["policies"][0], "passwordMinLength is 15");
        }
        let legacy = query_info(
            &app,
            "/v2025/query-password-info",
            &token,
            "Abby.Smith",
            "Legacy-LDAP",
        )
        .await;
        assert_eq!(
            legacy.body["policies"],
            json!([
                "passwordRepeatedChar is 3",
                "passwordMinAlpha is 1",
                "passwordMinLength is 5",
                "passwordMinNumeric is 1"
            ])
        );
        let unknown_user = query_info(
            &app,
            "/v2025/query-password-info",
            &token,
            "Nobody",
            "My-AD",
        )
        .await;
        let unknown_source = query_info(
            &app,
            "/v2025/query-password-info",
            &token,
            "Abby.Smith",
            "Nope",
        )
        .await;
        assert_eq!(
            api_error(&unknown_user, 400, "400.1 Bad Request Content"),
            api_error(&unknown_source, 400, "400.1 Bad Request Content"),
            "unknown user and unknown source answer alike"
        );
        let missing = app
            .json("POST", "/v2025/query-password-info", &token, &json!({}))
            .await;
        assert_eq!(
            api_error(&missing, 400, "400.1 Bad Request Content").len(),
            2
        );

        // A user's token: its own identity only.
        let abby = app.user("acme", ABBY);
        assert_eq!(
            query_info(
                &app,
                "/v2025/query-password-info",
                &abby,
                "Abby.Smith",
                "My-AD"
            )
            .await
            .status,
            StatusCode::OK
        );
        api_error(
            &query_info(
                &app,
                "/v2025/query-password-info",
                &abby,
                "Brian.Jones",
                "My-AD",
            )
            .await,
            403,
            "403 Forbidden",
        );
        api_error(
            &query_info(&app, "/v2025/query-password-info", &abby, "Nobody", "My-AD").await,
            403,
            "403 Forbidden",
        );

        // Another tenant's token sees that tenant's directory only.
        let globex = query_info(
            &app,
            "/v2025/query-password-info",
            &app.admin("globex"),
            "Abby.Smith",
            "Globex-AD",
        )
        .await;
        assert_eq!(
            globex.body["identityId"],
            "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
        );
        let cross = query_info(
            &app,
            "/v2025/query-password-info",
            &app.admin("globex"),
            "Abby.Smith",
            "My-AD",
        )
        .await;
        api_error(&cross, 400, "400.1 Bad Request Content");
    }
    assert_logs_clean();
}

fn change_body(key_id: &str, encrypted: &str) -> Value {
    json!({
        "identityId": ABBY,
        "encryptedPassword": encrypted,
        "publicKeyId": key_id,
        "accountId": ABBY_AD_ACCOUNT,
        "sourceId": MY_AD,
    })
}

async fn wait_for_state(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..200 {
        let r = app
            .get(&format!("/v2025/password-change-status/{id}"), token)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if r.body["state"] != "IN_PROGRESS" {
            return r.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the change never left IN_PROGRESS");
}

#[tokio::test]
async fn set_password_end_to_end() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = app.admin("acme");
        let info = query_info(
            &app,
            "/v2025/query-password-info",
            &token,
            "Abby.Smith",
            "My-AD",
        )
        .await
        .body;
        let key_id = info["publicKeyId"].as_str().unwrap();
        let password = "correct horse battery staple 42";
        let encrypted = encrypt(info["publicKey"].as_str().unwrap(), ABBY, password);
        for (i, path) in [
            "/v2025/set-password",
            "/beta/set-password",
            "/set-password/v1",
        ]
        .iter()
        .enumerate()
        {
            let r = app
                .json("POST", path, &token, &change_body(key_id, &encrypted))
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
            assert_eq!(r.body["state"], "IN_PROGRESS");
            let id = r.body["requestId"].as_str().unwrap().to_owned();
            let status_path = [
                "/v2025/password-change-status/",
                "/beta/password-change-status/",
                "/password-change-status/v1/",
            ][i];
            let done = wait_for_state(&app, &token, &id).await;
            assert_eq!(
                done,
                json!({"requestId": id, "state": "FINISHED", "errors": [], "sourceIds": [MY_AD]})
            );
            let r = app.get(&format!("{status_path}{id}"), &token).await;
            assert_eq!(r.body["state"], "FINISHED");
            let credential = app
                .state
                .store()
                .credential("acme", MY_AD, ABBY_AD_ACCOUNT)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(credential.change_id, id);
            assert!(credential.phc.starts_with("$argon2id$"));
            assert!(verify_blocking(&credential.phc, password));
            assert!(!verify_blocking(
                &credential.phc,
                "correct horse battery staple 43"
            ));
        }
        // The user's own token works too; another identity's does not.
        let abby = app.user("acme", ABBY);
        let r = app
            .json(
                "POST",
                "/v2025/set-password",
                &abby,
                &change_body(key_id, &encrypted),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let brian = app.user("acme", BRIAN);
        let r = app
            .json(
                "POST",
                "/v2025/set-password",
                &brian,
                &change_body(key_id, &encrypted),
            )
            .await;
        api_error(&r, 403, "403 Forbidden");
        let id = app
            .json(
                "POST",
                "/v2025/set-password",
                &token,
                &change_body(key_id, &encrypted),
            )
            .await
            .body["requestId"]
            .as_str()
            .unwrap()
            .to_owned();
        api_error(
            &app.get(&format!("/v2025/password-change-status/{id}"), &brian)
                .await,
            403,
            "403 Forbidden",
        );
        // Another tenant does not see the change.
        let other = app
            .get(
                &format!("/v2025/password-change-status/{id}"),
                &app.admin("globex"),
            )
            .await;
        api_error(&other, 404, "404 Not found");
        let unknown = app
            .get(
                "/v2025/password-change-status/00000000-0000-4000-8000-000000000000",
                &token,
            )
            .await;
        api_error(&unknown, 404, "404 Not found");
    }
    assert_logs_clean();
}

#[tokio::test]
async fn set_password_refusals_store_nothing() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = app.admin("acme");
        let info = query_info(
            &app,
            "/v2025/query-password-info",
            &token,
            "Abby.Smith",
            "My-AD",
        )
        .await
        .body;
        let key_id = info["publicKeyId"].as_str().unwrap();
        let public_key = info["publicKey"].as_str().unwrap();

        // Forged (the right length, random bytes) and truncated (left-padded, then
        // garbage): every failure to decrypt answers exactly alike but for the tracking id.
        let good = encrypt(public_key, ABBY, "a long enough passphrase for the AD");
        let forged = Base64::encode_string(&[0x5a; 256]);
        let truncated = Base64::encode_string(&Base64::decode_vec(&good).unwrap()[..200]);
        let mut bodies = Vec::new();
        for encrypted in [&forged, &truncated] {
            let r = app
                .json(
                    "POST",
                    "/v2025/set-password",
                    &token,
                    &change_body(key_id, encrypted),
                )
                .await;
            let causes = api_error(&r, 400, "400.1 Bad Request Content");
            let mut body = r.body.clone();
            body["trackingId"] = Value::Null;
            bodies.push((causes, body));
        }
        assert_eq!(bodies[0], bodies[1], "decryption failures answer alike");
        assert_eq!(
            bodies[0].0,
            ["the encrypted password could not be decrypted"]
        );
        // A password that decrypts but breaks the policy: its broken rules, by counts.
        let short = encrypt(public_key, ABBY, "short pw 1");
        let causes = api_error(
            &app.json(
                "POST",
                "/v2025/set-password",
                &token,
                &change_body(key_id, &short),
            )
            .await,
            400,
            "400.1 Bad Request Content",
        );
        assert_eq!(
            causes,
            ["passwordMinLength: at least 15 required, found 10"]
        );
        // Longer than the modulus: the length is public, and named.
        let long = Base64::encode_string(&[0x5a; 257]);
        let causes = api_error(
            &app.json(
                "POST",
                "/v2025/set-password",
                &token,
                &change_body(key_id, &long),
            )
            .await,
            400,
            "400.1 Bad Request Content",
        );
        assert!(causes[0].contains("encryptedPassword"), "{causes:?}");
        let causes = api_error(
            &app.json(
                "POST",
                "/v2025/set-password",
                &token,
                &change_body(key_id, "not base64!"),
            )
            .await,
            400,
            "400.1 Bad Request Content",
        );
        assert!(causes[0].contains("encryptedPassword"), "{causes:?}");
        // Unknown key id.
        let unknown_key = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let causes = api_error(
            &app.json(
                "POST",
                "/v2025/set-password",
                &token,
                &change_body(unknown_key, &good),
            )
            .await,
            400,
            "400.1 Bad Request Content",
        );
        assert!(causes[0].contains("publicKeyId"), "{causes:?}");
        // A source without the PASSWORD feature; an account that is not Abby's; a missing field.
        let mut body = change_body(key_id, &good);
        body["sourceId"] = json!(HR_FEED);
        api_error(
            &app.json("POST", "/v2025/set-password", &token, &body).await,
            400,
            "400.1 Bad Request Content",
        );
        let mut body = change_body(key_id, &good);
        body["accountId"] =
            json!("CN=Brian Jones,OU=Austin,OU=Americas,OU=Demo,DC=seri,DC=acme,DC=com");
        api_error(
            &app.json("POST", "/v2025/set-password", &token, &body).await,
            400,
            "400.1 Bad Request Content",
        );
        let mut body = change_body(key_id, &good);
        body.as_object_mut().unwrap().remove("publicKeyId");
        let causes = api_error(
            &app.json("POST", "/v2025/set-password", &token, &body).await,
            400,
            "400.1 Bad Request Content",
        );
        assert_eq!(causes, ["publicKeyId is required"]);

        // Nothing was recorded or written.
        let far = password_mgmt_server::clock::to_millis(password_mgmt::time::UtcDateTime::MAX);
        assert!(
            app.state
                .store()
                .due_changes(far, 100)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            app.state
                .store()
                .credential("acme", MY_AD, ABBY_AD_ACCOUNT)
                .await
                .unwrap()
                .is_none()
        );

        // A password encrypted under the previous key (still in the ring) is accepted.
        let previous = read_key("rsa3072.spki.b64");
        let previous_id = PasswordEncryptor::from_spki_base64(previous.trim(), Scheme::Pkcs1v15)
            .unwrap()
            .public_key_id()
            .to_string();
        let old = encrypt(previous.trim(), ABBY, "rotated keys fail no one in flight");
        let r = app
            .json(
                "POST",
                "/v2025/set-password",
                &token,
                &change_body(&previous_id, &old),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn a_change_left_behind_is_applied_once_by_the_worker() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let token = app.admin("acme");
        let now = password_mgmt_server::clock::to_millis(app.state.now());
        let params = argon2::Params::new(256, 1, 1, None).unwrap();
        let phc = password_mgmt_server::hashing::hash_blocking(
            &params,
            b"left behind by a dead node",
            &mut app.state.rng(),
        )
        .unwrap();
        secret("left behind by a dead node");
        // As a node that answered 202 and died: recorded, lease running, never applied.
        let change = NewChange {
            tenant: "acme".into(),
            id: "dead-node-change".into(),
            identity_id: ABBY.into(),
            source_id: MY_AD.into(),
            account_id: ABBY_AD_ACCOUNT.into(),
            pending_hash: Some(phc),
            created_at: now,
            lease_until: now + 30_000,
        };
        let batch = Batch {
            changes: vec![change],
            ..Batch::default()
        };
        assert_eq!(
            app.state.store().commit(&batch).await.unwrap(),
            Committed::Applied
        );
        assert_eq!(
            worker::sweep(&app.state).await.unwrap(),
            0,
            "the lease still runs"
        );
        app.clock
            .advance(password_mgmt::time::Duration::seconds(31));
        // Two nodes' workers at once: exactly one applies it.
        let (a, b) = tokio::join!(worker::sweep(&app.state), worker::sweep(&app.state));
        assert_eq!(a.unwrap() + b.unwrap(), 1);
        let done = wait_for_state(&app, &token, "dead-node-change").await;
        assert_eq!(done["state"], "FINISHED");
        let credential = app
            .state
            .store()
            .credential("acme", MY_AD, ABBY_AD_ACCOUNT)
            .await
            .unwrap()
            .unwrap();
        assert!(verify_blocking(
            &credential.phc,
            "left behind by a dead node"
        ));
        let change = app
            .state
            .store()
            .change("acme", "dead-node-change")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(change.attempts, 1);
        assert!(
            change.pending_hash.is_none(),
            "the hash is forgotten once applied"
        );
        assert_eq!(worker::sweep(&app.state).await.unwrap(), 0);
    }
    assert_logs_clean();
}

#[tokio::test]
async fn oauth_client_credentials() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let form = |body: &str| {
            axum::http::Request::builder()
                .method("POST")
                .uri("/oauth/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .unwrap()
        };
        let before = app.state.hasher().verifications();
        let ok = app
            .send(form(&format!(
                "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )))
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
        assert_eq!(ok.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(ok.body["token_type"], "Bearer");
        assert_eq!(ok.body["expires_in"], 3600);
        assert_eq!(ok.body["scope"], "sp:scopes:all");
        let access = ok.body["access_token"].as_str().unwrap().to_owned();
        secret(&access);
        let header = jsonwebtoken::decode_header(&access).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(app.own_kid()));
        let used = app
            .json(
                "POST",
                "/v2025/query-password-info",
                &access,
                &json!({"userName": "Abby.Smith", "sourceName": "My-AD"}),
            )
            .await;
        assert_eq!(used.status, StatusCode::OK, "{}", used.text);
        assert_eq!(app.state.hasher().verifications(), before + 1);

        // HTTP Basic, with a narrower scope asked for.
        let basic = Base64::encode_string(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes());
        let mut request = form("grant_type=client_credentials&scope=idn%3Apassword-info%3Aread");
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        let r = app.send(request).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["scope"], "idn:password-info:read");
        secret(r.body["access_token"].as_str().unwrap());
        let narrow = r.body["access_token"].as_str().unwrap().to_owned();
        api_error(
            &app.get("/v2025/password-org-config", &narrow).await,
            403,
            "403 Forbidden",
        );

        // Wrong secret and unknown client: the same answer, one Argon2 verification each.
        let before = app.state.hasher().verifications();
        let wrong = app
            .send(form(&format!(
                "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=wrong"
            )))
            .await;
        let unknown = app
            .send(form(
                "grant_type=client_credentials&client_id=nobody&client_secret=wrong",
            ))
            .await;
        assert_eq!(
            app.state.hasher().verifications(),
            before + 2,
            "both paths verify once"
        );
        for r in [&wrong, &unknown] {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
            assert_eq!(r.body["error"], "invalid_client");
        }
        assert_eq!(wrong.body, unknown.body);
        let mut request = form("grant_type=client_credentials");
        request.headers_mut().insert(
            header::AUTHORIZATION,
            format!("Basic {}", Base64::encode_string(b"nobody:x"))
                .parse()
                .unwrap(),
        );
        let r = app.send(request).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.headers
                .get(header::WWW_AUTHENTICATE)
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );

        let r = app
            .send(form(&format!(
                "grant_type=password&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )))
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
        );
        let r = app
            .send(form(&format!(
                "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
            )))
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
        let r = app
            .send(form(&format!("grant_type=client_credentials&client_id=narrow-client&client_secret={CLIENT_SECRET}&scope=idn%3Apassword%3Aset")))
            .await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_scope"))
        );
        let r = app
            .call("POST", "/oauth/token", None, Some("application/json"), "{}")
            .await;
        assert_eq!(r.body["error"], "invalid_request");
        let r = app
            .send(form(&format!("grant_type=client_credentials&grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}")))
            .await;
        assert_eq!(r.body["error"], "invalid_request");

        let jwks = app
            .call("GET", "/.well-known/jwks.json", None, None, Body::empty())
            .await;
        assert_eq!(jwks.body["keys"][0]["kid"], app.own_kid());
        assert_eq!(jwks.body["keys"][0]["crv"], "Ed25519");
        assert!(jwks.body["keys"][0].get("d").is_none(), "no private part");
    }
    assert_logs_clean();
}

#[tokio::test]
async fn a_real_socket_on_port_zero() {
    let app = spawn_app(&Backend::SqliteMemory).await;
    let server = password_mgmt_server::Application::with_state(app.state.clone())
        .await
        .unwrap();
    let port = server.port();
    assert_ne!(port, 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-request-id:"),
        "{answer}"
    );
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_logs_name_no_secret() {
    // Runs a little of everything, then checks every secret any test registered.
    let app = spawn_app(&Backend::SqliteMemory).await;
    let token = app.admin("acme");
    let r = app
        .call(
            "GET",
            "/v2025/password-org-config",
            Some(&token),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let logs = logs();
    assert!(
        logs.contains("request_id="),
        "the request span carries the request id"
    );
    assert!(
        logs.contains("tenant=\"acme\""),
        "the request span carries the tenant"
    );
    assert!(!logs.to_ascii_lowercase().contains("authorization: bearer"));
    assert_logs_clean();
}

#[tokio::test]
async fn an_internal_fault_is_opaque_and_logged_once_with_its_tracking_id() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        // Stored bytes the server did not write: decoding them is an internal fault.
        let batch = Batch {
            writes: vec![CasWrite {
                key: StateKey::new("acme", Kind::OrgConfig, ORG_CONFIG_KEY),
                expected: None,
                new: vec![9, 9, 9],
            }],
            ..Default::default()
        };
        assert_eq!(
            app.state.store().commit(&batch).await.unwrap(),
            Committed::Applied
        );
        let r = app
            .get("/v2025/password-org-config", &app.admin("acme"))
            .await;
        assert!(
            api_error(&r, 500, "500.0 Internal Fault").is_empty(),
            "no cause: {}",
            r.text
        );
        assert_eq!(r.body["messages"][0]["text"], "An internal fault occurred.");
        assert!(!r.text.contains("encoding"), "nothing internal in the body");
        let tracking = r.body["trackingId"].as_str().unwrap();
        let request_id = r.headers["x-request-id"].to_str().unwrap();
        let lines: Vec<String> = logs()
            .lines()
            .filter(|l| {
                l.contains(tracking) && l.contains(request_id) && l.contains("internal fault")
            })
            .map(str::to_owned)
            .collect();
        assert_eq!(lines.len(), 1, "logged once: {lines:?}");
        assert!(
            lines[0].contains("stored org config") && lines[0].contains("request_id="),
            "{}",
            lines[0]
        );
    }
    assert_logs_clean();
}
