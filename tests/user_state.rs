//! The per-user state: issue, verify at every boundary, attempt limits, single use, the
//! subject binding (tenant, user, purpose), keys, the consecutive-failure cap, the request
//! limit, the clock tolerance, tampering, and strict decoding of arbitrary bytes. Every
//! test goes through the store-what-you-verify flow (`fixtures::{issue_stored,
//! verify_stored}`), as a service must.

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

mod fixtures;

use fixtures::{Failing, Scripted, TENANT, USER, issue_stored, key, subject, t0, verify_stored};
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    AttemptLimit, Candidate, Error, Issued, Outcome, Purpose, RateLimit, RecordError, RngError,
    Subject, TokenKey, TokenKeyRing, TokenLength, TokenParams, TokenTtl, UserLimits, UserState,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

fn params(len: u8, minutes: u8, limit: u8) -> TokenParams {
    TokenParams::new(
        TokenLength::new(len).unwrap(),
        TokenTtl::from_minutes(minutes).unwrap(),
    )
    .with_attempt_limit(AttemptLimit::new(limit).unwrap())
}

/// Limits that never get in the way of a test about something else: the budget and the
/// request limit allow thousands.
fn lax() -> UserLimits {
    let many = RateLimit::new(10_000, Duration::SECOND).unwrap();
    UserLimits::default()
        .with_requests(many)
        .with_failures(many, many)
}

/// A fresh state with a 6-digit, 5-minute, 5-attempt token issued at `t0`.
fn issued(seed: u64) -> (Issued, UserState) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    issue_stored(
        &mut rng,
        &key(),
        &UserState::new(),
        &params(6, 5, 5),
        &lax(),
        t0(),
    )
    .unwrap()
}

fn verify(state: &UserState, typed: &str, now: UtcDateTime) -> (Outcome, UserState) {
    verify_stored(state, &key(), &subject(), typed, &lax(), now).unwrap()
}

/// A well-formed candidate that is not `token`.
fn wrong(token: &str) -> String {
    token
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            if i == token.len() - 1 {
                char::from(b'0' + (b - b'0' + 1) % 10)
            } else {
                char::from(b)
            }
        })
        .collect()
}

fn record_of(state: &UserState) -> &password_mgmt::IssuedToken {
    state.record().expect("a token was issued")
}

#[test]
fn the_window_is_half_open_from_issue_to_expiry_widened_by_the_clock_tolerance() {
    let (issued, state) = issued(1);
    let token = issued.token.as_str();
    let record = record_of(&state);
    assert_eq!(record.issued_at(), t0());
    assert_eq!(record.expires_at(), t0() + Duration::minutes(5));
    assert_eq!(issued.expires_at, record.expires_at());

    let at = |now| verify(&state, token, now).0;
    let tolerance = lax().clock_tolerance();
    assert_eq!(tolerance, Duration::seconds(5));
    assert_eq!(at(t0()), Outcome::Accepted);
    assert_eq!(
        at(record.expires_at() - Duration::nanoseconds(1)),
        Outcome::Accepted
    );
    assert_eq!(at(record.expires_at()), Outcome::Expired);
    assert_eq!(
        at(record.expires_at() + Duration::days(365)),
        Outcome::Expired
    );
    // A verifying node up to the tolerance behind the issuing one accepts the token.
    assert_eq!(at(t0() - tolerance), Outcome::Accepted);
    assert_eq!(
        at(t0() - tolerance - Duration::nanoseconds(1)),
        Outcome::NotYetValid
    );
    // The extremes of the time range are ordinary instants: no overflow, no panic.
    assert_eq!(at(UtcDateTime::MIN), Outcome::NotYetValid);
    assert_eq!(at(UtcDateTime::MAX), Outcome::Expired);
}

#[test]
fn a_token_from_a_node_ahead_reports_the_lead() {
    let (issued, state) = issued(2);
    let behind = t0() - Duration::seconds(3);
    let verification = state
        .verify(
            &key(),
            &subject(),
            &Candidate::new(issued.token.as_str()).unwrap(),
            &lax(),
            behind,
        )
        .unwrap();
    assert_eq!(verification.clock_lead(), Duration::seconds(3));
    assert!(verification.update().is_some());
    assert_eq!(verification.stored(), Outcome::Accepted);
}

#[test]
fn refusals_before_the_comparison_change_nothing_and_ask_for_no_write() {
    let (issued, state) = issued(3);
    let record = record_of(&state).clone();
    for now in [t0() - Duration::minutes(1), record.expires_at()] {
        for typed in [issued.token.as_str(), "000000", "x"] {
            let v = state
                .verify(
                    &key(),
                    &subject(),
                    &Candidate::new(typed).unwrap(),
                    &lax(),
                    now,
                )
                .unwrap();
            assert!(v.update().is_none(), "{typed} at {now}");
            assert!(!v.stored().is_counted_failure());
        }
    }
}

#[test]
fn the_attempt_limit_locks_the_token_even_for_the_right_code() {
    for limit in [1u8, 3, 5, 10] {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(limit));
        let (issued, mut state) = issue_stored(
            &mut rng,
            &key(),
            &UserState::new(),
            &params(8, 10, limit),
            &lax(),
            t0(),
        )
        .unwrap();
        let bad = wrong(issued.token.as_str());
        for n in 1..=limit {
            // Alternate well-formed and malformed wrong guesses: both count.
            let typed = if n % 2 == 0 { "1234" } else { bad.as_str() };
            let (outcome, next) = verify(&state, typed, t0());
            let left = limit - n;
            let expected = if n % 2 == 0 {
                Outcome::Malformed {
                    attempts_left: left,
                }
            } else {
                Outcome::Mismatch {
                    attempts_left: left,
                }
            };
            assert_eq!(outcome, expected);
            assert!(outcome.is_counted_failure());
            assert_eq!(record_of(&next).failed_attempts(), n);
            assert_eq!(next.consecutive_failures(), u16::from(n));
            state = next;
        }
        assert!(record_of(&state).is_locked());
        let (outcome, next) = verify(&state, issued.token.as_str(), t0());
        assert_eq!(outcome, Outcome::TokenLocked);
        assert_eq!(next, state);
    }
}

#[test]
fn a_success_resets_the_consecutive_count() {
    let (issued, mut state) = issued(4);
    let bad = wrong(issued.token.as_str());
    for _ in 0..4 {
        state = verify(&state, &bad, t0()).1;
    }
    assert_eq!(state.consecutive_failures(), 4);
    let (outcome, state) = verify(&state, issued.token.as_str(), t0());
    assert_eq!(outcome, Outcome::Accepted);
    assert_eq!(record_of(&state).failed_attempts(), 4);
    assert_eq!(state.consecutive_failures(), 0);
}

#[test]
fn a_token_is_single_use() {
    let (issued, state) = issued(5);
    let token = issued.token.as_str();
    let (outcome, used) = verify(&state, token, t0());
    assert_eq!(outcome, Outcome::Accepted);
    assert!(record_of(&used).is_used());
    for typed in [token, "000000", "", "abc"] {
        let (outcome, again) = verify(&used, typed, t0());
        assert_eq!(outcome, Outcome::AlreadyUsed);
        assert_eq!(again, used);
    }
}

#[test]
fn concurrent_verifications_of_one_read_can_store_only_one() {
    // Two requests read the same state; both compute an acceptance. Their updates share
    // `expected`, so a compare-and-set store takes the first and refuses the second,
    // whose retry (a fresh read) sees the token used.
    let (issued, state) = issued(6);
    let typed = Candidate::new(issued.token.as_str()).unwrap();
    let first = state
        .verify(&key(), &subject(), &typed, &lax(), t0())
        .unwrap();
    let second = state
        .verify(&key(), &subject(), &typed, &lax(), t0())
        .unwrap();
    let mut stored = state.encode();
    let mut cas = |update: &password_mgmt::UserStateUpdate| {
        let ok = *update.expected() == stored;
        if ok {
            stored = *update.replacement();
        }
        ok
    };
    assert!(cas(first.update().unwrap()));
    assert_eq!(first.stored(), Outcome::Accepted);
    assert!(
        !cas(second.update().unwrap()),
        "the second write must conflict"
    );
    let reread = UserState::decode(&stored).unwrap();
    assert_eq!(
        verify(&reread, issued.token.as_str(), t0()).0,
        Outcome::AlreadyUsed
    );
}

#[test]
fn malformed_candidates_are_counted_not_compared() {
    let (issued, state) = issued(7);
    let token = issued.token.as_str();
    let fullwidth: String = token
        .chars()
        .map(|c| char::from_u32(u32::from(c) + 0xfee0).unwrap())
        .collect();
    let cases = [
        String::new(),
        token[..5].to_owned(),
        format!("{token}0"),
        format!(" {}", &token[1..]),
        format!("{}a", &token[..5]),
        format!("+{}", &token[1..]),
        fullwidth,
        "٠١٢٣٤٥".to_owned(), // Arabic-Indic digits
        "9".repeat(Candidate::MAX_LEN),
    ];
    for typed in cases {
        let (outcome, next) = verify(&state, &typed, t0());
        assert_eq!(
            outcome,
            Outcome::Malformed { attempts_left: 4 },
            "{typed:?}"
        );
        assert_eq!(record_of(&next).failed_attempts(), 1);
    }
    // Longer than any token can be: refused before verification, nothing counted.
    let err = Candidate::new(&"9".repeat(Candidate::MAX_LEN + 1)).unwrap_err();
    assert_eq!(err.violations()[0].field(), "digitToken");
}

#[test]
fn leading_zeros_matter() {
    // The word 4_201 gives the token "004201"; "4201" and "04201" are malformed.
    let mut rng = Scripted::new(&[4_201]);
    let (issued, state) = issue_stored(
        &mut rng,
        &key(),
        &UserState::new(),
        &params(6, 5, 5),
        &lax(),
        t0(),
    )
    .unwrap();
    assert_eq!(issued.token.as_str(), "004201");
    for typed in ["4201", "04201", "0004201"] {
        assert!(
            matches!(verify(&state, typed, t0()).0, Outcome::Malformed { .. }),
            "{typed}"
        );
    }
    assert_eq!(verify(&state, "004201", t0()).0, Outcome::Accepted);
}

#[test]
fn a_token_for_one_subject_is_refused_for_every_other() {
    let (issued, state) = issued(8);
    let token = issued.token.as_str();
    let unlock = Purpose::new("account-unlock").unwrap();
    let others = [
        Subject {
            user: "abby.smith",
            ..subject()
        },
        Subject {
            user: "Abby.Smith ",
            ..subject()
        },
        Subject {
            user: "Abby.Smit",
            ..subject()
        },
        Subject {
            user: "Abby.Smith\0",
            ..subject()
        },
        Subject {
            tenant: "acme2",
            ..subject()
        },
        Subject {
            tenant: "ACME",
            ..subject()
        },
        // Moving a byte between the parts changes the length prefixes: still no match.
        Subject {
            tenant: "acmeA",
            user: "bby.Smith",
            ..subject()
        },
        Subject {
            purpose: unlock,
            ..subject()
        },
    ];
    for other in others {
        let (outcome, _) = verify_stored(&state, &key(), &other, token, &lax(), t0()).unwrap();
        assert_eq!(outcome, Outcome::Mismatch { attempts_left: 4 }, "{other:?}");
    }
    assert_eq!(verify(&state, token, t0()).0, Outcome::Accepted);
}

#[test]
fn the_subject_is_checked_on_issue_and_on_verify() {
    let (issued, state) = issued(9);
    let long_user = "u".repeat(Subject::MAX_USER_LEN + 1);
    let long_tenant = "t".repeat(Subject::MAX_TENANT_LEN + 1);
    for (bad, fields) in [
        (
            Subject {
                user: "",
                ..subject()
            },
            &["userId"][..],
        ),
        (
            Subject {
                user: "   ",
                ..subject()
            },
            &["userId"][..],
        ),
        (
            Subject {
                user: &long_user,
                ..subject()
            },
            &["userId"][..],
        ),
        (
            Subject {
                tenant: "",
                ..subject()
            },
            &["tenant"][..],
        ),
        (
            Subject {
                tenant: &long_tenant,
                user: " ",
                ..subject()
            },
            &["tenant", "userId"][..],
        ),
    ] {
        let candidate = Candidate::new(issued.token.as_str()).unwrap();
        let err = state
            .verify(&key(), &bad, &candidate, &lax(), t0())
            .unwrap_err();
        let found: Vec<_> = err.violations().iter().map(|v| v.field()).collect();
        assert_eq!(found, fields);
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let err = UserState::new()
            .issue(&mut rng, &key(), &bad, &params(6, 5, 5), &lax(), t0())
            .unwrap_err();
        assert_eq!(err.violations().len(), fields.len());
    }
    // The longest allowed parts work.
    let user = "u".repeat(Subject::MAX_USER_LEN);
    let tenant = "t".repeat(Subject::MAX_TENANT_LEN);
    let long = Subject {
        tenant: &tenant,
        user: &user,
        ..subject()
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let issuance = UserState::new()
        .issue(&mut rng, &key(), &long, &params(6, 5, 5), &lax(), t0())
        .unwrap();
    let state = UserState::decode(issuance.update().unwrap().replacement()).unwrap();
    let token = issuance.stored().unwrap().token;
    let (outcome, _) = verify_stored(&state, &key(), &long, token.as_str(), &lax(), t0()).unwrap();
    assert_eq!(outcome, Outcome::Accepted);
}

#[test]
fn purposes_are_checked() {
    assert_eq!(Purpose::PASSWORD_RESET.as_str(), "password-reset");
    assert!(Purpose::new("email-verify.v2:step_1").is_ok());
    for bad in ["", "Reset", "reset password", "réinit", &"a".repeat(65)] {
        let leaked: &'static str = Box::leak(bad.to_owned().into_boxed_str());
        let err = Purpose::new(leaked).unwrap_err();
        assert_eq!(err.violations()[0].field(), "purpose", "{bad:?}");
    }
}

#[test]
fn no_token_is_no_token_and_asks_for_no_write() {
    let v = UserState::new()
        .verify(
            &key(),
            &subject(),
            &Candidate::new("123456").unwrap(),
            &lax(),
            t0(),
        )
        .unwrap();
    assert!(v.update().is_none());
    assert_eq!(v.stored(), Outcome::NoToken);
}

#[test]
fn a_live_record_under_a_key_not_held_is_a_key_error_and_a_dead_one_gets_its_outcome() {
    let (issued, state) = issued(10);
    let token = issued.token.as_str();
    let other = TokenKey::from_bytes(&[0x5b; 32]);
    let err = verify_stored(&state, &other, &subject(), token, &lax(), t0()).unwrap_err();
    assert_eq!(err, Error::UnknownTokenKey { record: key().id() });
    assert_eq!(err.detail_code().http_status(), 500);
    assert!(err.to_string().contains(&key().id().to_string()));
    // Expired, used or locked records need no key: they get their outcome.
    let late = record_of(&state).expires_at();
    assert_eq!(
        verify_stored(&state, &other, &subject(), token, &lax(), late)
            .unwrap()
            .0,
        Outcome::Expired
    );
    let used = verify(&state, token, t0()).1;
    assert_eq!(
        verify_stored(&used, &other, &subject(), token, &lax(), t0())
            .unwrap()
            .0,
        Outcome::AlreadyUsed
    );
    // A ring that holds the key verifies; the same key bytes give the same id everywhere.
    let mut ring = TokenKeyRing::new(other);
    ring.accept(TokenKey::from_slice(&[0x5a; 32]).unwrap());
    assert_eq!(
        verify_stored(&state, &ring, &subject(), token, &lax(), t0())
            .unwrap()
            .0,
        Outcome::Accepted
    );
}

#[test]
fn token_keys_must_be_32_bytes() {
    for len in [0usize, 16, 31, 33, 64] {
        let err = TokenKey::from_slice(&vec![1; len]).unwrap_err();
        assert_eq!(err.violations()[0].field(), "tokenKey");
        assert!(
            err.to_string().contains(&format!("got {len} bytes")),
            "{err}"
        );
    }
    let key = TokenKey::generate(&mut ChaCha20Rng::seed_from_u64(9)).unwrap();
    let debug = format!("{key:?}");
    assert_eq!(debug, format!("TokenKey {{ id: {:?}, .. }}", key.id()));
    assert!(TokenKey::generate(&mut Failing).is_err());
}

#[test]
fn issue_refuses_instants_whose_expiry_is_not_representable() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let issue_at = |rng: &mut ChaCha20Rng, now| {
        issue_stored(
            rng,
            &key(),
            &UserState::new(),
            &params(6, 5, 5),
            &lax(),
            now,
        )
    };
    // The latest instant whose expiry is representable, and one nanosecond later.
    let last = UtcDateTime::MAX - Duration::minutes(5);
    assert_eq!(
        issue_at(&mut rng, last + Duration::nanoseconds(1)).unwrap_err(),
        Error::TimeOutOfRange
    );
    let (issued, state) = issue_at(&mut rng, last).unwrap();
    assert_eq!(issued.expires_at, UtcDateTime::MAX);
    assert_eq!(UserState::decode(&state.encode()).unwrap(), state);
    // The earliest instant works too.
    let (_, state) = issue_at(&mut rng, UtcDateTime::MIN).unwrap();
    assert_eq!(UserState::decode(&state.encode()).unwrap(), state);
}

#[test]
fn at_the_end_of_time_verify_refuses_every_guess_it_could_not_count() {
    // The default guess budget (10/1h and 100/1d); only the request limit is lax, so that
    // a token can be issued this late at all.
    let limits =
        UserLimits::default().with_requests(RateLimit::new(10_000, Duration::SECOND).unwrap());
    let daily = limits.failures_long().interval();
    assert_eq!(daily, Duration::seconds(1_728));
    // The last instant at which a failure can still be counted: its arrival time lands
    // exactly on `UtcDateTime::MAX`.
    let edge = UtcDateTime::MAX - daily;
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let (issued, state) = issue_stored(
        &mut rng,
        &key(),
        &UserState::new(),
        &params(6, 5, 5),
        &limits,
        edge - Duration::minutes(1),
    )
    .unwrap();
    let token = issued.token.as_str();
    let at =
        |typed: &str, now| verify_stored(&state, &key(), &subject(), typed, &limits, now).unwrap();
    assert_eq!(at(token, edge).0, Outcome::Accepted);
    assert!(matches!(
        at(&wrong(token), edge).0,
        Outcome::Mismatch { .. }
    ));
    // One nanosecond later a failure could not be counted, so nothing is compared: the
    // right code and a wrong one get the same refusal, and nothing is written.
    for typed in [token, wrong(token).as_str()] {
        let check = state
            .verify(
                &key(),
                &subject(),
                &Candidate::new(typed).unwrap(),
                &limits,
                edge + Duration::NANOSECOND,
            )
            .unwrap();
        assert!(check.update().is_none());
        let Outcome::BudgetExhausted { retry_after } = check.stored() else {
            panic!("a guess at the end of time was compared");
        };
        assert_eq!(retry_after.duration(), daily);
    }
}

#[test]
fn issue_reports_rng_failure() {
    let err = UserState::new()
        .issue(
            &mut Failing,
            &key(),
            &subject(),
            &TokenParams::default(),
            &lax(),
            t0(),
        )
        .unwrap_err();
    assert_eq!(err, Error::Rng(RngError::Failed));
}

#[test]
fn issue_draws_a_fresh_v4_request_id() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let (a, state) = issue_stored(
        &mut rng,
        &key(),
        &UserState::new(),
        &TokenParams::default(),
        &lax(),
        t0(),
    )
    .unwrap();
    let (b, _) = issue_stored(
        &mut rng,
        &key(),
        &state,
        &TokenParams::default(),
        &lax(),
        t0(),
    )
    .unwrap();
    assert_ne!(a.request_id, b.request_id);
    let text = a.request_id.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(&text[14..15], "4");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
}

#[test]
fn issuing_again_replaces_the_token_and_keeps_the_counts() {
    let (first, state) = issued(13);
    let bad = wrong(first.token.as_str());
    let state = verify(&state, &bad, t0()).1;
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let (second, state) =
        issue_stored(&mut rng, &key(), &state, &params(6, 5, 5), &lax(), t0()).unwrap();
    assert_eq!(record_of(&state).failed_attempts(), 0, "a fresh token");
    assert_eq!(state.consecutive_failures(), 1, "kept across tokens");
    // The first token is gone: only the second verifies.
    if first.token.as_str() != second.token.as_str() {
        assert!(matches!(
            verify(&state, first.token.as_str(), t0()).0,
            Outcome::Mismatch { .. }
        ));
    }
    let state = verify(&state, &wrong(second.token.as_str()), t0()).1;
    assert_eq!(
        verify(&state, second.token.as_str(), t0()).0,
        Outcome::Accepted
    );
}

#[test]
fn the_request_limit_refuses_the_sixth_token_of_an_hour_and_says_how_long_to_wait() {
    let limits = UserLimits::default();
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let mut state = UserState::new();
    // 5 per hour: a burst of 4, then one per 30 minutes.
    for _ in 0..4 {
        state = issue_stored(&mut rng, &key(), &state, &params(6, 5, 5), &limits, t0())
            .unwrap()
            .1;
    }
    let issuance = state
        .issue(
            &mut rng,
            &key(),
            &subject(),
            &params(6, 5, 5),
            &limits,
            t0(),
        )
        .unwrap();
    assert!(issuance.update().is_none(), "a refusal writes nothing");
    let err = issuance.stored().unwrap_err();
    let Error::RateLimited { retry_after } = err else {
        panic!("{err:?}");
    };
    assert_eq!(retry_after.duration(), Duration::minutes(30));
    assert_eq!(retry_after.seconds(), 1_800);
    assert_eq!(err.detail_code().http_status(), 429);
    let later = t0() + Duration::minutes(30);
    assert!(issue_stored(&mut rng, &key(), &state, &params(6, 5, 5), &limits, later).is_ok());
}

#[test]
fn a_hundred_failures_in_a_row_lock_the_user_out_until_an_unlock() {
    let limits = lax();
    assert_eq!(limits.consecutive_failures(), 100);
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let mut state = UserState::new();
    let mut failures = 0u16;
    let mut last = None;
    // Token after token, each failed to its attempt limit of 7 (so that the last token is
    // still live at the 100th failure: 14 * 7 + 2).
    while !state.is_locked_out(&limits) {
        let (issued, next) =
            issue_stored(&mut rng, &key(), &state, &params(6, 5, 7), &limits, t0()).unwrap();
        state = next;
        let bad = wrong(issued.token.as_str());
        for _ in 0..7 {
            let (outcome, next) = verify(&state, &bad, t0());
            if outcome == Outcome::UserLockedOut {
                break;
            }
            assert!(outcome.is_counted_failure(), "{outcome:?}");
            failures += 1;
            state = next;
        }
        last = Some(issued);
    }
    assert_eq!(failures, 100);
    assert_eq!(state.consecutive_failures(), 100);
    // Even the right code of the live token is refused, and nothing is counted.
    let last = last.expect("a token was issued");
    let v = state
        .verify(
            &key(),
            &subject(),
            &Candidate::new(last.token.as_str()).unwrap(),
            &limits,
            t0(),
        )
        .unwrap();
    assert!(v.update().is_none());
    assert_eq!(v.stored(), Outcome::UserLockedOut);
    // No new token is issued, now or much later: time does not unlock.
    let mut rng2 = ChaCha20Rng::seed_from_u64(17);
    let much_later = t0() + Duration::days(400);
    for now in [t0(), much_later] {
        let err = state
            .issue(
                &mut rng2,
                &key(),
                &subject(),
                &params(6, 5, 5),
                &limits,
                now,
            )
            .unwrap_err();
        assert_eq!(err, Error::UserLockedOut);
        assert_eq!(err.detail_code().http_status(), 403);
    }
    // An explicit unlock does; then the right code works.
    let unlock = state.unlock();
    assert_eq!(unlock.expected(), &state.encode());
    let unlocked = UserState::decode(unlock.replacement()).unwrap();
    assert_eq!(unlocked.consecutive_failures(), 0);
    assert_eq!(unlocked.record(), state.record(), "the live token is kept");
    let (issued, unlocked) = issue_stored(
        &mut rng2,
        &key(),
        &unlocked,
        &params(6, 5, 5),
        &limits,
        much_later,
    )
    .unwrap();
    assert_eq!(
        verify(&unlocked, issued.token.as_str(), much_later).0,
        Outcome::Accepted
    );
}

#[test]
fn the_consecutive_cap_is_configurable_up_to_100() {
    assert!(UserLimits::default().with_consecutive_failures(0).is_err());
    assert!(
        UserLimits::default()
            .with_consecutive_failures(101)
            .is_err()
    );
    let limits = lax().with_consecutive_failures(3).unwrap();
    let (issued, mut state) = issued(18);
    let bad = wrong(issued.token.as_str());
    for _ in 0..3 {
        state = verify_stored(&state, &key(), &subject(), &bad, &limits, t0())
            .unwrap()
            .1;
    }
    let (outcome, _) = verify_stored(
        &state,
        &key(),
        &subject(),
        issued.token.as_str(),
        &limits,
        t0(),
    )
    .unwrap();
    assert_eq!(outcome, Outcome::UserLockedOut);
}

#[test]
fn verify_without_using_counts_failures_but_leaves_a_right_code_live() {
    let (issued, state) = issued(19);
    let typed = Candidate::new(issued.token.as_str()).unwrap();
    let v = state
        .verify_without_using(&key(), &subject(), &typed, &lax(), t0())
        .unwrap();
    assert!(
        v.update().is_none(),
        "an acceptance that is not used changes nothing"
    );
    assert_eq!(v.stored(), Outcome::Accepted);
    let bad = wrong(issued.token.as_str());
    let v = state
        .verify_without_using(
            &key(),
            &subject(),
            &Candidate::new(&bad).unwrap(),
            &lax(),
            t0(),
        )
        .unwrap();
    let next = UserState::decode(v.update().expect("a failure is counted").replacement()).unwrap();
    assert_eq!(v.stored(), Outcome::Mismatch { attempts_left: 4 });
    assert_eq!(next.consecutive_failures(), 1);
    // The token is still live for the real use.
    assert_eq!(
        verify(&next, issued.token.as_str(), t0()).0,
        Outcome::Accepted
    );
}

/// That `state`, decoded from `bytes`, encodes its fields back to them. `encode` hands back
/// the bytes a state was decoded from, so the fields are re-encoded through `unlock`,
/// whose replacement keeps the record and the request limiter and zeroes the guess budget
/// and the failure count. (`decode` also checks all fields in debug builds.)
fn assert_reencodes(state: &UserState, bytes: &[u8]) {
    assert_eq!(state.encode().as_slice(), bytes);
    let mut expected = <[u8; UserState::ENCODED_LEN]>::try_from(bytes).unwrap();
    expected[59..85].fill(0);
    expected[CONSECUTIVE].fill(0);
    assert_eq!(state.unlock().replacement(), &expected);
}

#[test]
fn the_state_round_trips_through_its_encoding() {
    assert_eq!(UserState::ENCODED_LEN, 100);
    let fresh = UserState::new().encode();
    assert_eq!(fresh[0], 1, "format version");
    assert!(fresh[1..].iter().all(|&b| b == 0));
    assert_eq!(UserState::decode(&fresh).unwrap(), UserState::new());
    let (issued, state) = issued(20);
    let bytes = state.encode();
    let decoded = UserState::decode(&bytes).unwrap();
    assert_eq!(decoded, state);
    assert_reencodes(&decoded, &bytes);
    let (outcome, used) = verify(&decoded, issued.token.as_str(), t0());
    assert_eq!(outcome, Outcome::Accepted);
    assert!(record_of(&UserState::decode(&used.encode()).unwrap()).is_used());
}

#[test]
fn the_state_holds_neither_token_nor_subject_and_debug_hides_the_mac() {
    let mut rng = Scripted::new(&[908_771]);
    let (issued, state) = issue_stored(
        &mut rng,
        &key(),
        &UserState::new(),
        &params(6, 5, 5),
        &lax(),
        t0(),
    )
    .unwrap();
    assert_eq!(issued.token.as_str(), "908771");
    let bytes = state.encode();
    for secret_or_name in [&b"908771"[..], USER.as_bytes(), TENANT.as_bytes()] {
        assert!(
            !bytes
                .windows(secret_or_name.len())
                .any(|w| w == secret_or_name)
        );
    }
    let debug = format!("{:?}", record_of(&state));
    assert_eq!(
        debug,
        format!(
            "IssuedToken {{ key_id: {:?}, issued_at: {:?}, expires_at: {:?}, length: 6, \
             attempt_limit: 5, failed_attempts: 0, used: false, .. }}",
            key().id(),
            t0(),
            t0() + Duration::minutes(5)
        )
    );
    assert!(!format!("{issued:?}").contains("908771"));
    assert!(!format!("{state:?}").contains("908771"));
}

/// Byte offsets in format version 1.
const FLAG: usize = 1;
const KEY_ID: std::ops::Range<usize> = 2..10;
const MAC_AND_BOUND_FIELDS: std::ops::Range<usize> = 10..57;
const FAILED: usize = 57;
const USED: usize = 58;
const LIMITERS: std::ops::Range<usize> = 59..98;
const CONSECUTIVE: std::ops::Range<usize> = 98..100;

#[test]
fn a_tampered_state_never_accepts_the_right_token() {
    let (issued, state) = issued(21);
    let token = issued.token.as_str();
    let bytes = state.encode();
    let mut covered_and_decoded = 0;
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut tampered = bytes;
            tampered[i] ^= 1 << bit;
            let Ok(state) = UserState::decode(&tampered) else {
                continue; // refused outright
            };
            // Whatever decodes re-encodes to the same bytes.
            assert_eq!(state.encode(), tampered);
            let at = state.record().map_or(t0(), |r| r.issued_at());
            let result = verify_stored(&state, &key(), &subject(), token, &lax(), at);
            if KEY_ID.contains(&i) {
                assert!(
                    matches!(result, Err(Error::UnknownTokenKey { .. })),
                    "byte {i}"
                );
            } else if MAC_AND_BOUND_FIELDS.contains(&i) {
                // The MAC covers these: the right token no longer matches (or, when the
                // length was changed, no longer even has the right length).
                let outcome = result.unwrap().0;
                assert!(
                    matches!(
                        outcome,
                        Outcome::Mismatch { .. } | Outcome::Malformed { .. }
                    ),
                    "byte {i} bit {bit}: {outcome:?}"
                );
                covered_and_decoded += 1;
            } else {
                // Counters and limiters are not covered (documented: the store is trusted
                // for them). The flag cannot flip and decode.
                assert!(
                    i == FAILED || i == USED || LIMITERS.contains(&i) || CONSECUTIVE.contains(&i),
                    "byte {i}"
                );
                assert_ne!(i, FLAG);
                let outcome = result.unwrap().0;
                assert!(
                    matches!(
                        outcome,
                        Outcome::Accepted
                            | Outcome::TokenLocked
                            | Outcome::AlreadyUsed
                            | Outcome::BudgetExhausted { .. }
                            | Outcome::UserLockedOut
                    ),
                    "byte {i}: {outcome:?}"
                );
            }
        }
    }
    // At least every MAC bit decoded and was tried.
    assert!(covered_and_decoded >= 32 * 8, "{covered_and_decoded}");
}

#[test]
fn decoding_refuses_truncated_and_extended_bytes() {
    let bytes = issued(22).1.encode();
    for len in 0..bytes.len() {
        let err = UserState::decode(&bytes[..len]).unwrap_err();
        assert_eq!(
            err,
            Error::Record(RecordError::WrongLength {
                expected: 100,
                found: len
            }),
            "prefix of {len} bytes"
        );
    }
    for extra in [1usize, 2, 100] {
        let mut long = bytes.to_vec();
        long.extend(std::iter::repeat_n(0, extra));
        assert!(matches!(
            UserState::decode(&long),
            Err(Error::Record(RecordError::WrongLength { .. }))
        ));
    }
}

#[test]
fn decoding_refuses_impossible_field_values() {
    let bytes = issued(23).1.encode();
    let with = |at: usize, v: u8| {
        let mut b = bytes;
        b[at] = v;
        UserState::decode(&b)
    };
    let invalid = |name| Err(Error::Record(RecordError::InvalidField(name)));
    assert_eq!(
        with(0, 0),
        Err(Error::Record(RecordError::UnknownVersion(0)))
    );
    assert_eq!(
        with(0, 2),
        Err(Error::Record(RecordError::UnknownVersion(2)))
    );
    assert_eq!(with(FLAG, 2), invalid("record"));
    // No record, but record bytes: refused.
    assert_eq!(with(FLAG, 0), invalid("record"));
    // Seconds far outside the representable range (the high byte of an i64).
    assert_eq!(with(42, 0x7f), invalid("issuedAt"));
    assert_eq!(with(42, 0x80), invalid("issuedAt"));
    // Nanoseconds >= 10^9.
    assert_eq!(with(50, 0x3c), invalid("issuedAt"));
    assert_eq!(with(54, 0), invalid("ttl"));
    assert_eq!(with(54, 61), invalid("ttl"));
    assert_eq!(with(55, 5), invalid("length"));
    assert_eq!(with(55, 19), invalid("length"));
    assert_eq!(with(56, 0), invalid("attemptLimit"));
    assert_eq!(with(56, 11), invalid("attemptLimit"));
    assert_eq!(with(FAILED, 6), invalid("failedAttempts"));
    assert_eq!(with(USED, 2), invalid("used"));
    // Used with every attempt spent cannot happen: the last guess would have been refused.
    let mut b = bytes;
    b[FAILED] = 5;
    b[USED] = 1;
    assert_eq!(UserState::decode(&b), invalid("used"));
    // A limiter flag other than 0 or 1, an unset limiter with stray bytes.
    assert_eq!(with(59, 2), invalid("failuresShort"));
    assert_eq!(with(72 + 5, 1), invalid("failuresLong"));
    assert_eq!(with(85, 0), invalid("requests"));
    // More consecutive failures than any cap allows.
    assert_eq!(with(99, 101), invalid("consecutiveFailures"));
    assert_eq!(with(98, 1), invalid("consecutiveFailures"));
    // Bounds that are allowed decode.
    assert!(with(54, 60).is_ok() && with(55, 18).is_ok() && with(56, 10).is_ok());
    assert!(with(FAILED, 5).is_ok() && with(99, 100).is_ok());
}

#[test]
fn decoding_random_bytes_never_panics_and_what_decodes_re_encodes() {
    let mut rng = ChaCha20Rng::seed_from_u64(24);
    let mut decoded = 0;
    for i in 0..200_000u32 {
        let len = if i % 4 == 0 {
            (rng.next_u32() % 120) as usize
        } else {
            100
        };
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        if i % 2 == 0 && len > 1 {
            bytes[0] = 1;
            bytes[1] = (i % 3 == 0).into();
        }
        if let Ok(state) = UserState::decode(&bytes) {
            assert_reencodes(&state, &bytes);
            decoded += 1;
        }
    }
    // Random seconds are almost never in range, so few random strings decode. Exercise
    // the property on states whose every field is drawn from its valid range.
    let base = issued(25).1.encode();
    for _ in 0..20_000 {
        let mut bytes = base;
        rng.fill_bytes(&mut bytes[KEY_ID.start..42]); // key id and MAC: any value is valid
        // Seconds from year -9700 to 9900 (time's range is -9999 to 9999), any nanosecond.
        let secs = i64::try_from(rng.next_u64() % 620_000_000_000).unwrap() - 370_000_000_000;
        bytes[42..50].copy_from_slice(&secs.to_be_bytes());
        bytes[50..54].copy_from_slice(&(rng.next_u32() % 1_000_000_000).to_be_bytes());
        bytes[54] = 1 + (rng.next_u32() % 60) as u8;
        bytes[55] = 6 + (rng.next_u32() % 13) as u8;
        let limit = 1 + (rng.next_u32() % 10) as u8;
        bytes[56] = limit;
        bytes[FAILED] = (rng.next_u32() % u32::from(limit + 1)) as u8;
        bytes[USED] = u8::from(bytes[FAILED] < limit && rng.next_u32() % 2 == 0);
        for tat in [59, 72, 85] {
            if rng.next_u32() % 2 == 0 {
                bytes[tat..tat + 13].fill(0);
            } else {
                bytes[tat] = 1;
                bytes[tat + 1..tat + 9].copy_from_slice(&secs.to_be_bytes());
            }
        }
        let consecutive = (rng.next_u32() % 101) as u16;
        bytes[CONSECUTIVE].copy_from_slice(&consecutive.to_be_bytes());
        let state = UserState::decode(&bytes).unwrap_or_else(|e| panic!("{e:?} for {bytes:?}"));
        assert_reencodes(&state, &bytes);
        decoded += 1;
    }
    assert!(decoded >= 20_000, "{decoded}");
}

/// The stored format and the MAC input, pinned. The expected bytes were computed outside
/// Rust, with Python's `hmac` and `struct` over the layout the docs describe:
/// `HMAC-SHA256(key, "password-mgmt/v2/digit-token" zero-padded to 64 bytes ‖ secs (i64 BE)
/// ‖ nanos (u32 BE) ‖ ttl ‖ length ‖ limit ‖ len(tenant) (u16 BE) ‖ tenant ‖ len(purpose) ‖ purpose ‖
/// len(user) ‖ user ‖ token)`, key id `HMAC-SHA256(key, "password-mgmt/v1/key-id\0")[..8]`,
/// then the state's layout: version, flag, record, two zero budget arrival times, the
/// request limiter's arrival time (`t0` + 30 minutes), two zero bytes of consecutive
/// failures. Changing it needs a new format version: stored states would otherwise all
/// turn into mismatches.
#[test]
fn the_version_1_format_is_pinned() {
    assert_eq!(key().id().to_string(), "f7018b4b02a5ee98");
    let mut rng = Scripted::new(&[908_771]);
    let (issued, state) = issue_stored(
        &mut rng,
        &key(),
        &UserState::new(),
        &params(6, 5, 5),
        &UserLimits::default(),
        t0(),
    )
    .unwrap();
    assert_eq!(issued.token.as_str(), "908771");
    let hex: String = state.encode().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "0101f7018b4b02a5ee98\
         149d336ffd22a9133a33abf0b196985781d65fa794731845796d1e3a6f712da2\
         000000006b038200075bcd150506050000\
         00000000000000000000000000\
         00000000000000000000000000\
         01000000006b038908075bcd15\
         0000"
    );
}

#[test]
fn refusals_come_in_the_documented_order() {
    let (issued, state) = issued(26);
    let token = issued.token.as_str();
    let bad = wrong(token);
    // Locked beats Expired and NotYetValid.
    let mut locked = state.clone();
    for _ in 0..5 {
        locked = verify(&locked, &bad, t0()).1;
    }
    let late = record_of(&state).expires_at();
    let early = t0() - Duration::minutes(1);
    assert_eq!(verify(&locked, token, late).0, Outcome::TokenLocked);
    assert_eq!(verify(&locked, token, early).0, Outcome::TokenLocked);
    // AlreadyUsed beats NotYetValid and Expired.
    let used = verify(&state, token, t0()).1;
    assert_eq!(verify(&used, token, early).0, Outcome::AlreadyUsed);
    assert_eq!(verify(&used, token, late).0, Outcome::AlreadyUsed);
    // NotYetValid and Expired come before the candidate is looked at: a malformed one is
    // not counted.
    for now in [early, late] {
        let (outcome, next) = verify(&state, "x", now);
        assert!(matches!(outcome, Outcome::NotYetValid | Outcome::Expired));
        assert_eq!(next, state);
    }
    // The subject is checked first of all, even before a key fault.
    let other = TokenKey::from_bytes(&[1; 32]);
    let blank = Subject {
        user: "",
        ..subject()
    };
    let err = verify_stored(&state, &other, &blank, token, &lax(), t0()).unwrap_err();
    assert_eq!(err.violations()[0].field(), "userId");
}

#[test]
fn an_rng_that_fails_after_rejections_is_reported() {
    use password_mgmt::rand_core::{TryCryptoRng, TryRng};

    /// Returns rejected words, then fails.
    struct FailsLater(u32);
    impl TryRng for FailsLater {
        type Error = fixtures::Broken;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Err(fixtures::Broken)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            if self.0 == 0 {
                return Err(fixtures::Broken);
            }
            self.0 -= 1;
            Ok(u64::MAX)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            Err(fixtures::Broken)
        }
    }
    impl TryCryptoRng for FailsLater {}
    let err = UserState::new()
        .issue(
            &mut FailsLater(3),
            &key(),
            &subject(),
            &TokenParams::default(),
            &lax(),
            t0(),
        )
        .unwrap_err();
    assert_eq!(err, Error::Rng(RngError::Failed));
}

#[test]
fn state_from_a_clock_far_ahead_is_clamped_and_the_clamp_is_stored() {
    let limits = UserLimits::default();
    let ahead = t0() + Duration::hours(2);
    let mut rng = ChaCha20Rng::seed_from_u64(27);
    // A node two hours ahead spends the request burst (4) and the failure burst (6).
    let mut state = UserState::new();
    for _ in 0..4 {
        state = issue_stored(&mut rng, &key(), &state, &params(6, 60, 10), &limits, ahead)
            .unwrap()
            .1;
    }
    for _ in 0..6 {
        state = verify_stored(&state, &key(), &subject(), "x", &limits, ahead)
            .unwrap()
            .1;
    }
    assert_eq!(state.clock_lead(&limits, t0()), Duration::hours(2));
    // A node with the right clock: refused, but the clamp comes as an update to store.
    let issuance = state
        .issue(
            &mut rng,
            &key(),
            &subject(),
            &params(6, 60, 10),
            &limits,
            t0(),
        )
        .unwrap();
    let wait = issuance.limited().unwrap().duration();
    assert_eq!(wait, Duration::minutes(30) + limits.clock_tolerance());
    let clamped = UserState::decode(issuance.update().expect("the clamp").replacement()).unwrap();
    // Once stored, the wait is real: after it, a token is issued.
    let (_, clamped) = issue_stored(
        &mut rng,
        &key(),
        &clamped,
        &params(6, 60, 10),
        &limits,
        t0() + wait,
    )
    .unwrap();
    // The same for the guess budget: the refusal stores the clamp.
    let v = clamped
        .verify(
            &key(),
            &subject(),
            &Candidate::new("x").unwrap(),
            &limits,
            t0() + wait,
        )
        .unwrap();
    assert!(v.clock_lead() > Duration::hours(1));
    let repaired = UserState::decode(v.update().expect("the clamp").replacement()).unwrap();
    let Outcome::BudgetExhausted { retry_after } = v.stored() else {
        panic!("the burst was spent");
    };
    assert_eq!(
        retry_after.duration(),
        Duration::minutes(12) + limits.clock_tolerance()
    );
    let after = t0() + wait + retry_after.duration();
    let (outcome, _) = verify_stored(&repaired, &key(), &subject(), "x", &limits, after).unwrap();
    assert!(outcome.is_counted_failure(), "{outcome:?}");
}
