//! Rate limits, the guess budget, the consecutive cap and key rings: bounds, the any-window
//! guarantee (as a property), clocks that disagree, unusual instants, encodings, the
//! configuration forms, a simulated month of attack, and rotation.

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

use fixtures::{issue_stored, key, subject, t0, verify_stored};
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    Error, NewPassword, Outcome, PasswordKeyPair, PasswordKeyRing, RateDecision, RateLimit,
    RateLimiter, RecordError, RetryAfter, Scheme, TokenKey, TokenKeyRing, TokenParams, UserLimits,
    UserState, ViolationKind,
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

/// Runs `times` through a fresh limiter, storing each allowed event's update as a service
/// does, and returns the instants that were allowed. Every refusal's wait is exact: allowed
/// at `now + retry_after`, not a nanosecond before.
fn allowed(limit: &RateLimit, times: &[UtcDateTime]) -> Vec<UtcDateTime> {
    let mut limiter = RateLimiter::new();
    let mut out = Vec::new();
    for &now in times {
        let check = limiter.check(limit, now);
        if let Some(update) = check.update() {
            // An allowed event, or a clamp of state from a clock too far ahead.
            assert_eq!(update.expected(), &limiter.encode());
            limiter = RateLimiter::decode(update.replacement()).unwrap();
        }
        if let Some(retry_after) = check.limited() {
            if check.clock_lead() <= limit.clock_tolerance() {
                assert!(check.update().is_none(), "a limited check changes nothing");
            }
            let wait = retry_after.duration();
            assert!(wait > Duration::ZERO);
            // (Except at the end of time, where nothing is ever allowed again.)
            if let Some(then) = now.checked_add(wait + limit.interval()) {
                let then = then - limit.interval();
                assert_eq!(limiter.peek(limit, then), RateDecision::Allowed);
                let just_before = then - Duration::nanoseconds(1);
                assert!(!limiter.peek(limit, just_before).is_allowed());
            }
            continue;
        }
        assert!(
            check.update().is_some(),
            "an allowed event changes the state"
        );
        assert!(check.stored().is_allowed());
        out.push(now);
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
    fn limiter_decoding_is_strict(
        bytes in prop::collection::vec(any::<u8>(), 0..20),
        seconds in -300_000_000_000i64..250_000_000_000,
        nanos in 0u32..1_000_000_000,
        flips in prop::collection::vec((0usize..14, any::<u8>()), 0..3),
    ) {
        let mut constructed = RateLimiter::new().encode().to_vec();
        constructed[1] = 1;
        constructed[2..10].copy_from_slice(&seconds.to_be_bytes());
        constructed[10..14].copy_from_slice(&nanos.to_be_bytes());
        if seconds.abs() < 250_000_000_000 {
            prop_assert!(RateLimiter::decode(&constructed).is_ok(), "a valid encoding decodes");
        }
        for &(at, v) in &flips { constructed[at] = v; }
        for candidate in [bytes, constructed] {
            if let Ok(limiter) = RateLimiter::decode(&candidate) {
                prop_assert_eq!(limiter.encode().to_vec(), candidate);
            }
        }
    }

    /// Nodes whose clocks disagree by up to the tolerance: readings that jitter back by up
    /// to the tolerance never buy events, and the any-window bound holds over the readings.
    #[test]
    fn clocks_within_the_tolerance_buy_nothing(
        max in 1u32..=20,
        window_s in 1i64..=3_600,
        steps in prop::collection::vec((0i64..=600_000, 0i64..=5_000), 1..300),
    ) {
        let limit = RateLimit::new(max, Duration::seconds(window_s)).unwrap();
        assert_eq!(limit.clock_tolerance(), Duration::seconds(5));
        let mut base = t0();
        let times: Vec<_> = steps
            .iter()
            .map(|&(gap_ms, behind_ms)| {
                base += Duration::milliseconds(gap_ms);
                base - Duration::milliseconds(behind_ms)
            })
            .collect();
        let ok = allowed(&limit, &times);
        let latest = *times.iter().max().unwrap();
        let span = (latest - times[0]).max(Duration::ZERO) + limit.clock_tolerance();
        let bound = i128::from(limit.burst()) + span.whole_nanoseconds() / limit.interval().whole_nanoseconds();
        prop_assert!(ok.len() as i128 <= bound, "{} > {}", ok.len(), bound);
        prop_assert!(busiest_window(&ok, limit.window()) <= max as usize);
    }

    /// The configuration form round-trips for every valid limit.
    #[test]
    fn the_configuration_form_round_trips(max in 1u32..=10_000, window_s in 1i64..=31_622_400) {
        let limit = RateLimit::new(max, Duration::seconds(window_s)).unwrap();
        let text = limit.to_string();
        prop_assert_eq!(text.parse::<RateLimit>().unwrap(), limit, "{}", text);
    }
}

#[test]
fn configuration_forms_parse_or_say_why_not() {
    for (text, max, window) in [
        ("10/1h", 10, Duration::hours(1)),
        (" 100/24h ", 100, Duration::days(1)),
        ("5/h", 5, Duration::hours(1)),
        ("30/10m", 30, Duration::minutes(10)),
        ("1/1s", 1, Duration::SECOND),
        ("10000/366d", 10_000, Duration::days(366)),
    ] {
        assert_eq!(
            text.parse::<RateLimit>().unwrap(),
            RateLimit::new(max, window).unwrap(),
            "{text}"
        );
    }
    for text in [
        "", "10", "10/", "/1h", "ten/1h", "10/1x", "10/1H", "-1/1h", "10 / 1h", "10/1h/2",
    ] {
        let err = text.parse::<RateLimit>().unwrap_err();
        assert_eq!(err.violations()[0].field(), "rateLimit", "{text:?}");
    }
    // Well-formed but out of range: the range errors of `new`, every one.
    let err = "0/367d".parse::<RateLimit>().unwrap_err();
    let fields: Vec<_> = err.violations().iter().map(|v| v.field()).collect();
    assert_eq!(fields, ["max", "window"]);
    assert!("99999999999/1h".parse::<RateLimit>().is_err());
}

/// The issue's case: two nodes 50 ms apart share a user's state; an attacker alternates
/// between them as fast as it can. The state only moves forward and nothing resets it, so
/// the hourly bound of 10 holds: not 12 in 11 ms, as a reset gave.
#[test]
fn two_nodes_50_ms_apart_keep_the_bound() {
    let limits =
        UserLimits::default().with_requests(RateLimit::new(10_000, Duration::hours(1)).unwrap());
    let params = TokenParams::default().with_attempt_limit(password_mgmt::AttemptLimit::MAX);
    let skew = Duration::milliseconds(50);
    let mut rng = ChaCha20Rng::seed_from_u64(50);
    let mut state = UserState::new();
    let mut failures_true_time = Vec::new();
    let mut failures_readings = Vec::new();
    let mut max_lead = Duration::ZERO;
    let mut true_now = t0();
    let end = t0() + Duration::hours(1);
    let mut step = 0u32;
    while true_now < end {
        // Node A reads the true time, node B 50 ms less; the attacker alternates.
        let reading = if step.is_multiple_of(2) {
            true_now
        } else {
            true_now - skew
        };
        step += 1;
        if state
            .record()
            .is_none_or(|r| r.is_locked() || reading >= r.expires_at())
        {
            state = issue_stored(&mut rng, &key(), &state, &params, &limits, reading)
                .unwrap()
                .1;
        }
        let verification = state
            .verify(
                &key(),
                &subject(),
                &password_mgmt::Candidate::new("000000").unwrap(),
                &limits,
                reading,
            )
            .unwrap();
        max_lead = max_lead.max(verification.clock_lead());
        if let Some(update) = verification.update() {
            state = UserState::decode(update.replacement()).unwrap();
        }
        if verification.stored().is_counted_failure() {
            failures_true_time.push(true_now);
            failures_readings.push(reading);
        }
        // Every millisecond for the first 20 ms, then every second.
        true_now += if step < 20 {
            Duration::MILLISECOND
        } else {
            Duration::SECOND
        };
    }
    assert!(max_lead <= skew, "{max_lead}");
    assert_eq!(busiest_window(&failures_readings, Duration::hours(1)), 10);
    assert_eq!(busiest_window(&failures_true_time, Duration::hours(1)), 10);
    assert_eq!(failures_true_time.len(), 10);
    // The burst of 6 came in the first milliseconds; nothing more until 12 minutes later.
    assert_eq!(
        busiest_window(&failures_true_time, Duration::milliseconds(11)),
        6
    );
}

#[test]
fn a_lead_beyond_the_tolerance_is_reported_and_clamped_not_reset() {
    let limit = RateLimit::new(10, Duration::hours(1)).unwrap();
    // A node two hours ahead spends the whole burst.
    let ahead = t0() + Duration::hours(2);
    let spent: Vec<_> = std::iter::repeat_n(ahead, 6).collect();
    let mut limiter = RateLimiter::new();
    for &at in &spent {
        let check = limiter.check(&limit, at);
        limiter = RateLimiter::decode(check.update().unwrap().replacement()).unwrap();
    }
    // A node with the right clock sees the lead, and clamps: the wait is what the most
    // restrictive state a node within the tolerance could have written gives (the burst
    // spent now, plus the tolerance), not two hours more, and not a fresh burst.
    let lead = limiter.clock_lead(&limit, t0());
    assert_eq!(lead, Duration::hours(2));
    let check = limiter.check(&limit, t0());
    assert_eq!(check.clock_lead(), Duration::hours(2));
    let wait = check.limited().expect("no fresh burst").duration();
    assert_eq!(wait, limit.interval() + limit.clock_tolerance());
    // Within the tolerance, a lead is honoured as it is: the true wait.
    let near = t0() + Duration::seconds(3);
    let mut limiter = RateLimiter::new();
    for _ in 0..6 {
        let check = limiter.check(&limit, near);
        limiter = RateLimiter::decode(check.update().unwrap().replacement()).unwrap();
    }
    let check = limiter.check(&limit, t0());
    assert_eq!(check.clock_lead(), Duration::seconds(3));
    assert_eq!(
        check.limited().unwrap().duration(),
        limit.interval() + Duration::seconds(3)
    );
    // From the clamp on, the bound holds in the reading node's clock.
    let mut times: Vec<_> = (0..3600).map(|s| t0() + Duration::seconds(s)).collect();
    times.insert(0, ahead);
    let ok = allowed(&limit, &times);
    let after_clamp: Vec<_> = ok.iter().copied().filter(|&t| t < ahead).collect();
    assert!(busiest_window(&after_clamp, Duration::hours(1)) <= 10);
    // The tolerance is configurable, within bounds.
    assert!(limit.with_clock_tolerance(Duration::ZERO).is_ok());
    assert!(limit.with_clock_tolerance(Duration::minutes(6)).is_err());
    assert!(limit.with_clock_tolerance(Duration::seconds(-1)).is_err());
}

#[test]
fn unusual_instants() {
    let limit = RateLimit::new(2, Duration::minutes(1)).unwrap();
    // The first event ever, a burst, and the third refused with the exact wait.
    assert_eq!(allowed(&limit, &[t0(), t0(), t0()]), [t0(), t0()]);
    let two = {
        let one = RateLimiter::new().check(&limit, t0());
        let one = RateLimiter::decode(one.update().unwrap().replacement()).unwrap();
        let two = one.check(&limit, t0());
        RateLimiter::decode(two.update().unwrap().replacement()).unwrap()
    };
    let third = two.check(&limit, t0());
    let retry_after = third.limited().unwrap();
    assert_eq!(retry_after.duration(), Duration::minutes(1));
    assert_eq!(retry_after.seconds(), 60);
    assert_eq!(third.stored(), RateDecision::Limited { retry_after });
    // A huge gap makes the limiter fresh again.
    let later = t0() + Duration::days(3_650);
    assert_eq!(allowed(&limit, &[t0(), t0(), later, later]).len(), 4);
    // A clock stepped back a day: the state's lead is reported and clamped (the tolerance
    // is 5 s), so the wait is the interval plus the tolerance, not a day.
    let back = t0() - Duration::days(1);
    assert_eq!(two.clock_lead(&limit, back), Duration::days(1));
    let stepped_back = two.check(&limit, back);
    assert_eq!(
        stepped_back.limited().unwrap().duration(),
        Duration::minutes(1) + Duration::seconds(5)
    );
    assert_eq!(two.clock_lead(&limit, t0()), Duration::ZERO);
    assert_eq!(RateLimiter::new().clock_lead(&limit, back), Duration::ZERO);
    // The ends of time: nothing panics, nothing overflows, nothing slips through.
    for now in [
        UtcDateTime::MIN,
        UtcDateTime::MAX,
        UtcDateTime::MAX - Duration::seconds(30),
    ] {
        let times = vec![now; 50];
        assert!(allowed(&limit, &times).len() <= 2, "{now}");
    }
    assert!(allowed(&limit, &[UtcDateTime::MAX; 3]).is_empty());
    // Sub-second waits round up for Retry-After.
    let fast = RateLimit::new(1, Duration::SECOND).unwrap();
    let check = RateLimiter::new().check(&fast, t0());
    let used = RateLimiter::decode(check.update().unwrap().replacement()).unwrap();
    let wait = used
        .check(&fast, t0() + Duration::milliseconds(300))
        .limited()
        .unwrap();
    assert_eq!(wait.duration(), Duration::milliseconds(700));
    assert_eq!(wait.seconds(), 1);
    assert_eq!(wait.to_string(), "1");
    assert_eq!(
        used.peek(&fast, t0() + Duration::SECOND),
        RateDecision::Allowed
    );
    assert!(RetryAfter::new(Duration::nanoseconds(-1)).is_none());
}

#[test]
fn limiter_encodings_are_strict() {
    let limit = RateLimit::new(5, Duration::hours(1)).unwrap();
    let check = RateLimiter::new().check(&limit, t0());
    let used = RateLimiter::decode(check.update().unwrap().replacement()).unwrap();
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
}

/// Limits whose request limit never gets in the way.
fn budget_only() -> UserLimits {
    UserLimits::default().with_requests(RateLimit::new(10_000, Duration::SECOND).unwrap())
}

/// `n` malformed guesses at `t0()` on fresh tokens, starting from `state`.
fn spend(mut state: UserState, n: usize) -> UserState {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let limits = budget_only();
    for _ in 0..n {
        state = issue_stored(
            &mut rng,
            &key(),
            &state,
            &TokenParams::default(),
            &limits,
            t0(),
        )
        .unwrap()
        .1;
        let (outcome, next) =
            verify_stored(&state, &key(), &subject(), "x", &limits, t0()).unwrap();
        assert!(matches!(outcome, Outcome::Malformed { .. }), "{outcome:?}");
        state = next;
    }
    state
}

#[test]
fn a_spent_budget_refuses_even_the_right_token_and_a_success_refills_it() {
    let limits = budget_only();
    // Default short limit: a burst of 6 failures.
    let state = spend(UserState::new(), 6);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (issued, state) = issue_stored(
        &mut rng,
        &key(),
        &state,
        &TokenParams::default(),
        &limits,
        t0(),
    )
    .unwrap();
    let token = issued.token.as_str();
    let (outcome, after) = verify_stored(&state, &key(), &subject(), token, &limits, t0()).unwrap();
    assert_eq!(
        outcome,
        Outcome::BudgetExhausted {
            retry_after: RetryAfter::new(Duration::minutes(12)).unwrap()
        }
    );
    assert_eq!(after, state, "nothing counted");
    assert_eq!(
        state
            .guess_budget(&limits, t0())
            .retry_after()
            .map(RetryAfter::seconds),
        Some(720)
    );
    // Twelve minutes later one more guess is allowed, but the 5-minute token expired.
    let later = t0() + Duration::minutes(12);
    assert_eq!(
        verify_stored(&state, &key(), &subject(), token, &limits, later)
            .unwrap()
            .0,
        Outcome::Expired
    );
    // A fresh token's right code is accepted and refills the budget.
    let (fresh, state) = issue_stored(
        &mut rng,
        &key(),
        &state,
        &TokenParams::default(),
        &limits,
        later,
    )
    .unwrap();
    let (outcome, state) = verify_stored(
        &state,
        &key(),
        &subject(),
        fresh.token.as_str(),
        &limits,
        later,
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Accepted);
    assert!(state.guess_budget(&limits, later).is_allowed());
}

/// The attacker of the issue: issue, fail, reissue, at the fastest pace the service
/// allows, for a simulated month. The rate limits bound every window, and the consecutive
/// cap stops the attacker at 100 guesses in all.
#[test]
fn a_month_of_attack_gets_exactly_100_guesses() {
    let limits =
        UserLimits::default().with_requests(RateLimit::new(20, Duration::hours(1)).unwrap()); // generous on purpose
    let params = TokenParams::default();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let start = t0();
    let end = start + Duration::days(30);
    let mut now = start;
    let mut state = UserState::new();
    let mut guesses: Vec<UtcDateTime> = Vec::new();
    let mut tokens = 0;
    let mut locked_out_at = None;
    while now < end {
        let live = state
            .record()
            .is_some_and(|r| !r.is_locked() && now < r.expires_at());
        if !live {
            // Ask for a token, as fast as the request limit allows.
            match issue_stored(&mut rng, &key(), &state, &params, &limits, now) {
                Ok((_, next)) => {
                    state = next;
                    tokens += 1;
                }
                Err(Error::RateLimited { retry_after }) => now += retry_after.duration(),
                Err(Error::UserLockedOut) => break,
                Err(e) => panic!("{e:?}"),
            }
            continue;
        }
        // Guess "000000" (right with probability 10^-6; the seed makes it wrong here).
        let (outcome, next) =
            verify_stored(&state, &key(), &subject(), "000000", &limits, now).unwrap();
        state = next;
        match outcome {
            Outcome::Mismatch { .. } => {
                guesses.push(now);
                now += Duration::SECOND;
            }
            Outcome::BudgetExhausted { retry_after } => now += retry_after.duration(),
            Outcome::UserLockedOut => {
                locked_out_at = Some(now);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(busiest_window(&guesses, Duration::hours(1)) <= 10);
    assert!(busiest_window(&guesses, Duration::days(1)) <= 100);
    assert_eq!(guesses.len(), 100, "over {tokens} tokens");
    assert_eq!(state.consecutive_failures(), 100);
    let took = locked_out_at.expect("locked out") - start;
    // At the fastest pace the limits allow: the hourly limit's (a burst of 6, then one per
    // 12 minutes) until about 81 guesses, then the daily limit's (one per 28.8 minutes):
    // 15.1 + 9.1 hours, less what the bursts save.
    assert!(
        (Duration::hours(23)..Duration::hours(25)).contains(&took),
        "{took}"
    );
    println!("a month of attack: 100 guesses over {tokens} tokens, locked out after {took}");
}

#[test]
fn token_key_ring_rotation() {
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let id = |bytes: &[u8; 32]| TokenKey::from_bytes(bytes).id();
    let limits = budget_only();
    let mut ring = TokenKeyRing::new(TokenKey::from_bytes(&a));
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (old, old_state) = issue_stored(
        &mut rng,
        &ring,
        &UserState::new(),
        &TokenParams::default(),
        &limits,
        t0(),
    )
    .unwrap();

    ring.accept(TokenKey::from_bytes(&b)); // distributed, not yet current
    ring.accept(TokenKey::from_bytes(&b)); // twice: no duplicate
    assert_eq!(ring.current().id(), id(&a));
    assert_eq!(ring.rotate(TokenKey::from_bytes(&b)), id(&a));
    assert_eq!(ring.current().id(), id(&b));
    let (new, new_state) = issue_stored(
        &mut rng,
        &ring,
        &UserState::new(),
        &TokenParams::default(),
        &limits,
        t0(),
    )
    .unwrap();
    assert_eq!(new_state.record().unwrap().key_id(), id(&b));
    for (issued, state) in [(&old, &old_state), (&new, &new_state)] {
        let (outcome, _) = verify_stored(
            state,
            &ring,
            &subject(),
            issued.token.as_str(),
            &limits,
            t0(),
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Accepted);
    }
    assert!(!ring.retire(id(&b)), "the current key cannot be retired");
    assert!(!ring.retire(id(&c)));
    assert!(ring.retire(id(&a)));
    let err = verify_stored(
        &old_state,
        &ring,
        &subject(),
        old.token.as_str(),
        &limits,
        t0(),
    )
    .unwrap_err();
    assert_eq!(err, Error::UnknownTokenKey { record: id(&a) });
    assert_eq!(err.detail_code().http_status(), 500);
    assert!(ring.contains(id(&b)) && !ring.contains(id(&a)));
    let debug = format!("{ring:?}");
    assert_eq!(
        debug,
        format!("TokenKeyRing {{ current: {:?}, accepted: [] }}", id(&b))
    );
}

fn pem(bits: u32) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/keys/rsa{bits}.pk8.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn password_key_ring_rotation() {
    let pair = |bits, scheme| PasswordKeyPair::from_pkcs8_pem(&pem(bits), scheme).unwrap();
    let oaep = Scheme::OaepSha256;
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut ring = PasswordKeyRing::new(pair(2048, oaep));
    let first = ring.current(oaep).unwrap().public_key_id();
    let new = NewPassword {
        identity_id: "abby",
        password: "pw",
    };
    let encrypted = ring
        .current(oaep)
        .unwrap()
        .encryptor()
        .encrypt(&mut rng, &new)
        .unwrap();

    ring.add(pair(3072, oaep)).unwrap();
    ring.add(pair(3072, oaep)).unwrap(); // no duplicate
    let next = pair(3072, oaep).public_key_id();
    assert_eq!(
        ring.current(oaep).unwrap().public_key_id(),
        first,
        "added keys are not published"
    );
    ring.set_current(next).unwrap();
    assert_eq!(ring.current(oaep).unwrap().public_key_id(), next);
    // A client that fetched the first key a moment ago.
    assert_eq!(
        ring.decrypt(&mut rng, &first.to_string(), &encrypted, "abby")
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
            .decrypt(&mut rng, &unknown, &encrypted, "abby")
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
        format!("PasswordKeyRing {{ current: [{next:?}], others: [] }}")
    );
}

#[test]
fn a_password_key_ring_holds_one_current_key_per_scheme() {
    // The same RSA key cannot serve two schemes (one id, one scheme), so two keys, of the
    // same size so that a misdirected ciphertext reaches the decryption.
    let other_2048 = std::fs::read_to_string(format!(
        "{}/tests/data/cfrg-rsa-guidance/k2048.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let pkcs = PasswordKeyPair::from_pkcs8_pem(&other_2048, Scheme::Pkcs1v15).unwrap();
    let oaep = PasswordKeyPair::from_pkcs8_pem(&pem(2048), Scheme::OaepSha256Bound).unwrap();
    let (pkcs_id, oaep_id) = (pkcs.public_key_id(), oaep.public_key_id());
    let mut ring = PasswordKeyRing::new(pkcs);
    assert!(ring.current(Scheme::OaepSha256Bound).is_none());
    ring.add(oaep).unwrap(); // the first key of its scheme becomes current for it
    // The same key again for another scheme: refused, not silently dropped.
    let again = PasswordKeyPair::from_pkcs8_pem(&pem(2048), Scheme::Pkcs1v15).unwrap();
    assert_eq!(
        ring.add(again).unwrap_err(),
        Error::Key(password_mgmt::KeyError::SchemeConflict)
    );
    assert_eq!(
        ring.current(Scheme::Pkcs1v15).unwrap().public_key_id(),
        pkcs_id
    );
    assert_eq!(
        ring.current(Scheme::OaepSha256Bound)
            .unwrap()
            .public_key_id(),
        oaep_id
    );
    assert!(ring.current(Scheme::OaepSha256).is_none());
    assert!(!ring.retire(pkcs_id) && !ring.retire(oaep_id));
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    // A ciphertext for the OAEP key, sent naming the PKCS#1 key's id: refused uniformly.
    let new = NewPassword {
        identity_id: "abby",
        password: "pw",
    };
    let for_oaep = ring
        .get(&oaep_id.to_string())
        .unwrap()
        .encryptor()
        .encrypt(&mut rng, &new)
        .unwrap();
    assert_eq!(
        ring.decrypt(&mut rng, &oaep_id.to_string(), &for_oaep, "abby")
            .unwrap()
            .as_str(),
        "pw"
    );
    let misdirected = ring.decrypt(&mut rng, &pkcs_id.to_string(), &for_oaep, "abby");
    assert!(
        matches!(misdirected, Err(Error::Decryption))
            || misdirected.is_ok_and(|p| p.as_str() != "pw"),
        "a PKCS#1 v1.5 key never opens an OAEP ciphertext"
    );
    assert_eq!(ring.pairs().count(), 2);
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
fn refusals_that_need_no_candidate_come_before_the_spent_budget() {
    let limits = budget_only();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    // Five failures, then a token with an attempt limit of 1 takes the sixth: the budget
    // (a burst of 6) is spent and the token is locked at once.
    let one = TokenParams::default().with_attempt_limit(password_mgmt::AttemptLimit::MIN);
    let (_, state) = issue_stored(
        &mut rng,
        &key(),
        &spend(UserState::new(), 5),
        &one,
        &limits,
        t0(),
    )
    .unwrap();
    let (outcome, locked) = verify_stored(&state, &key(), &subject(), "x", &limits, t0()).unwrap();
    assert_eq!(outcome, Outcome::Malformed { attempts_left: 0 });
    assert!(!locked.guess_budget(&limits, t0()).is_allowed());
    // Five failures, then a fresh token with one failure: spent budget, live token.
    let (issued, state) = issue_stored(
        &mut rng,
        &key(),
        &spend(UserState::new(), 5),
        &TokenParams::default(),
        &limits,
        t0(),
    )
    .unwrap();
    let (_, live) = verify_stored(&state, &key(), &subject(), "x", &limits, t0()).unwrap();
    assert!(!live.guess_budget(&limits, t0()).is_allowed());
    let expires = live.record().unwrap().expires_at();
    for (state, now, expected) in [
        (&locked, t0(), Outcome::TokenLocked),
        (&live, t0() - Duration::minutes(1), Outcome::NotYetValid),
        (&live, expires, Outcome::Expired),
        (
            &live,
            t0(),
            Outcome::BudgetExhausted {
                retry_after: RetryAfter::new(Duration::minutes(12)).unwrap(),
            },
        ),
    ] {
        for typed in ["x", issued.token.as_str()] {
            let (outcome, after) =
                verify_stored(state, &key(), &subject(), typed, &limits, now).unwrap();
            assert_eq!(outcome, expected);
            assert_eq!(&after, state, "{expected:?}: nothing spent");
        }
    }
}

#[cfg(feature = "serde")]
#[test]
fn the_429_body() {
    let body = password_mgmt::wire::TooManyRequests::new();
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"message":"Rate Limit Exceeded"}"#
    );
}
