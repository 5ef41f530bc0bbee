//! Property tests (proptest, fixed seeds): issue-then-verify round trips over random
//! lengths, lifetimes, attempt limits, instants (the whole range of `time`, negative Unix
//! times included), tenants and user ids; no other token, user, tenant or key is ever
//! accepted; attempt counters never decrease; a used, locked or expired token never becomes
//! valid again; states survive encode/decode and tampering is detected; passwords within
//! the limit survive encryption under every scheme.
//!
//! Every test runs from a fixed proptest seed, so a run is reproducible; set
//! `PROPTEST_CASES` to run more cases than the defaults below.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report, and the values are bounded by the strategies"
)]

use std::sync::LazyLock;

use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    AttemptLimit, Candidate as Typed, Error, Issued, NewPassword, Outcome, PasswordKeyPair,
    Purpose, RateLimit, Scheme, Subject, TokenKey, TokenLength, TokenParams, TokenTtl, UserLimits,
    UserState,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// A fixed seed per test (its name's hash would do as well; a constant is simpler to quote),
/// `cases` cases unless `PROPTEST_CASES` asks for more.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x7061_7373_776f_7264),
        failure_persistence: None,
        ..Config::default()
    }
}

fn key() -> TokenKey {
    TokenKey::from_bytes(&[0x5a; 32])
}

const MIN_UNIX: i64 = -377_705_116_800; // -9999-01-01T00:00:00Z, `UtcDateTime::MIN`
const MAX_UNIX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z, `UtcDateTime::MAX` (whole seconds)

/// Any instant `time` can represent, with extra weight near both ends and around 1970.
fn instant() -> impl Strategy<Value = UtcDateTime> {
    let secs = prop_oneof![
        MIN_UNIX..=MAX_UNIX,
        MIN_UNIX..=MIN_UNIX + 10_000,
        MAX_UNIX - 10_000..=MAX_UNIX,
        -100_000i64..=100_000,
    ];
    (secs, 0u32..1_000_000_000).prop_map(|(s, n)| {
        UtcDateTime::from_unix_timestamp(s)
            .unwrap()
            .replace_nanosecond(n)
            .unwrap()
    })
}

/// Token parameters over every allowed length, lifetime and attempt limit.
fn params() -> impl Strategy<Value = TokenParams> {
    (6u8..=18, 1u8..=60, 1u8..=10).prop_map(|(len, minutes, limit)| {
        TokenParams::new(
            TokenLength::new(len).unwrap(),
            TokenTtl::from_minutes(minutes).unwrap(),
        )
        .with_attempt_limit(AttemptLimit::new(limit).unwrap())
    })
}

/// A user id (or tenant name) the crate accepts: not blank, at most 128 bytes, any Unicode.
fn user_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9._@-]{0,40}",
        "\\PC{1,64}",
        " ?[^\\s]{1,8} ?",
    ]
    .prop_filter("accepted user ids", |u| {
        !u.trim().is_empty() && u.len() <= 128
    })
}

/// Limits that never refuse for the budget or the request rate: these properties are
/// about the token record (`tests/limits.rs` has the budget's).
fn lax() -> UserLimits {
    let many = RateLimit::new(10_000, Duration::SECOND).unwrap();
    UserLimits::default()
        .with_requests(many)
        .with_failures(many, many)
}

fn subject<'a>(tenant: &'a str, user: &'a str) -> Subject<'a> {
    Subject {
        tenant,
        user,
        purpose: Purpose::PASSWORD_RESET,
    }
}

/// Issues a token at `now` into a fresh state, or `None` when `now + ttl` is past the end
/// of time.
fn issue_at(
    seed: u64,
    subject: &Subject<'_>,
    params: &TokenParams,
    now: UtcDateTime,
) -> Option<(Issued, UserState)> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    match UserState::new().issue(&mut rng, &key(), subject, params, &lax(), now) {
        Ok(issuance) => {
            let state = UserState::decode(issuance.update().unwrap().replacement()).unwrap();
            Some((issuance.stored().unwrap(), state))
        }
        Err(Error::TimeOutOfRange) => {
            assert!(now.checked_add(params.ttl().as_duration()).is_none());
            None
        }
        Err(e) => panic!("issue failed: {e}"),
    }
}

/// Verifies and stores: the outcome and the state after the write (if any).
fn verify(
    state: &UserState,
    keys: &TokenKey,
    subject: &Subject<'_>,
    typed: &str,
    now: UtcDateTime,
) -> Result<(Outcome, UserState), Error> {
    let typed = Typed::new(typed)?;
    let v = state.verify(keys, subject, &typed, &lax(), now)?;
    let next = match v.update() {
        Some(update) => {
            assert_eq!(update.expected(), &state.encode());
            UserState::decode(update.replacement()).unwrap()
        }
        None => state.clone(),
    };
    Ok((v.stored(), next))
}

/// A token of `len` digits other than `token`.
fn other_token(token: &str, digits: &[u8]) -> String {
    let len = token.len();
    let mut candidate: Vec<u8> = digits.iter().take(len).map(|d| b'0' + d % 10).collect();
    candidate.resize(len, b'0');
    if candidate == token.as_bytes() {
        let last = candidate[len - 1];
        candidate[len - 1] = if last == b'9' { b'0' } else { last + 1 };
    }
    String::from_utf8(candidate).unwrap()
}

/// One step of a user's attempts: which candidate, and how far the clock moves first.
#[derive(Clone, Debug)]
enum Candidate {
    Right,
    Wrong(Vec<u8>),
    Malformed(String),
}

fn candidate() -> impl Strategy<Value = Candidate> {
    prop_oneof![
        1 => Just(Candidate::Right),
        4 => proptest::collection::vec(0u8..10, 18).prop_map(Candidate::Wrong),
        2 => "\\PC{0,20}".prop_map(Candidate::Malformed),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// The right token is accepted at every instant of its half-open window, once; before
    /// the window (beyond the clock tolerance) it is not yet valid, from the expiry instant
    /// on it is expired.
    #[test]
    fn issue_then_verify_round_trips(
        seed in any::<u64>(),
        tenant in user_id(),
        user in user_id(),
        params in params(),
        now in instant(),
        fraction in 0.0f64..1.0,
        after in 0i64..=1_000_000,
    ) {
        let subject = subject(&tenant, &user);
        let Some((issued, state)) = issue_at(seed, &subject, &params, now) else {
            return Ok(());
        };
        let token = issued.token.as_str();
        let record = state.record().unwrap();
        prop_assert_eq!(token.len(), usize::from(params.length().get()));
        prop_assert!(token.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(record.issued_at(), now);
        prop_assert_eq!(record.expires_at(), now + params.ttl().as_duration());
        prop_assert_eq!(issued.expires_at, record.expires_at());
        prop_assert_eq!(record.attempt_limit(), params.attempt_limit());

        let ttl_ns = params.ttl().as_duration().whole_nanoseconds();
        let offset = Duration::nanoseconds(((ttl_ns as f64) * fraction) as i64);
        let inside = (now + offset).min(record.expires_at() - Duration::NANOSECOND);
        let (outcome, used) = verify(&state, &key(), &subject, token, inside).unwrap();
        prop_assert_eq!(outcome, Outcome::Accepted);
        prop_assert!(used.record().unwrap().is_used());
        prop_assert_eq!(verify(&used, &key(), &subject, token, inside).unwrap().0, Outcome::AlreadyUsed);

        let tolerance = lax().clock_tolerance();
        if let Some(before) = now.checked_sub(tolerance + Duration::NANOSECOND) {
            let (outcome, after) = verify(&state, &key(), &subject, token, before).unwrap();
            prop_assert_eq!(outcome, Outcome::NotYetValid);
            prop_assert_eq!(&after, &state);
        }
        let late_at = record.expires_at().checked_add(Duration::seconds(after));
        for at in [Some(record.expires_at()), late_at].into_iter().flatten() {
            let (outcome, after) = verify(&state, &key(), &subject, token, at).unwrap();
            prop_assert_eq!(outcome, Outcome::Expired);
            prop_assert_eq!(&after, &state);
        }
    }

    /// No other token of the right length, no other user or tenant, and no other key is
    /// accepted.
    #[test]
    fn verify_never_accepts_a_different_token(
        seed in any::<u64>(),
        tenant in user_id(),
        user in user_id(),
        params in params(),
        now in instant(),
        digits in proptest::collection::vec(0u8..10, 18),
        suffix in "\\PC{1,4}",
    ) {
        let subject = subject(&tenant, &user);
        let Some((issued, state)) = issue_at(seed, &subject, &params, now) else {
            return Ok(());
        };
        let token = issued.token.as_str();
        let wrong = other_token(token, &digits);
        let (outcome, after) = verify(&state, &key(), &subject, &wrong, now).unwrap();
        prop_assert!(matches!(outcome, Outcome::Mismatch { .. }), "{:?} for another token", outcome);
        prop_assert_eq!(after.record().unwrap().failed_attempts(), 1);

        let longer = format!("{user}{suffix}");
        let longer_tenant = format!("{tenant}{suffix}");
        for other in [
            Subject { user: &longer, ..subject },
            Subject { tenant: &longer_tenant, ..subject },
            Subject { tenant: &user, user: &tenant, ..subject },
        ] {
            if other == subject || other.user.len() > Subject::MAX_USER_LEN
                || other.tenant.len() > Subject::MAX_TENANT_LEN
            {
                continue;
            }
            let (outcome, _) = verify(&state, &key(), &other, token, now).unwrap();
            prop_assert!(matches!(outcome, Outcome::Mismatch { .. }), "{:?} for {:?}", outcome, other);
        }
        let other_key = TokenKey::from_bytes(&[0xa5; 32]);
        let refused = matches!(
            verify(&state, &other_key, &subject, token, now),
            Err(Error::UnknownTokenKey { .. })
        );
        prop_assert!(refused, "another key was not refused");
    }

    /// Along any sequence of attempts with a clock that never goes back: the failed-attempt
    /// counter never decreases and grows by one per wrong or malformed attempt, as does the
    /// consecutive count until a success resets it; at most one attempt is accepted; once
    /// a token is used, locked or expired, every later attempt is refused the same way and
    /// leaves the state unchanged; every state in between survives encode/decode.
    #[test]
    fn counters_never_decrease_and_dead_tokens_stay_dead(
        seed in any::<u64>(),
        user in user_id(),
        params in params(),
        now in instant(),
        steps in proptest::collection::vec((candidate(), 0i64..=900), 1..24),
    ) {
        let subject = subject("acme", &user);
        let Some((issued, mut state)) = issue_at(seed, &subject, &params, now) else {
            return Ok(());
        };
        let token = issued.token.as_str().to_owned();
        let mut clock = now;
        let mut accepted = 0;
        let mut dead: Option<Outcome> = None;
        for (candidate, advance) in steps {
            let Some(next_clock) = clock.checked_add(Duration::seconds(advance)) else {
                break;
            };
            clock = next_clock;
            let text = match &candidate {
                Candidate::Right => token.clone(),
                Candidate::Wrong(digits) => other_token(&token, digits),
                Candidate::Malformed(s) => s.clone(),
            };
            let (outcome, after) = verify(&state, &key(), &subject, &text, clock).unwrap();
            let (before_record, after_record) = (state.record().unwrap(), after.record().unwrap());
            prop_assert!(after_record.failed_attempts() >= before_record.failed_attempts());
            prop_assert!(after_record.is_used() || !before_record.is_used());
            prop_assert_eq!(UserState::decode(&after.encode()), Ok(after.clone()));

            if let Some(refusal) = dead {
                prop_assert_eq!(outcome, refusal, "a dead token answered differently");
                prop_assert_eq!(&after, &state);
            }
            match outcome {
                Outcome::Accepted => {
                    accepted += 1;
                    prop_assert_eq!(&text, &token);
                    prop_assert!(clock < before_record.expires_at());
                    prop_assert_eq!(after.consecutive_failures(), 0);
                    dead = Some(Outcome::AlreadyUsed);
                }
                Outcome::Mismatch { attempts_left } | Outcome::Malformed { attempts_left } => {
                    prop_assert_ne!(&text, &token);
                    prop_assert_eq!(after_record.failed_attempts(), before_record.failed_attempts() + 1);
                    prop_assert_eq!(after.consecutive_failures(), state.consecutive_failures() + 1);
                    prop_assert_eq!(attempts_left, after_record.attempts_left());
                    if attempts_left == 0 {
                        dead = Some(Outcome::TokenLocked);
                    }
                }
                Outcome::Expired => {
                    prop_assert!(clock >= before_record.expires_at());
                    dead = Some(Outcome::Expired);
                }
                Outcome::TokenLocked | Outcome::AlreadyUsed => {
                    prop_assert_eq!(Some(outcome), dead);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
            state = after;
        }
        prop_assert!(accepted <= 1);
    }

    /// States round-trip through their 100-byte encoding, and changing any byte of the key
    /// id, MAC or bound fields either fails to decode or stops the right token.
    #[test]
    fn encode_decode_round_trips_and_detects_tampering(
        seed in any::<u64>(),
        user in user_id(),
        params in params(),
        now in instant(),
        failures in 0u8..10,
        byte in 2usize..57,
        flip in 1u8..=255,
    ) {
        let subject = subject("acme", &user);
        let Some((issued, mut state)) = issue_at(seed, &subject, &params, now) else {
            return Ok(());
        };
        for _ in 0..failures.min(params.attempt_limit().get() - 1) {
            state = verify(&state, &key(), &subject, "x", now).unwrap().1;
        }
        let bytes = state.encode();
        prop_assert_eq!(bytes.len(), UserState::ENCODED_LEN);
        let decoded = UserState::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &state);
        prop_assert_eq!(decoded.encode(), bytes);

        let mut tampered = bytes;
        tampered[byte] ^= flip;
        if let Ok(changed) = UserState::decode(&tampered) {
            prop_assert_ne!(&changed, &state);
            let token = issued.token.as_str();
            let at = changed.record().unwrap().issued_at();
            match verify(&changed, &key(), &subject, token, at) {
                Ok((outcome, _)) => prop_assert!(!outcome.is_accepted(), "tampered state accepted"),
                Err(Error::UnknownTokenKey { .. }) => prop_assert!(byte < 10),
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
    }
}

/// The repository's fixed 2048-bit key, once per scheme.
static KEY_PAIRS: LazyLock<[PasswordKeyPair; 3]> = LazyLock::new(|| {
    let pem = include_str!("data/keys/rsa2048.pk8.pem");
    [
        Scheme::Pkcs1v15,
        Scheme::OaepSha256,
        Scheme::OaepSha256Bound,
    ]
    .map(|scheme| PasswordKeyPair::from_pkcs8_pem(pem, scheme).unwrap())
});

/// A non-empty password of at most `max` bytes of UTF-8, any characters but controls
/// (which decryption refuses as garbage).
fn password(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 1..=max),
        proptest::collection::vec(proptest::char::range(' ', '~'), 1..=max),
    ]
    .prop_map(move |chars| {
        let mut s = String::new();
        for c in chars.into_iter().filter(|c| !c.is_control()) {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        if s.is_empty() {
            s.push('x');
        }
        s
    })
}

proptest! {
    // RSA decryption is slow in debug builds of the test crate: few cases.
    #![proptest_config(config(32))]

    /// Any password within the limit comes back unchanged, under every scheme; one byte
    /// more is refused with the limit, never truncated; a bound ciphertext never opens for
    /// another identity.
    #[test]
    fn encrypt_decrypt_round_trips(
        seed in any::<u64>(),
        pkcs1 in password(245),
        oaep in password(190),
        identity in user_id(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        for (pair, password) in KEY_PAIRS.iter().zip([&pkcs1, &oaep, &oaep]) {
            let encryptor = pair.encryptor();
            let max = encryptor.max_password_len();
            prop_assert!(password.len() <= max);
            let new = NewPassword { identity_id: &identity, password };
            let encrypted = encryptor.encrypt(&mut rng, &new).unwrap();
            prop_assert_eq!(encrypted.as_bytes().len(), 256);
            let text = encrypted.to_string();
            let decrypted = pair.decrypt(&mut rng, &text.parse().unwrap(), &identity).unwrap();
            prop_assert_eq!(decrypted.as_str(), password.as_str());
            if pair.scheme() == Scheme::OaepSha256Bound {
                let other = format!("{identity}x");
                prop_assert_eq!(pair.decrypt(&mut rng, &encrypted, &other).unwrap_err(), Error::Decryption);
            }

            let too_long = format!("{password}{}", "x".repeat(max + 1 - password.len()));
            let new = NewPassword { identity_id: &identity, password: &too_long };
            let err = encryptor.encrypt(&mut rng, &new).unwrap_err();
            prop_assert_eq!(err.violations()[0].field(), "password");
        }
    }
}
