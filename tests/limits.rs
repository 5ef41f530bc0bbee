//! Rate limits, the guess budget and key rings: bounds, the any-window guarantee (as a
//! property), unusual instants, encodings, a simulated week of attack, and rotation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

mod fixtures;

use fixtures::{key, t0};
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    Error, GuessBudget, GuessLimits, Outcome, PasswordKeyPair, PasswordKeyRing, RateDecision,
    RateLimit, RateLimiter, RecordError, Scheme, TokenKey, TokenKeyRing, TokenLength, TokenParams,
    TokenTtl, ViolationKind, issue,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

#[test]
fn rate_limit_bounds() {
    assert!(RateLimit::new(1, Duration::SECOND).is_ok());
    assert!(RateLimit::new(10_000, Duration::days(366)).is_ok());
    let err = RateLimit::new(0, Duration::ZERO).unwrap_err();
    let fields: Vec<_> = err.violations().iter().map(|v| v.field()).collect();
    assert_eq!(fields, ["max", "window"]);
    for (max, window) in [
        (10_001, Duration::hours(1)),
        (5, Duration::days(367)),
        (5, Duration::milliseconds(1_500)),
        (5, Duration::nanoseconds(1)),
        (5, Duration::seconds(-60)),
    ] {
        assert!(RateLimit::new(max, window).is_err(), "{max} {window}");
    }
    // The parameters for a few limits: burst + (max - burst + 1 refills) never exceed max.
    for (max, burst, interval) in [
        (1, 1, Duration::hours(1)),
        (2, 2, Duration::hours(1)),
        (3, 3, Duration::hours(1)),
        (10, 6, Duration::minutes(12)),
        (100, 51, Duration::seconds(72)),
    ] {
        let limit = RateLimit::new(max, Duration::hours(1)).unwrap();
        assert_eq!(
            (limit.burst(), limit.interval()),
            (burst, interval),
            "{max}"
        );
    }
}

/// Runs `times` through a fresh limiter and returns the instants that were allowed.
/// Every refusal's wait is exact: allowed at `now + retry_after`, not a nanosecond before.
fn allowed(limit: &RateLimit, times: &[UtcDateTime]) -> Vec<UtcDateTime> {
    let mut limiter = RateLimiter::new();
    let mut out = Vec::new();
    for &now in times {
        let check = limiter.check(limit, now);
        match check.decision {
            RateDecision::Allowed => out.push(now),
            RateDecision::Limited { retry_after } => {
                assert!(retry_after > Duration::ZERO);
                // (Except at the end of time, where nothing is ever allowed again.)
                if let Some(then) = now.checked_add(retry_after + limit.interval()) {
                    let then = then - limit.interval();
                    assert_eq!(limiter.peek(limit, then), RateDecision::Allowed);
                    let just_before = then - Duration::nanoseconds(1);
                    assert!(!limiter.peek(limit, just_before).is_allowed());
                }
                assert_eq!(check.limiter, limiter, "a limited check changes nothing");
            }
            _ => unreachable!(),
        }
        limiter = check.limiter;
    }
    out
}

/// The largest number of `times` in any half-open window `[t, t + window)`.
fn busiest_window(times: &[UtcDateTime], window: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    (0..sorted.len())
        .map(|i| {
            sorted[i..]
                .iter()
                .take_while(|&&t| t < sorted[i] + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_129),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// The guarantee: never more than `max` allowed events in any window, for any
    /// (non-decreasing) arrival pattern.
    #[test]
    fn no_window_holds_more_than_max(
        max in 1u32..=20,
        window_s in 1i64..=3_600,
        gaps_ms in prop::collection::vec(0i64..=600_000, 1..300),
    ) {
        let limit = RateLimit::new(max, Duration::seconds(window_s)).unwrap();
        let mut now = t0();
        let times: Vec<_> = gaps_ms.iter().map(|&g| { now += Duration::milliseconds(g); now }).collect();
        let ok = allowed(&limit, &times);
        prop_assert!(busiest_window(&ok, limit.window()) <= max as usize);
    }

    /// Decoding is total and strict: any bytes give a value that re-encodes to them, or
    /// an error. Half the inputs start as valid encodings with a few bytes changed.
    #[test]
    fn limiter_and_budget_decoding_is_strict(
        bytes in prop::collection::vec(any::<u8>(), 0..40),
        seconds in -300_000_000_000i64..250_000_000_000,
        nanos in 0u32..1_000_000_000,
        flips in prop::collection::vec((0usize..27, any::<u8>()), 0..3),
    ) {
        for (constructed, candidate) in [(false, bytes.clone()), (true, {
            let mut b = GuessBudget::new().encode().to_vec();
            b[1] = 1;
            b[2..10].copy_from_slice(&seconds.to_be_bytes());
            b[10..14].copy_from_slice(&nanos.to_be_bytes());
            for &(at, v) in &flips { b[at] = v; }
            b
        })] {
            if constructed && flips.is_empty() {
                prop_assert!(GuessBudget::decode(&candidate).is_ok(), "a valid encoding decodes");
            }
            if let Ok(budget) = GuessBudget::decode(&candidate) {
                prop_assert_eq!(budget.encode().to_vec(), candidate.clone());
            }
            let short = &candidate[..candidate.len().min(RateLimiter::ENCODED_LEN)];
            if let Ok(limiter) = RateLimiter::decode(short) {
                prop_assert_eq!(limiter.encode().to_vec(), short.to_vec());
            }
        }
    }

    /// A clock that jumps backwards never buys events: at most burst + (span / interval).
    #[test]
    fn a_clock_going_backwards_buys_nothing(
        max in 1u32..=20,
        window_s in 1i64..=3_600,
        steps_ms in prop::collection::vec(-7_200_000i64..=600_000, 1..300),
    ) {
        let limit = RateLimit::new(max, Duration::seconds(window_s)).unwrap();
        let mut now = t0();
        let times: Vec<_> = steps_ms.iter().map(|&g| { now += Duration::milliseconds(g); now }).collect();
        let ok = allowed(&limit, &times);
        let latest = *times.iter().max().unwrap();
        let span = (latest - times[0]).max(Duration::ZERO);
        let bound = i128::from(limit.burst()) + span.whole_nanoseconds() / limit.interval().whole_nanoseconds();
        prop_assert!(ok.len() as i128 <= bound, "{} > {}", ok.len(), bound);
        // And the any-window bound holds over the clock's readings, whatever their order.
        prop_assert!(busiest_window(&ok, limit.window()) <= max as usize);
    }
}

#[test]
fn unusual_instants() {
    let limit = RateLimit::new(2, Duration::minutes(1)).unwrap();
    // The first event ever, and a burst.
    let fresh = RateLimiter::new();
    let one = fresh.check(&limit, t0());
    assert!(one.decision.is_allowed());
    let two = one.limiter.check(&limit, t0());
    assert!(two.decision.is_allowed());
    let three = two.limiter.check(&limit, t0());
    assert_eq!(
        three.decision,
        RateDecision::Limited {
            retry_after: Duration::minutes(1)
        }
    );
    assert_eq!(three.decision.retry_after_seconds(), Some(60));
    // A huge gap makes the limiter fresh again.
    let later = t0() + Duration::days(3_650);
    let again = two.limiter.check(&limit, later);
    assert!(again.decision.is_allowed());
    assert!(again.limiter.check(&limit, later).decision.is_allowed());
    // A clock stepped back a day: refused, with the true wait, and recognisable.
    let back = t0() - Duration::days(1);
    let stepped_back = two.limiter.check(&limit, back);
    assert_eq!(
        stepped_back.decision,
        RateDecision::Limited {
            retry_after: Duration::days(1) + Duration::minutes(1)
        }
    );
    assert!(two.limiter.from_the_future(&limit, back));
    assert!(!two.limiter.from_the_future(&limit, t0()));
    assert!(!RateLimiter::new().from_the_future(&limit, back));
    // The ends of time: nothing panics, nothing overflows, nothing slips through.
    for now in [
        UtcDateTime::MIN,
        UtcDateTime::MAX,
        UtcDateTime::MAX - Duration::seconds(30),
    ] {
        let times = vec![now; 50];
        assert!(allowed(&limit, &times).len() <= 2, "{now}");
        let mut limiter = RateLimiter::new();
        for _ in 0..5 {
            limiter = limiter.check(&limit, now).limiter;
        }
        assert_eq!(RateLimiter::decode(&limiter.encode()).unwrap(), limiter);
    }
    assert!(allowed(&limit, &[UtcDateTime::MAX; 3]).is_empty());
    // Sub-second waits round up for Retry-After.
    let fast = RateLimit::new(1, Duration::SECOND).unwrap();
    let used = RateLimiter::new().check(&fast, t0()).limiter;
    let wait = used
        .check(&fast, t0() + Duration::milliseconds(300))
        .decision;
    assert_eq!(
        wait,
        RateDecision::Limited {
            retry_after: Duration::milliseconds(700)
        }
    );
    assert_eq!(wait.retry_after_seconds(), Some(1));
    assert_eq!(
        used.peek(&fast, t0() + Duration::SECOND),
        RateDecision::Allowed
    );
}

#[test]
fn limiter_and_budget_encodings_are_strict() {
    let limit = RateLimit::new(5, Duration::hours(1)).unwrap();
    let used = RateLimiter::new().check(&limit, t0()).limiter;
    for limiter in [RateLimiter::new(), used] {
        let bytes = limiter.encode();
        assert_eq!(bytes.len(), RateLimiter::ENCODED_LEN);
        assert_eq!(RateLimiter::decode(&bytes).unwrap(), limiter);
    }
    assert_eq!(
        RateLimiter::new().encode(),
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    let bytes = used.encode();
    let with = |at: usize, v: u8| {
        let mut b = bytes;
        b[at] = v;
        RateLimiter::decode(&b)
    };
    let invalid = Err(Error::Record(RecordError::InvalidField("arrivalTime")));
    assert_eq!(
        with(0, 2),
        Err(Error::Record(RecordError::UnknownVersion(2)))
    );
    assert_eq!(with(1, 2), invalid);
    assert_eq!(with(2, 0x7f), invalid); // seconds out of range
    assert_eq!(with(10, 0xff), invalid); // nanoseconds >= 10^9
    let mut fresh_with_time = RateLimiter::new().encode();
    fresh_with_time[5] = 1;
    assert_eq!(RateLimiter::decode(&fresh_with_time), invalid);
    for len in [0, 1, 13, 15] {
        let mut b = vec![1u8; len];
        b.resize(len, 0);
        assert!(
            matches!(RateLimiter::decode(&b), Err(Error::Record(_))),
            "{len}"
        );
    }

    let limits = GuessLimits::default();
    let budget = spend(GuessBudget::new(), &limits, 3);
    let bytes = budget.encode();
    assert_eq!(bytes.len(), GuessBudget::ENCODED_LEN);
    assert_eq!(GuessBudget::decode(&bytes).unwrap(), budget);
    assert_eq!(
        GuessBudget::decode(&GuessBudget::new().encode()).unwrap(),
        GuessBudget::new()
    );
    let mut bad = bytes;
    bad[14] = 7;
    assert_eq!(
        GuessBudget::decode(&bad),
        Err(Error::Record(RecordError::InvalidField("longWindow")))
    );
    assert!(GuessBudget::decode(&bytes[..26]).is_err());
}

/// `n` failed guesses at `t0()` on fresh tokens, starting from `budget`.
fn spend(mut budget: GuessBudget, limits: &GuessLimits, n: usize) -> GuessBudget {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for _ in 0..n {
        let issued = issue(&mut rng, &key(), "u", &TokenParams::default(), t0()).unwrap();
        let v = issued
            .record
            .verify_with_budget(&key(), &budget, limits, "u", "x", t0())
            .unwrap();
        assert!(matches!(v.outcome, Outcome::Malformed { .. }));
        budget = v.budget;
    }
    budget
}

#[test]
fn a_spent_budget_refuses_even_the_right_token_and_a_success_refills_it() {
    let limits = GuessLimits::default();
    // Default short limit: a burst of 6 failures.
    let budget = spend(GuessBudget::new(), &limits, 6);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let issued = issue(&mut rng, &key(), "u", &TokenParams::default(), t0()).unwrap();
    let token = issued.token.as_str();
    let refused = issued
        .record
        .verify_with_budget(&key(), &budget, &limits, "u", token, t0())
        .unwrap();
    assert_eq!(
        refused.outcome,
        Outcome::BudgetExhausted {
            retry_after: Duration::minutes(12)
        }
    );
    assert_eq!(
        (refused.record, refused.budget),
        (issued.record.clone(), budget),
        "nothing counted"
    );
    // Twelve minutes later one more guess is allowed: the right one, which refills the budget.
    let later = t0() + Duration::minutes(12);
    let accepted = issued
        .record
        .verify_with_budget(&key(), &budget, &limits, "u", token, later);
    let accepted = accepted.unwrap();
    assert_eq!(
        accepted.outcome,
        Outcome::Expired,
        "the 5-minute token expired meanwhile"
    );
    let fresh = issue(&mut rng, &key(), "u", &TokenParams::default(), later).unwrap();
    let ok = fresh
        .record
        .verify_with_budget(&key(), &budget, &limits, "u", fresh.token.as_str(), later)
        .unwrap();
    assert_eq!(ok.outcome, Outcome::Accepted);
    assert_eq!(ok.budget, GuessBudget::new());
    // Refusals that examine no candidate spend nothing.
    let used = ok
        .record
        .verify_with_budget(&key(), &budget, &limits, "u", "000000", later)
        .unwrap();
    assert_eq!((used.outcome, used.budget), (Outcome::AlreadyUsed, budget));
    // The plain verify never looks at a budget.
    assert!(matches!(
        fresh
            .record
            .verify(&key(), "u", "000000", later)
            .unwrap()
            .outcome,
        Outcome::Mismatch { .. }
    ));
}

/// The attacker of the issue: issue, fail, reissue, at the fastest pace the service
/// allows, for a simulated week. Guesses never exceed the budget.
#[test]
fn a_week_of_attack_stays_within_the_budget() {
    let limits = GuessLimits::default();
    let requests = RateLimit::new(20, Duration::hours(1)).unwrap(); // generous on purpose
    let params = TokenParams::new(
        TokenLength::new(6).unwrap(),
        TokenTtl::from_minutes(5).unwrap(),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let start = t0();
    let end = start + Duration::weeks(1);
    let mut now = start;
    let mut budget = GuessBudget::new();
    let mut request_limiter = RateLimiter::new();
    let mut record = None;
    let mut guesses: Vec<UtcDateTime> = Vec::new();
    let mut tokens = 0;
    while now < end {
        let Some(current) = record.take() else {
            // Ask for a token, as fast as the request limit allows.
            let check = request_limiter.check(&requests, now);
            match check.decision {
                RateDecision::Allowed => {
                    request_limiter = check.limiter;
                    record = Some(
                        issue(&mut rng, &key(), "victim", &params, now)
                            .unwrap()
                            .record,
                    );
                    tokens += 1;
                }
                RateDecision::Limited { retry_after } => now += retry_after,
                _ => unreachable!(),
            }
            continue;
        };
        // Guess "000000" (right with probability 10^-6; the seed makes it wrong here).
        let v = current
            .verify_with_budget(&key(), &budget, &limits, "victim", "000000", now)
            .unwrap();
        budget = v.budget;
        match v.outcome {
            Outcome::Mismatch { .. } => {
                guesses.push(now);
                now += Duration::SECOND;
                record = Some(v.record);
            }
            Outcome::BudgetExhausted { retry_after } => {
                now += retry_after;
                record = Some(v.record);
            }
            Outcome::Locked | Outcome::Expired => {} // reissue
            other => panic!("{other:?}"),
        }
    }
    let in_week: Vec<_> = guesses.iter().copied().filter(|&t| t < end).collect();
    assert!(busiest_window(&in_week, Duration::hours(1)) <= 10);
    assert!(busiest_window(&in_week, Duration::days(1)) <= 100);
    // Over d days the long limit allows its burst plus one guess per interval:
    // 51 + 7 days / 28.8 minutes = 51 + 350 = 401, within the 7 x 100 of the daily bound.
    let long = limits.long();
    let bound = long.burst() as usize
        + (Duration::weeks(1).whole_seconds() / long.interval().whole_seconds()) as usize;
    assert_eq!(bound, 401);
    assert!(in_week.len() <= bound, "{} guesses", in_week.len());
    // The attacker really was as fast as allowed (the test is not vacuous).
    assert!(
        in_week.len() >= bound - 5,
        "{} guesses over {tokens} tokens",
        in_week.len()
    );
    println!(
        "a week of attack: {} guesses over {tokens} tokens",
        in_week.len()
    );
}

#[test]
fn token_key_ring_rotation() {
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let id = |bytes: &[u8; 32]| TokenKey::from_bytes(bytes).id();
    let mut ring = TokenKeyRing::new(TokenKey::from_bytes(&a));
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let old = issue(&mut rng, ring.current(), "u", &TokenParams::default(), t0()).unwrap();

    ring.accept(TokenKey::from_bytes(&b)); // distributed, not yet current
    ring.accept(TokenKey::from_bytes(&b)); // twice: no duplicate
    assert_eq!(ring.current().id(), id(&a));
    assert_eq!(ring.rotate(TokenKey::from_bytes(&b)), id(&a));
    assert_eq!(ring.current().id(), id(&b));
    let new = issue(&mut rng, ring.current(), "u", &TokenParams::default(), t0()).unwrap();
    for issued in [&old, &new] {
        let key = ring.key_for(&issued.record).unwrap();
        assert_eq!(
            issued
                .record
                .verify(key, "u", issued.token.as_str(), t0())
                .unwrap()
                .outcome,
            Outcome::Accepted
        );
    }
    assert!(!ring.retire(id(&b)), "the current key cannot be retired");
    assert!(!ring.retire(id(&c)));
    assert!(ring.retire(id(&a)));
    assert_eq!(
        ring.key_for(&old.record).unwrap_err(),
        Error::UnknownTokenKey { record: id(&a) }
    );
    assert_eq!(
        ring.key_for(&old.record)
            .unwrap_err()
            .detail_code()
            .http_status(),
        500
    );
    assert!(ring.contains(id(&b)) && !ring.contains(id(&a)));
    let debug = format!("{ring:?}");
    assert_eq!(
        debug,
        format!("TokenKeyRing {{ current: {:?}, accepted: [] }}", id(&b))
    );
}

#[test]
fn password_key_ring_rotation() {
    let pem = |bits: u32| {
        std::fs::read_to_string(format!(
            "{}/tests/data/keys/rsa{bits}.pk8.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let pair = |bits| PasswordKeyPair::from_pkcs8_pem(&pem(bits)).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut ring = PasswordKeyRing::new(pair(2048));
    let first = ring.current().public_key_id();
    let encrypted = ring
        .current()
        .encryptor()
        .encrypt(&mut rng, "pw", Scheme::OaepSha256)
        .unwrap();

    ring.add(pair(3072));
    ring.add(pair(3072)); // no duplicate
    let next = pair(3072).public_key_id();
    assert_eq!(
        ring.current().public_key_id(),
        first,
        "added keys are not published"
    );
    ring.set_current(next).unwrap();
    assert_eq!(ring.current().public_key_id(), next);
    // A client that fetched the first key a moment ago.
    assert_eq!(
        ring.decrypt(&mut rng, &first.to_string(), &encrypted, Scheme::OaepSha256)
            .unwrap()
            .as_str(),
        "pw"
    );
    assert!(!ring.retire(next), "the published key cannot be retired");
    assert!(ring.retire(first));
    for unknown in [
        first.to_string(),
        "YWQ2NjQ4MTItZjY0NC00MWExLWFjMjktOGNmMzU3Y2VlNjk2".to_owned(),
        String::new(),
    ] {
        let err = ring
            .decrypt(&mut rng, &unknown, &encrypted, Scheme::OaepSha256)
            .unwrap_err();
        assert_eq!(err.violations()[0].field(), "publicKeyId");
        assert!(matches!(
            err.violations()[0].kind(),
            ViolationKind::Unknown { .. }
        ));
        assert_eq!(err.detail_code().as_str(), "400.1 Bad Request Content");
    }
    assert!(ring.set_current(first).is_err());
    assert_eq!(
        format!("{ring:?}"),
        format!("PasswordKeyRing {{ current: {next:?}, others: [] }}")
    );
}

#[test]
fn a_window_that_is_not_whole_seconds_says_so() {
    let err = RateLimit::new(5, Duration::milliseconds(1_500)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: window must be a whole number of seconds"
    );
}

#[test]
fn refusals_come_before_the_budget_and_spend_nothing() {
    let limits = GuessLimits::default();
    let spent = spend(GuessBudget::new(), &limits, 6);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let issued = issue(&mut rng, &key(), "u", &TokenParams::default(), t0()).unwrap();
    let mut locked = issued.record.clone();
    for _ in 0..5 {
        locked = locked.verify(&key(), "u", "x", t0()).unwrap().record;
    }
    let used = issued
        .record
        .verify(&key(), "u", issued.token.as_str(), t0())
        .unwrap()
        .record;
    let cases = [
        (&locked, t0(), Outcome::Locked),
        (&used, t0(), Outcome::AlreadyUsed),
        (
            &issued.record,
            t0() - Duration::SECOND,
            Outcome::NotYetValid,
        ),
        (&issued.record, issued.record.expires_at(), Outcome::Expired),
    ];
    for budget in [GuessBudget::new(), spent] {
        for (record, now, expected) in &cases {
            let v = record
                .verify_with_budget(&key(), &budget, &limits, "u", "x", *now)
                .unwrap();
            assert_eq!(v.outcome, *expected);
            assert_eq!(
                (&v.record, v.budget),
                (*record, budget),
                "{expected:?}: nothing spent"
            );
        }
    }
    // A budget written by a clock that ran ahead is recognisable.
    assert!(spent.from_the_future(&limits, t0() - Duration::days(2)));
    assert!(!spent.from_the_future(&limits, t0()));
}

#[cfg(feature = "serde")]
#[test]
fn the_429_body() {
    let limit = RateLimit::new(1, Duration::minutes(1)).unwrap();
    let used = RateLimiter::new().check(&limit, t0()).limiter;
    let decision = used
        .check(&limit, t0() + Duration::milliseconds(500))
        .decision;
    let (body, retry_after) = password_mgmt::wire::TooManyRequests::for_decision(decision).unwrap();
    assert_eq!(retry_after, 60);
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"message":"Rate Limit Exceeded"}"#
    );
    assert!(password_mgmt::wire::TooManyRequests::for_decision(RateDecision::Allowed).is_none());
}
