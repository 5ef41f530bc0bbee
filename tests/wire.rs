//! Wire types: every seed example parses and re-serializes to equivalent JSON; the bad
//! inputs are refused with errors that name the field; conversions into the crate's types.

#![cfg(feature = "serde")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

mod fixtures;

use std::fs;
use std::path::Path;

use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::wire::{
    DigitTokenRequest, DigitTokenResponse, ErrorResponse, LocaleOrigin, PasswordChangeRequest,
    PasswordChangeResponse, PasswordInfo, PasswordInfoQuery, PasswordOrgConfig, PasswordState,
    PasswordStatus, TooManyRequests, TrackingId, Unauthorized,
};
use password_mgmt::{DetailCode, Error, Scheme};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn seed(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/seeds")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a seed example as `T` and checks that it serializes back to the same JSON value.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let text = seed(name);
    let parsed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let original: Value = serde_json::from_str(&text).unwrap();
    let again = serde_json::to_value(&parsed).unwrap();
    assert_eq!(again, original, "{name}");
    parsed
}

fn error_of<T: DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
    serde_json::from_str::<T>(json).unwrap_err().to_string()
}

#[test]
fn every_seed_example_round_trips() {
    let request: DigitTokenRequest = round_trip("digit-token.request.json");
    assert_eq!(
        (
            request.user_id.as_str(),
            request.length,
            request.duration_minutes
        ),
        ("Abby.Smith", Some(8), Some(5))
    );
    let response: DigitTokenResponse = round_trip("digit-token.response.json");
    assert_eq!(response.digit_token.as_ref().unwrap().as_str(), "09087713");
    assert_eq!(
        response.request_id.as_deref(),
        Some("e1267ecd-fcd9-4c73-9c55-12555efad136")
    );
    let config: PasswordOrgConfig = round_trip("password-org-config.json");
    assert_eq!(config.digit_token_length, Some(9));
    let config: PasswordOrgConfig = round_trip("password-org-config.response.json");
    assert_eq!(config.digit_token_length, Some(12));
    let query: PasswordInfoQuery = round_trip("password-info.request.json");
    assert_eq!(query.user_name.as_deref(), Some("Abby.Smith"));
    let info: PasswordInfo = round_trip("password-info.response.json");
    assert_eq!(info.accounts.as_ref().unwrap().len(), 2);
    let change: PasswordChangeRequest = round_trip("set-password.request.json");
    assert_eq!(change.encrypted_password().unwrap().as_bytes().len(), 256);
    let accepted: PasswordChangeResponse = round_trip("set-password.response.json");
    assert_eq!(accepted.state, Some(PasswordState::InProgress));
    let status: PasswordStatus = round_trip("password-change-status.json");
    assert_eq!(status.state, Some(PasswordState::InProgress));
    for name in ["error.400.json", "error.403.json", "error.500.json"] {
        let body: ErrorResponse = round_trip(name);
        assert_eq!(
            body.messages.unwrap()[0].locale_origin,
            Some(LocaleOrigin::Default)
        );
    }
    let unauthorized: Unauthorized = round_trip("error.401.json");
    assert_eq!(
        unauthorized.error.as_deref(),
        Some("JWT validation failed: JWT is expired")
    );
    let limited: TooManyRequests = round_trip("error.429.json");
    assert_eq!(limited.message.as_deref(), Some(" Rate Limit Exceeded "));
}

#[test]
fn a_numeric_digit_token_is_refused_with_the_reason() {
    let err = serde_json::from_str::<DigitTokenResponse>(&seed(
        "digit-token.response.schema-number.json",
    ))
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("digitToken: must be a JSON string, not a number"),
        "{err}"
    );
    for bad in [
        r#"{"digitToken":"12345"}"#,
        r#"{"digitToken":"1234567890123456789"}"#,
        r#"{"digitToken":"12345a"}"#,
        r#"{"digitToken":-90877}"#,
        r#"{"digitToken":9.5}"#,
        r#"{"digitToken":true}"#,
    ] {
        let err = error_of::<DigitTokenResponse>(bad);
        assert!(err.contains("digitToken"), "{bad}: {err}");
    }
    // The token is a secret in Debug too.
    let response: DigitTokenResponse =
        serde_json::from_str(&seed("digit-token.response.json")).unwrap();
    assert!(!format!("{response:?}").contains("09087713"));
}

#[test]
fn wrong_types_name_the_field() {
    let cases: [(&str, &str); 8] = [
        (
            r#"{"userId":"a","length":"8"}"#,
            "length: invalid type: string",
        ),
        (
            r#"{"userId":"a","durationMinutes":5.5}"#,
            "durationMinutes: invalid type: floating point",
        ),
        (r#"{"userId":"a","length":99999999999999999999}"#, "length:"),
        (r#"{"userId":7}"#, "userId: invalid type: integer"),
        (r#"{"length":8}"#, "missing field `userId`"),
        (
            r#"{"digitTokenEnabled":"yes"}"#,
            "digitTokenEnabled: invalid type",
        ),
        (
            r#"{"policies":"passwordMinLength is 5"}"#,
            "policies: invalid type",
        ),
        (
            r#"{"messages":[{"localeOrigin":5}]}"#,
            "localeOrigin: invalid type",
        ),
    ];
    for (json, expected) in cases {
        let err = match json {
            j if j.contains("digitTokenEnabled") => error_of::<PasswordOrgConfig>(j),
            j if j.contains("policies") => error_of::<PasswordInfo>(j),
            j if j.contains("messages") => error_of::<ErrorResponse>(j),
            j => error_of::<DigitTokenRequest>(j),
        };
        assert!(
            err.starts_with(expected) || err.contains(expected),
            "{json}: {err}"
        );
    }
}

#[test]
fn unknown_fields_are_ignored_and_unknown_states_kept() {
    let request: DigitTokenRequest =
        serde_json::from_str(r#"{"userId":"a","newField":{"x":[1,2]},"length":6}"#).unwrap();
    assert_eq!(request.length, Some(6));
    let status: PasswordStatus =
        serde_json::from_str(r#"{"state":"PAUSED","futureField":1}"#).unwrap();
    assert_eq!(status.state, Some(PasswordState::Unknown("PAUSED".into())));
    assert_eq!(
        serde_json::to_string(&status).unwrap(),
        r#"{"state":"PAUSED"}"#
    );
    for (text, state) in [
        ("FINISHED", PasswordState::Finished),
        ("FAILED", PasswordState::Failed),
    ] {
        let parsed: PasswordChangeResponse =
            serde_json::from_str(&format!(r#"{{"state":"{text}"}}"#)).unwrap();
        assert_eq!(parsed.state, Some(state));
    }
    // localeOrigin may be null, or a value added later.
    let body: ErrorResponse =
        serde_json::from_str(r#"{"messages":[{"localeOrigin":null},{"localeOrigin":"HEADER"}]}"#)
            .unwrap();
    let messages = body.messages.unwrap();
    assert_eq!(messages[0].locale_origin, None);
    assert_eq!(
        messages[1].locale_origin,
        Some(LocaleOrigin::Unknown("HEADER".into()))
    );
}

#[test]
fn requests_convert_with_the_same_checks() {
    let org = password_mgmt::PasswordOrgConfig::new(
        &PasswordOrgConfig {
            digit_token_enabled: Some(true),
            ..Default::default()
        }
        .into(),
    )
    .unwrap();
    let request: DigitTokenRequest =
        serde_json::from_str(r#"{"userId":" ","length":19,"durationMinutes":0}"#).unwrap();
    let err = request.resolve(&org).unwrap_err();
    let fields: Vec<_> = err.violations().iter().map(|v| v.field()).collect();
    assert_eq!(fields, ["userId", "length", "durationMinutes"]);
    // Org config: the seed's values, out-of-range values, and back.
    let config: PasswordOrgConfig =
        serde_json::from_str(&seed("password-org-config.json")).unwrap();
    let validated = password_mgmt::PasswordOrgConfig::new(&config.into()).unwrap();
    assert_eq!(PasswordOrgConfig::from(&validated), config);
    let absurd: PasswordOrgConfig =
        serde_json::from_str(r#"{"digitTokenDurationMinutes":-4,"digitTokenLength":4000000000}"#)
            .unwrap();
    let err = password_mgmt::PasswordOrgConfig::new(&absurd.into()).unwrap_err();
    assert_eq!(err.violations().len(), 2);
    // Set-password: a missing or malformed ciphertext names the field.
    let missing = PasswordChangeRequest::default()
        .encrypted_password()
        .unwrap_err();
    assert_eq!(missing.violations()[0].field(), "encryptedPassword");
    let change = PasswordChangeRequest {
        encrypted_password: Some("%%%".into()),
        ..Default::default()
    };
    assert_eq!(
        change.encrypted_password().unwrap_err().violations()[0].field(),
        "encryptedPassword"
    );
}

#[test]
fn errors_convert_into_the_error_body() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let org = password_mgmt::PasswordOrgConfig::default();
    let request = password_mgmt::DigitTokenRequest {
        user_id: "",
        length: Some(3),
        duration_minutes: None,
    };
    let enabled = org
        .update(
            &PasswordOrgConfig {
                digit_token_enabled: Some(true),
                ..Default::default()
            }
            .into(),
        )
        .unwrap();

    let invalid = request.resolve(&enabled).unwrap_err();
    let body = ErrorResponse::from_error(&invalid, TrackingId::generate(&mut rng));
    let json = serde_json::to_value(&body).unwrap();
    assert_eq!(json["detailCode"], "400.1 Bad Request Content");
    let tracking = json["trackingId"].as_str().unwrap();
    assert_eq!(tracking.len(), 32);
    assert!(
        tracking
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(
        json["messages"][0]["text"],
        "The request was syntactically correct but its content is semantically invalid."
    );
    assert_eq!(json["messages"][0]["localeOrigin"], "DEFAULT");
    let causes: Vec<&str> = json["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        causes,
        [
            "userId must not be empty or only white space",
            "length must be from 6 to 18 inclusive, got 3"
        ]
    );

    let forbidden = request.resolve(&org).unwrap_err();
    let json = serde_json::to_value(ErrorResponse::from_error(
        &forbidden,
        TrackingId::generate(&mut rng),
    ))
    .unwrap();
    assert_eq!(json["detailCode"], "403 Forbidden");
    assert_eq!(json["causes"].as_array().unwrap().len(), 1);

    // Internal faults say nothing more than the seed's 500 body.
    let key = password_mgmt::TokenKey::from_bytes(&[1; 32]);
    let other = password_mgmt::TokenKey::from_bytes(&[2; 32]);
    let subject = password_mgmt::Subject {
        tenant: "acme",
        user: "u",
        purpose: password_mgmt::Purpose::PASSWORD_RESET,
    };
    let limits = password_mgmt::UserLimits::default();
    let issuance = password_mgmt::UserState::new()
        .issue(
            &mut rng,
            &key,
            &subject,
            &password_mgmt::TokenParams::default(),
            &limits,
            UtcDateTime::UNIX_EPOCH,
        )
        .unwrap();
    let state = password_mgmt::UserState::decode(issuance.update().unwrap().replacement()).unwrap();
    let issued = issuance.stored().unwrap();
    let fault = state
        .verify(
            &other,
            &subject,
            &password_mgmt::Candidate::new("000000").unwrap(),
            &limits,
            UtcDateTime::UNIX_EPOCH,
        )
        .unwrap_err();
    let json = serde_json::to_value(ErrorResponse::from_error(
        &fault,
        TrackingId::generate(&mut rng),
    ))
    .unwrap();
    assert_eq!(json["detailCode"], "500.0 Internal Fault");
    assert_eq!(json["messages"][0]["text"], "An internal fault occurred.");
    assert!(json.get("causes").is_none());
    assert!(!json.to_string().contains(&key.id().to_string()));

    // The response of a successful issue.
    let response = serde_json::to_value(DigitTokenResponse::from(&issued)).unwrap();
    assert_eq!(response["digitToken"], issued.token.as_str());
    assert_eq!(response["requestId"], issued.request_id.to_string());

    // Two bodies, two tracking ids; a failing RNG is an error, not a fixed id.
    let a = ErrorResponse::from_error(&invalid, TrackingId::generate(&mut rng));
    let b = ErrorResponse::from_error(&invalid, TrackingId::generate(&mut rng));
    assert_ne!(a.tracking_id, b.tracking_id);
    assert!(TrackingId::try_generate(&mut fixtures::Failing).is_err());

    // Refusals a caller can act on carry their reason; every documented status has its
    // detail code and the API's generic text.
    let locked = ErrorResponse::from_error(&Error::UserLockedOut, TrackingId::from_bytes([0; 16]));
    assert_eq!(locked.detail_code.as_deref(), Some("403 Forbidden"));
    assert_eq!(locked.causes.unwrap().len(), 1);
    let limited = Error::RateLimited {
        retry_after: password_mgmt::RetryAfter::new(Duration::seconds(90)).unwrap(),
    };
    let body = ErrorResponse::from_error(&limited, TrackingId::from_bytes([0; 16]));
    assert_eq!(body.detail_code.as_deref(), Some("429 Too Many Requests"));
    assert_eq!(
        body.causes.unwrap()[0].text.as_deref(),
        Some("too many requests: retry after 90 seconds")
    );
    for (code, status, text) in [
        (
            DetailCode::BadRequestContent,
            400,
            "400.1 Bad Request Content",
        ),
        (DetailCode::Unauthorized, 401, "401 Unauthorized"),
        (DetailCode::Forbidden, 403, "403 Forbidden"),
        (DetailCode::NotFound, 404, "404 Not found"),
        (DetailCode::TooManyRequests, 429, "429 Too Many Requests"),
        (DetailCode::InternalFault, 500, "500.0 Internal Fault"),
        (
            DetailCode::ServiceUnavailable,
            503,
            "503 Service Unavailable",
        ),
    ] {
        assert_eq!((code.http_status(), code.as_str()), (status, text));
        let body = ErrorResponse::new(code, TrackingId::from_bytes([7; 16]), Vec::new());
        assert_eq!(
            body.messages.unwrap()[0].text.as_deref(),
            Some(code.message())
        );
        assert!(body.causes.is_none());
    }
    // The seed's 404 example, field for field.
    let not_found = ErrorResponse::new(
        DetailCode::NotFound,
        TrackingId::from_bytes([0xb2; 16]),
        Vec::new(),
    );
    let json = serde_json::to_value(&not_found).unwrap();
    assert_eq!(
        json["messages"][0]["text"],
        "The server did not find a current representation for the target resource."
    );
}

/// The client flow: password info JSON -> policy check -> encrypt -> set-password JSON,
/// and the server's end of it.
#[test]
fn the_client_flow_from_password_info_to_set_password() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let pem = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys/rsa2048.pk8.pem"),
    )
    .unwrap();
    let server = password_mgmt::PasswordKeyPair::from_pkcs8_pem(&pem, Scheme::Pkcs1v15).unwrap();
    let mut info: PasswordInfo =
        serde_json::from_str(&seed("password-info.response.json")).unwrap();
    info.public_key = Some(server.public_key_base64());
    info.public_key_id = Some(server.public_key_id().to_string());

    let policy = info.policy().unwrap();
    assert!(!policy.check("abc").is_ok());
    let password = "abc12345";
    assert!(policy.check(password).is_ok());
    let identity_id = info.identity_id.clone().unwrap();
    let new = password_mgmt::NewPassword {
        identity_id: &identity_id,
        password,
    };
    let encrypted = info
        .encryptor(Scheme::Pkcs1v15)
        .unwrap()
        .encrypt(&mut rng, &new)
        .unwrap();
    let body = PasswordChangeRequest {
        identity_id: info.identity_id.clone(),
        encrypted_password: Some(encrypted.to_string()),
        public_key_id: info.public_key_id.clone(),
        account_id: info.accounts.as_ref().unwrap()[0].account_id.clone(),
        source_id: info.source_id.clone(),
    };
    let json = serde_json::to_string(&body).unwrap();

    let arrived: PasswordChangeRequest = serde_json::from_str(&json).unwrap();
    assert_eq!(
        arrived.public_key_id.as_deref(),
        Some(server.public_key_id().to_string().as_str())
    );
    let decrypted = server
        .decrypt(
            &mut rng,
            &arrived.encrypted_password().unwrap(),
            arrived.identity_id.as_deref().unwrap(),
        )
        .unwrap();
    assert_eq!(decrypted.as_str(), password);

    // The seed's own public key parses (a 2048-bit RSA key).
    let seed_info: PasswordInfo =
        serde_json::from_str(&seed("password-info.response.json")).unwrap();
    assert_eq!(
        seed_info
            .encryptor(Scheme::Pkcs1v15)
            .unwrap()
            .modulus_bits(),
        2048
    );
    assert!(matches!(
        PasswordInfo::default().encryptor(Scheme::Pkcs1v15),
        Err(Error::Key(_))
    ));
}

#[test]
fn password_states_parse_and_print_for_storage() {
    for state in [
        PasswordState::InProgress,
        PasswordState::Finished,
        PasswordState::Failed,
    ] {
        let text = state.to_string();
        assert_eq!(text.parse::<PasswordState>().unwrap(), state);
    }
    assert_eq!(
        "PAUSED".parse::<PasswordState>().unwrap(),
        PasswordState::Unknown("PAUSED".into())
    );
}

/// A type error names its field exactly once, whether the JSON is parsed by `serde_json`
/// alone or through `serde_path_to_error`, which adds the path itself (axum 0.8's `Json`
/// extractor does).
#[test]
fn a_type_error_names_its_field_once_whoever_parses() {
    let body = r#"{"digitTokenLength":"9"}"#;
    let plain = serde_json::from_str::<PasswordOrgConfig>(body)
        .unwrap_err()
        .to_string();
    assert!(
        plain.starts_with(r#"digitTokenLength: invalid type: string "9", expected i64"#),
        "{plain}"
    );
    let tracked = serde_path_to_error::deserialize::<_, PasswordOrgConfig>(
        &mut serde_json::Deserializer::from_str(body),
    )
    .unwrap_err()
    .to_string();
    assert!(
        tracked.starts_with(r#"digitTokenLength: invalid type: string "9", expected i64"#),
        "{tracked}"
    );
    for text in [plain, tracked] {
        assert_eq!(text.matches("digitTokenLength").count(), 1, "{text}");
    }
}

/// A refused password's body lists every broken rule by counts, never a character.
#[test]
fn a_policy_refusal_lists_the_broken_rules_by_counts() {
    let policy = password_mgmt::PasswordPolicy::from_lines([
        "passwordMinLength is 15",
        "passwordRepeatedChar is 2",
    ])
    .unwrap();
    let err = policy
        .enforce("zzzqq", &password_mgmt::PolicyContext::default())
        .unwrap_err();
    let body = ErrorResponse::from_error(&err, TrackingId::from_bytes([1; 16]));
    assert_eq!(
        body.detail_code.as_deref(),
        Some("400.1 Bad Request Content")
    );
    let causes: Vec<_> = body
        .causes
        .unwrap()
        .into_iter()
        .map(|c| c.text.unwrap())
        .collect();
    assert_eq!(
        causes,
        [
            "passwordMinLength: at least 15 required, found 5",
            "passwordRepeatedChar: a run of at most 2 of the same character allowed, found 3"
        ]
    );
    assert!(!causes.concat().contains("zzz"));
}
