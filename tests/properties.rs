//! Property tests (proptest, fixed seeds): issue-then-verify round trips over random
//! lengths, lifetimes, attempt limits, instants (the whole range of `time`, negative Unix
//! times included) and user ids; no other token, user or key is ever accepted; attempt
//! counters never decrease; a used, locked or expired record never becomes valid again;
//! records survive encode/decode and tampering is detected; passwords within the limit
//! survive encryption under both schemes.
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
    AttemptLimit, Error, Issued, IssuedToken, Outcome, PasswordKeyPair, Scheme, TokenKey,
    TokenLength, TokenParams, TokenTtl, issue,
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

/// A user id the crate accepts: not blank, at most 256 bytes, any Unicode.
fn user_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9._@-]{0,40}",
        "\\PC{1,64}",
        " ?[^\\s]{1,8} ?",
    ]
    .prop_filter("accepted user ids", |u| {
        !u.trim().is_empty() && u.len() <= 256
    })
}

/// Issues a record at `now`, or `None` when `now + ttl` is past the end of time.
fn issue_at(seed: u64, user: &str, params: &TokenParams, now: UtcDateTime) -> Option<Issued> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    match issue(&mut rng, &key(), user, params, now) {
        Ok(issued) => Some(issued),
        Err(Error::TimeOutOfRange) => {
            assert!(now.checked_add(params.ttl().as_duration()).is_none());
            None
        }
        Err(e) => panic!("issue failed: {e}"),
    }
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
    /// the window it is not yet valid, from the expiry instant on it is expired.
    #[test]
    fn issue_then_verify_round_trips(
        seed in any::<u64>(),
        user in user_id(),
        params in params(),
        now in instant(),
        fraction in 0.0f64..1.0,
        after in 0i64..=1_000_000,
    ) {
        let Some(issued) = issue_at(seed, &user, &params, now) else {
            return Ok(());
        };
        let token = issued.token.as_str();
        let record = &issued.record;
        prop_assert_eq!(token.len(), usize::from(params.length().get()));
        prop_assert!(token.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(record.issued_at(), now);
        prop_assert_eq!(record.expires_at(), now + params.ttl().as_duration());
        prop_assert_eq!(record.attempt_limit(), params.attempt_limit());

        let ttl_ns = params.ttl().as_duration().whole_nanoseconds();
        let offset = Duration::nanoseconds(((ttl_ns as f64) * fraction) as i64);
        let inside = (now + offset).min(record.expires_at() - Duration::NANOSECOND);
        let check = record.verify(&key(), &user, token, inside).unwrap();
        prop_assert_eq!(check.outcome, Outcome::Accepted);
        prop_assert!(check.record.is_used());
        let again = check.record.verify(&key(), &user, token, inside).unwrap();
        prop_assert_eq!(again.outcome, Outcome::AlreadyUsed);

        if let Some(before) = now.checked_sub(Duration::NANOSECOND) {
            let early = record.verify(&key(), &user, token, before).unwrap();
            prop_assert_eq!(early.outcome, Outcome::NotYetValid);
            prop_assert_eq!(&early.record, record);
        }
        let late_at = record.expires_at().checked_add(Duration::seconds(after));
        for at in [Some(record.expires_at()), late_at].into_iter().flatten() {
            let late = record.verify(&key(), &user, token, at).unwrap();
            prop_assert_eq!(late.outcome, Outcome::Expired);
            prop_assert_eq!(&late.record, record);
        }
    }

    /// No other token of the right length, no other user and no other key is accepted.
    #[test]
    fn verify_never_accepts_a_different_token(
        seed in any::<u64>(),
        user in user_id(),
        params in params(),
        now in instant(),
        digits in proptest::collection::vec(0u8..10, 18),
        suffix in "\\PC{1,4}",
    ) {
        let Some(issued) = issue_at(seed, &user, &params, now) else {
            return Ok(());
        };
        let token = issued.token.as_str();
        let record = &issued.record;
        let wrong = other_token(token, &digits);
        let check = record.verify(&key(), &user, &wrong, now).unwrap();
        let mismatch = matches!(check.outcome, Outcome::Mismatch { .. });
        prop_assert!(mismatch, "{:?} for another token", check.outcome);
        prop_assert_eq!(check.record.failed_attempts(), 1);

        let other_user = format!("{user}{suffix}");
        if other_user.len() <= 256 {
            let check = record.verify(&key(), &other_user, token, now).unwrap();
            let mismatch = matches!(check.outcome, Outcome::Mismatch { .. });
            prop_assert!(mismatch, "{:?} for another user", check.outcome);
        }
        let other_key = TokenKey::from_bytes(&[0xa5; 32]);
        let refused = matches!(
            record.verify(&other_key, &user, token, now),
            Err(Error::KeyMismatch { .. })
        );
        prop_assert!(refused, "another key was not refused");
    }

    /// Along any sequence of attempts with a clock that never goes back: the failed-attempt
    /// counter never decreases and grows by one per wrong or malformed attempt; at most one
    /// attempt is accepted; once a record is used, locked or expired, every later attempt is
    /// refused the same way and leaves the record unchanged; every record in between
    /// survives encode/decode.
    #[test]
    fn counters_never_decrease_and_dead_records_stay_dead(
        seed in any::<u64>(),
        user in user_id(),
        params in params(),
        now in instant(),
        steps in proptest::collection::vec((candidate(), 0i64..=900), 1..24),
    ) {
        let Some(issued) = issue_at(seed, &user, &params, now) else {
            return Ok(());
        };
        let token = issued.token.as_str().to_owned();
        let mut record = issued.record;
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
            let check = record.verify(&key(), &user, &text, clock).unwrap();
            let after = check.record;
            prop_assert!(after.failed_attempts() >= record.failed_attempts());
            prop_assert!(after.is_used() || !record.is_used());
            let bytes = after.encode();
            let decoded = IssuedToken::decode(&bytes);
            prop_assert_eq!(decoded.as_ref(), Ok(&after));

            if let Some(refusal) = dead {
                prop_assert_eq!(check.outcome, refusal, "a dead record answered differently");
                prop_assert_eq!(&after, &record);
            }
            match check.outcome {
                Outcome::Accepted => {
                    accepted += 1;
                    prop_assert_eq!(&text, &token);
                    prop_assert!(clock < record.expires_at());
                    dead = Some(Outcome::AlreadyUsed);
                }
                Outcome::Mismatch { attempts_left } | Outcome::Malformed { attempts_left } => {
                    prop_assert_ne!(&text, &token);
                    prop_assert_eq!(after.failed_attempts(), record.failed_attempts() + 1);
                    prop_assert_eq!(attempts_left, after.attempts_left());
                    if attempts_left == 0 {
                        dead = Some(Outcome::Locked);
                    }
                }
                Outcome::Expired => {
                    prop_assert!(clock >= record.expires_at());
                    dead = Some(Outcome::Expired);
                }
                Outcome::Locked | Outcome::AlreadyUsed => {
                    prop_assert_eq!(Some(check.outcome), dead);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
            record = after;
        }
        prop_assert!(accepted <= 1);
    }

    /// Records round-trip through their 58-byte encoding, and changing any byte of the key
    /// id, MAC or bound fields either fails to decode or stops the right token.
    #[test]
    fn encode_decode_round_trips_and_detects_tampering(
        seed in any::<u64>(),
        user in user_id(),
        params in params(),
        now in instant(),
        failures in 0u8..10,
        byte in 1usize..56,
        flip in 1u8..=255,
    ) {
        let Some(issued) = issue_at(seed, &user, &params, now) else {
            return Ok(());
        };
        let mut record = issued.record;
        for _ in 0..failures.min(record.attempt_limit().get() - 1) {
            record = record.verify(&key(), &user, "x", now).unwrap().record;
        }
        let bytes = record.encode();
        prop_assert_eq!(bytes.len(), IssuedToken::ENCODED_LEN);
        let decoded = IssuedToken::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &record);
        prop_assert_eq!(decoded.encode(), bytes);

        let mut tampered = bytes;
        tampered[byte] ^= flip;
        if let Ok(changed) = IssuedToken::decode(&tampered) {
            prop_assert_ne!(&changed, &record);
            let token = issued.token.as_str();
            let at = changed.issued_at();
            match changed.verify(&key(), &user, token, at) {
                Ok(check) => prop_assert!(!check.outcome.is_accepted(), "tampered record accepted"),
                Err(Error::KeyMismatch { .. }) => prop_assert!(byte < 9),
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
    }
}

/// The repository's fixed 2048-bit key.
static KEY_PAIR: LazyLock<PasswordKeyPair> = LazyLock::new(|| {
    PasswordKeyPair::from_pkcs8_pem(include_str!("data/keys/rsa2048.pk8.pem")).unwrap()
});

/// A password of at most `max` bytes of UTF-8, any characters.
fn password(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), 0..=max),
        proptest::collection::vec(proptest::char::range(' ', '~'), 0..=max),
    ]
    .prop_map(move |chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        s
    })
}

proptest! {
    // RSA decryption is slow in debug builds of the test crate: few cases.
    #![proptest_config(config(32))]

    /// Any password within the limit comes back unchanged, under both schemes; one byte
    /// more is refused with the limit, never truncated.
    #[test]
    fn encrypt_decrypt_round_trips(
        seed in any::<u64>(),
        pkcs1 in password(245),
        oaep in password(190),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let pair = &*KEY_PAIR;
        for (scheme, password) in [(Scheme::Pkcs1v15, &pkcs1), (Scheme::OaepSha256, &oaep)] {
            let max = pair.encryptor().max_password_len(scheme);
            prop_assert!(password.len() <= max);
            let encrypted = pair.encryptor().encrypt(&mut rng, password, scheme).unwrap();
            prop_assert_eq!(encrypted.as_bytes().len(), 256);
            let text = encrypted.to_string();
            let decrypted = pair.decrypt(&mut rng, &text.parse().unwrap(), scheme).unwrap();
            prop_assert_eq!(decrypted.as_str(), password.as_str());

            let too_long = format!("{password}{}", "x".repeat(max + 1 - password.len()));
            let err = pair.encryptor().encrypt(&mut rng, &too_long, scheme).unwrap_err();
            prop_assert_eq!(err.violations()[0].field(), "password");
        }
    }
}
