//! `PasswordOrgConfig::new` and `update` from arbitrary optional integers and flags.
//!
//! Input: two raw configs of 17 bytes each (see `password_mgmt_fuzz::raw_config`), the
//! first given to `new`, the second to `update`.
//!
//! Properties: a config validates exactly when every given integer is in its documented
//! range; a validated config stays within bounds and holds the given values (or the
//! defaults, or the previous values on update); an error names every bad field once, with
//! its range; `to_input` and the wire type round-trip; `update` is the same as `new` on the
//! merged input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::{Error, PasswordOrgConfig, PasswordOrgConfigInput, ViolationKind, wire};
use password_mgmt_fuzz::{Reader, raw_config};

const MINUTES: &str = "digitTokenDurationMinutes";
const LENGTH: &str = "digitTokenLength";

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader(data);
    let first = raw_config(&mut reader);
    let second = raw_config(&mut reader);
    let base = check_against_model(&PasswordOrgConfig::DEFAULT, &first);
    let start = base.unwrap_or_default();
    let updated = check_against_model(&start, &second);

    // `update` equals `new` on the merged input.
    if let Some(base) = base {
        let merged = merge(&first, &second);
        assert_eq!(
            base.update(&second).map_err(|e| e.to_string()),
            PasswordOrgConfig::new(&merged).map_err(|e| e.to_string())
        );
    }
    for config in [base, updated].into_iter().flatten() {
        assert_eq!(PasswordOrgConfig::new(&config.to_input()), Ok(config));
        let body = serde_json::to_string(&wire::PasswordOrgConfig::from(&config)).unwrap();
        let parsed: wire::PasswordOrgConfig = serde_json::from_str(&body).unwrap();
        assert_eq!(PasswordOrgConfig::new(&parsed.into()), Ok(config));
    }
});

/// Checks `current.update(input)` against the documented rules; returns the new config.
fn check_against_model(
    current: &PasswordOrgConfig,
    input: &PasswordOrgConfigInput,
) -> Option<PasswordOrgConfig> {
    let minutes_bad = input
        .digit_token_duration_minutes
        .filter(|m| !(1..=60).contains(m));
    let length_bad = input.digit_token_length.filter(|n| !(6..=18).contains(n));
    match current.update(input) {
        Ok(next) => {
            assert!(
                minutes_bad.is_none() && length_bad.is_none(),
                "{input:?} was accepted"
            );
            let minutes = next.digit_token_duration().minutes();
            let length = next.digit_token_length().get();
            assert!((1..=60).contains(&minutes) && (6..=18).contains(&length));
            let expect = |given: Option<i64>, kept: u8| given.unwrap_or(i64::from(kept));
            assert_eq!(
                i64::from(minutes),
                expect(
                    input.digit_token_duration_minutes,
                    current.digit_token_duration().minutes()
                )
            );
            assert_eq!(
                i64::from(length),
                expect(input.digit_token_length, current.digit_token_length().get())
            );
            assert_eq!(
                next.digit_token_enabled(),
                input
                    .digit_token_enabled
                    .unwrap_or(current.digit_token_enabled())
            );
            assert_eq!(
                next.custom_instructions_enabled(),
                input
                    .custom_instructions_enabled
                    .unwrap_or(current.custom_instructions_enabled())
            );
            Some(next)
        }
        Err(Error::Invalid(violations)) => {
            let mut expected = Vec::new();
            if let Some(m) = minutes_bad {
                expected.push((MINUTES, 1, 60, m));
            }
            if let Some(n) = length_bad {
                expected.push((LENGTH, 6, 18, n));
            }
            let found: Vec<_> = violations
                .as_slice()
                .iter()
                .map(|v| match *v.kind() {
                    ViolationKind::OutOfRange { min, max, found } => (v.field(), min, max, found),
                    ref other => panic!("unexpected violation {other:?}"),
                })
                .collect();
            assert_eq!(found, expected);
            None
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

fn merge(a: &PasswordOrgConfigInput, b: &PasswordOrgConfigInput) -> PasswordOrgConfigInput {
    PasswordOrgConfigInput {
        custom_instructions_enabled: b
            .custom_instructions_enabled
            .or(a.custom_instructions_enabled),
        digit_token_enabled: b.digit_token_enabled.or(a.digit_token_enabled),
        digit_token_duration_minutes: b
            .digit_token_duration_minutes
            .or(a.digit_token_duration_minutes),
        digit_token_length: b.digit_token_length.or(a.digit_token_length),
    }
}
