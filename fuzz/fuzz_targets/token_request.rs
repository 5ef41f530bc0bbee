//! `DigitTokenRequest::resolve` from an arbitrary user id, length and duration, against an
//! arbitrary org config; then `UserState::issue` and `verify` with the resolved parameters.
//!
//! Properties: a disabled org refuses first; otherwise the request resolves exactly when the
//! user id is not blank and at most 256 bytes and the given values are in range, and every
//! problem is named once; resolved values are the given ones or the org's; the wire type
//! resolves the same way; a token issued with the parameters has the resolved length and
//! lifetime and is accepted by `verify` for that user only (the stored state's update
//! taken as the service would store it), except at the end of time, where a failure could
//! not be counted and every guess is refused as `BudgetExhausted`.
//!
//! Input: `org config (17 bytes, see password_mgmt_fuzz::raw_config) | flags (1) |
//! length (8, i64 BE) | minutes (8, i64 BE) | RNG seed (8) | Unix seconds (8, i64 BE,
//! kept when `UtcDateTime` holds them, else wrapped into its range) | user id (the rest,
//! lossy UTF-8)`; flag bit 0: length given, bit 1: minutes given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    AttemptLimit, Candidate, DigitTokenRequest, Error, Outcome, PasswordOrgConfig, Purpose,
    Subject, UserLimits, UserState, ViolationKind, wire,
};
use password_mgmt_fuzz::{Reader, raw_config, rng, token_key, user_id_ok, wrap_into_time};

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader(data);
    let org = PasswordOrgConfig::new(&raw_config(&mut reader)).unwrap_or_default();
    let flags = reader.u8();
    let length = reader.i64();
    let minutes = reader.i64();
    let seed = reader.u64();
    let now_secs = reader.i64();
    let user_id = String::from_utf8_lossy(reader.rest());
    let request = DigitTokenRequest {
        user_id: &user_id,
        length: (flags & 1 != 0).then_some(length),
        duration_minutes: (flags & 2 != 0).then_some(minutes),
    };
    let result = request.resolve(&org);

    let wire_request = wire::DigitTokenRequest {
        user_id: user_id.to_string(),
        length: request.length,
        duration_minutes: request.duration_minutes,
    };
    assert_eq!(wire_request.resolve(&org), result);
    let json = serde_json::to_string(&wire_request).unwrap();
    let parsed: wire::DigitTokenRequest = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, wire_request);

    if !org.digit_token_enabled() {
        assert_eq!(result, Err(Error::DigitTokenDisabled));
        return;
    }
    let mut expected = Vec::new();
    if !user_id_ok(request.user_id) {
        expected.push("userId");
    }
    if request.length.is_some_and(|n| !(6..=18).contains(&n)) {
        expected.push("length");
    }
    if request
        .duration_minutes
        .is_some_and(|m| !(1..=60).contains(&m))
    {
        expected.push("durationMinutes");
    }
    let params = match result {
        Ok(params) => {
            assert!(expected.is_empty(), "resolved despite {expected:?}");
            params
        }
        Err(Error::Invalid(v)) => {
            let fields: Vec<_> = v.as_slice().iter().map(|v| v.field()).collect();
            assert_eq!(fields, expected);
            for v in v.as_slice() {
                if v.field() == "userId" {
                    assert!(matches!(
                        v.kind(),
                        ViolationKind::Blank | ViolationKind::TooLong { .. }
                    ));
                } else {
                    assert!(matches!(v.kind(), ViolationKind::OutOfRange { .. }));
                }
            }
            return;
        }
        Err(other) => panic!("unexpected error {other}"),
    };
    assert_eq!(
        i64::from(params.length().get()),
        request
            .length
            .unwrap_or(i64::from(org.digit_token_length().get()))
    );
    assert_eq!(
        i64::from(params.ttl().minutes()),
        request
            .duration_minutes
            .unwrap_or(i64::from(org.digit_token_duration().minutes()))
    );
    assert_eq!(params.attempt_limit(), AttemptLimit::DEFAULT);

    // Issue with the resolved parameters at an arbitrary instant.
    let now = UtcDateTime::from_unix_timestamp(wrap_into_time(now_secs)).unwrap();
    let key = token_key();
    let subject = |user| Subject {
        tenant: "acme",
        user,
        purpose: Purpose::PASSWORD_RESET,
    };
    let limits = UserLimits::default();
    let issuance = match UserState::new().issue(
        &mut rng(seed),
        &key,
        &subject(request.user_id),
        &params,
        &limits,
        now,
    ) {
        Ok(issuance) => issuance,
        Err(Error::TimeOutOfRange) => {
            assert!(now.checked_add(params.ttl().as_duration()).is_none());
            return;
        }
        Err(other) => panic!("issue failed: {other}"),
    };
    let state = issuance
        .update()
        .map(|update| UserState::decode(update.replacement()).unwrap());
    let issued = match issuance.stored() {
        Ok(issued) => issued,
        // At the end of time the request limiter cannot advance, and refuses.
        Err(Error::RateLimited { .. }) => {
            assert!(now.checked_add(Duration::hours(1)).is_none());
            return;
        }
        Err(other) => panic!("issue failed: {other}"),
    };
    let state = state.expect("an issued token is stored");
    let token = issued.token.as_str();
    assert_eq!(token.len(), usize::from(params.length().get()));
    assert!(token.bytes().all(|b| b.is_ascii_digit()));
    let record = state.record().expect("the record");
    assert_eq!(record.ttl(), params.ttl());
    assert_eq!(record.expires_at(), now + params.ttl().as_duration());
    assert_eq!(issued.expires_at, record.expires_at());
    let last = record.expires_at() - Duration::NANOSECOND;
    // At the end of time a failure at `at` could not be counted (the guess budget's arrival
    // time cannot advance past `UtcDateTime::MAX`), so verify compares nothing and refuses.
    let longest = limits
        .failures_short()
        .interval()
        .max(limits.failures_long().interval());
    let countable = |at: UtcDateTime| at.checked_add(longest).is_some();
    let candidate = Candidate::new(token).unwrap();
    let check = state
        .verify(&key, &subject(request.user_id), &candidate, &limits, last)
        .unwrap();
    if countable(last) {
        assert_eq!(check.stored(), Outcome::Accepted);
    } else {
        assert!(check.update().is_none(), "a refusal that counts nothing");
        assert!(matches!(check.stored(), Outcome::BudgetExhausted { .. }));
    }
    let other_user = format!("{}.", request.user_id);
    if user_id_ok(&other_user) {
        let check = state
            .verify(&key, &subject(&other_user), &candidate, &limits, now)
            .unwrap();
        let outcome = check.stored();
        if countable(now) {
            assert!(matches!(outcome, Outcome::Mismatch { .. }), "{outcome:?}");
        } else {
            assert!(
                matches!(outcome, Outcome::BudgetExhausted { .. }),
                "{outcome:?}"
            );
        }
    }
});
