//! Org config and token requests: every bound at min-1, min, max and max+1, absurd values,
//! every violation reported together, and request ids.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

use password_mgmt::time::Duration;
use password_mgmt::{
    AttemptLimit, DetailCode, DigitTokenRequest, Error, PasswordOrgConfig, PasswordOrgConfigInput,
    RequestId, TokenTtl, ViolationKind,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

fn enabled() -> PasswordOrgConfig {
    PasswordOrgConfig::new(&PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        ..Default::default()
    })
    .unwrap()
}

fn out_of_range(err: &Error) -> Vec<(&'static str, i64, i64, i64)> {
    err.violations()
        .iter()
        .map(|v| match *v.kind() {
            ViolationKind::OutOfRange { min, max, found } => (v.field(), min, max, found),
            ref other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// min-1, min, max, max+1 and absurd values, with whether each is allowed.
fn probes(min: i64, max: i64) -> Vec<(i64, bool)> {
    vec![
        (i64::MIN, false),
        (-1, false),
        (0, min <= 0),
        (min - 1, false),
        (min, true),
        (max, true),
        (max + 1, false),
        (i64::from(u8::MAX) + 1, false),
        (i64::MAX, false),
    ]
}

#[test]
fn defaults_are_the_apis() {
    let config = PasswordOrgConfig::new(&PasswordOrgConfigInput::default()).unwrap();
    assert_eq!(config, PasswordOrgConfig::default());
    assert!(!config.custom_instructions_enabled());
    assert!(!config.digit_token_enabled());
    assert_eq!(config.digit_token_duration().minutes(), 5);
    assert_eq!(config.digit_token_length().get(), 6);
}

#[test]
fn org_config_bounds() {
    for (value, ok) in probes(1, 60) {
        let input = PasswordOrgConfigInput {
            digit_token_duration_minutes: Some(value),
            ..Default::default()
        };
        match PasswordOrgConfig::new(&input) {
            Ok(c) => {
                assert!(ok, "{value} accepted");
                assert_eq!(i64::from(c.digit_token_duration().minutes()), value);
            }
            Err(e) => {
                assert!(!ok, "{value} refused: {e}");
                assert_eq!(
                    out_of_range(&e),
                    [("digitTokenDurationMinutes", 1, 60, value)]
                );
                assert_eq!(e.detail_code(), DetailCode::BadRequestContent);
            }
        }
    }
    for (value, ok) in probes(6, 18) {
        let input = PasswordOrgConfigInput {
            digit_token_length: Some(value),
            ..Default::default()
        };
        match PasswordOrgConfig::new(&input) {
            Ok(c) => {
                assert!(ok, "{value} accepted");
                assert_eq!(i64::from(c.digit_token_length().get()), value);
            }
            Err(e) => {
                assert!(!ok, "{value} refused: {e}");
                assert_eq!(out_of_range(&e), [("digitTokenLength", 6, 18, value)]);
            }
        }
    }
}

#[test]
fn org_config_reports_every_violation_together() {
    let before = enabled();
    let err = before
        .update(&PasswordOrgConfigInput {
            custom_instructions_enabled: Some(true),
            digit_token_enabled: Some(false),
            digit_token_duration_minutes: Some(i64::MAX),
            digit_token_length: Some(-6),
        })
        .unwrap_err();
    assert_eq!(
        out_of_range(&err),
        [
            ("digitTokenDurationMinutes", 1, 60, i64::MAX),
            ("digitTokenLength", 6, 18, -6)
        ]
    );
    assert_eq!(
        err.to_string(),
        format!(
            "invalid input: digitTokenDurationMinutes must be from 1 to 60 inclusive, got {}; \
             digitTokenLength must be from 6 to 18 inclusive, got -6",
            i64::MAX
        )
    );
}

#[test]
fn a_partial_update_keeps_the_other_fields() {
    let config = PasswordOrgConfig::new(&PasswordOrgConfigInput {
        custom_instructions_enabled: Some(true),
        digit_token_enabled: Some(true),
        digit_token_duration_minutes: Some(30),
        digit_token_length: Some(12),
    })
    .unwrap();
    let updated = config
        .update(&PasswordOrgConfigInput {
            digit_token_length: Some(18),
            ..Default::default()
        })
        .unwrap();
    assert!(updated.custom_instructions_enabled() && updated.digit_token_enabled());
    assert_eq!(updated.digit_token_duration().minutes(), 30);
    assert_eq!(updated.digit_token_length().get(), 18);
    // Round trip through the raw form.
    assert_eq!(
        PasswordOrgConfig::new(&updated.to_input()).unwrap(),
        updated
    );
    // An empty update changes nothing.
    assert_eq!(
        updated.update(&PasswordOrgConfigInput::default()).unwrap(),
        updated
    );
}

#[test]
fn a_request_takes_missing_values_from_the_org() {
    let org = enabled()
        .update(&PasswordOrgConfigInput {
            digit_token_duration_minutes: Some(15),
            digit_token_length: Some(9),
            ..Default::default()
        })
        .unwrap();
    let params = DigitTokenRequest {
        user_id: "u",
        length: None,
        duration_minutes: None,
    }
    .resolve(&org)
    .unwrap();
    assert_eq!((params.length().get(), params.ttl().minutes()), (9, 15));
    assert_eq!(params.attempt_limit(), AttemptLimit::DEFAULT);
    let params = DigitTokenRequest {
        user_id: "u",
        length: Some(18),
        duration_minutes: Some(1),
    }
    .resolve(&org)
    .unwrap();
    assert_eq!((params.length().get(), params.ttl().minutes()), (18, 1));
}

#[test]
fn request_bounds() {
    let org = enabled();
    for (value, ok) in probes(6, 18) {
        let r = DigitTokenRequest {
            user_id: "u",
            length: Some(value),
            duration_minutes: None,
        }
        .resolve(&org);
        match r {
            Ok(p) => assert!(ok && i64::from(p.length().get()) == value, "{value}"),
            Err(e) => assert!(
                !ok && out_of_range(&e) == [("length", 6, 18, value)],
                "{value}: {e}"
            ),
        }
    }
    for (value, ok) in probes(1, 60) {
        let r = DigitTokenRequest {
            user_id: "u",
            length: None,
            duration_minutes: Some(value),
        }
        .resolve(&org);
        match r {
            Ok(p) => assert!(ok && i64::from(p.ttl().minutes()) == value, "{value}"),
            Err(e) => {
                assert!(
                    !ok && out_of_range(&e) == [("durationMinutes", 1, 60, value)],
                    "{value}: {e}"
                );
            }
        }
    }
}

#[test]
fn user_id_bounds() {
    let org = enabled();
    let resolve = |user_id: &str| {
        DigitTokenRequest {
            user_id,
            length: None,
            duration_minutes: None,
        }
        .resolve(&org)
    };
    assert!(resolve("a").is_ok());
    assert!(resolve(&"a".repeat(256)).is_ok());
    // 256 bytes, not characters: 128 two-byte characters fit, 129 do not.
    assert!(resolve(&"é".repeat(128)).is_ok());
    let err = resolve(&"é".repeat(129)).unwrap_err();
    assert_eq!(
        err.violations()[0].kind(),
        &ViolationKind::TooLong {
            max: 256,
            found: 258
        }
    );
    let err = resolve(&"a".repeat(257)).unwrap_err();
    assert_eq!(
        err.violations()[0].kind(),
        &ViolationKind::TooLong {
            max: 256,
            found: 257
        }
    );
    assert!(
        err.to_string()
            .contains("userId must be at most 256 bytes long, got 257 bytes")
    );
    for blank in ["", " ", "\t\n", "\u{3000}"] {
        let err = resolve(blank).unwrap_err();
        assert_eq!(err.violations()[0].field(), "userId");
        assert_eq!(
            err.violations()[0].kind(),
            &ViolationKind::Blank,
            "{blank:?}"
        );
    }
    // The error names the field, never echoes the value.
    let secretish = "x".repeat(300);
    assert!(!resolve(&secretish).unwrap_err().to_string().contains("xxx"));
}

#[test]
fn a_request_reports_every_violation_together() {
    let err = DigitTokenRequest {
        user_id: "",
        length: Some(0),
        duration_minutes: Some(-1),
    }
    .resolve(&enabled())
    .unwrap_err();
    let fields: Vec<_> = err.violations().iter().map(|v| v.field()).collect();
    assert_eq!(fields, ["userId", "length", "durationMinutes"]);
    assert_eq!(err.detail_code().as_str(), "400.1 Bad Request Content");
}

#[test]
fn a_request_while_digit_tokens_are_disabled_is_forbidden() {
    let org = PasswordOrgConfig::default();
    // Checked first: even a bad request gets the 403, which says the feature is off.
    for length in [Some(8), Some(99)] {
        let err = DigitTokenRequest {
            user_id: "u",
            length,
            duration_minutes: None,
        }
        .resolve(&org)
        .unwrap_err();
        assert_eq!(err, Error::DigitTokenDisabled);
        assert_eq!(err.detail_code().as_str(), "403 Forbidden");
        assert_eq!(err.detail_code().http_status(), 403);
        assert!(err.to_string().contains("digitTokenEnabled"));
    }
}

#[test]
fn attempt_limit_and_ttl_bounds() {
    for n in [0u8, 11, 255] {
        let err = AttemptLimit::new(n).unwrap_err();
        assert_eq!(
            err.violations()[0].kind(),
            &ViolationKind::OutOfRange {
                min: 1,
                max: 10,
                found: n.into()
            }
        );
    }
    assert_eq!(AttemptLimit::new(1).unwrap().get(), 1);
    assert_eq!(AttemptLimit::new(10).unwrap().get(), 10);
    assert!(TokenTtl::from_minutes(0).is_err() && TokenTtl::from_minutes(61).is_err());
    assert_eq!(
        TokenTtl::from_minutes(60).unwrap().as_duration(),
        Duration::hours(1)
    );
    assert!(TokenTtl::try_from(-5i64).is_err());
}

#[test]
fn request_ids_are_v4_uuids_in_the_seeds_form() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for _ in 0..1000 {
        let id = RequestId::generate(&mut rng).unwrap();
        let text = id.to_string();
        let groups: Vec<_> = text.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(
            text.bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(text.as_bytes()[14], b'4');
        assert!(b"89ab".contains(&text.as_bytes()[19]));
        assert_eq!(text.parse::<RequestId>().unwrap(), id);
    }
    // The seed's example parses, and upper case is accepted but printed lower-case.
    let seed = "e1267ecd-fcd9-4c73-9c55-12555efad136";
    assert_eq!(
        seed.to_uppercase()
            .parse::<RequestId>()
            .unwrap()
            .to_string(),
        seed
    );
}

#[test]
fn malformed_request_ids_are_refused() {
    let good = "e1267ecd-fcd9-4c73-9c55-12555efad136";
    let bad = [
        "",
        "e1267ecdfcd94c739c5512555efad136",
        "e1267ecd-fcd9-4c73-9c55-12555efad13",
        "e1267ecd-fcd9-4c73-9c55-12555efad1366",
        "e1267ecd-fcd9-4c73-9c55_12555efad136",
        "e1267ecd-fcd9-4c73-9c55-12555efad13g",
        "{e1267ecd-fcd9-4c73-9c55-12555efad136}",
        "e1267ecd-fcd9-4c73-9c5-512555efad136",
        "+1267ecd-fcd9-4c73-9c55-12555efad136",
        "e1267ecd-fcd9-4c73-9c55-12555efad1é",
    ];
    assert!(good.parse::<RequestId>().is_ok());
    for s in bad {
        let err = s.parse::<RequestId>().unwrap_err();
        assert_eq!(err.violations()[0].field(), "requestId", "{s}");
    }
}
