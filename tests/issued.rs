//! Issued-token records: issue, verify at every boundary, attempt limits, single use,
//! binding to the user and the key, tampering, and decoding of arbitrary bytes.

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

use fixtures::{Failing, Scripted, key, t0};
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    AttemptLimit, Error, Issued, IssuedToken, Outcome, RecordError, RngError, TokenKey,
    TokenLength, TokenParams, TokenTtl, issue,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

const USER: &str = "Abby.Smith";

fn params(len: u8, minutes: u8, limit: u8) -> TokenParams {
    TokenParams::new(
        TokenLength::new(len).unwrap(),
        TokenTtl::from_minutes(minutes).unwrap(),
    )
    .with_attempt_limit(AttemptLimit::new(limit).unwrap())
}

fn issue_default(seed: u64) -> Issued {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    issue(&mut rng, &key(), USER, &params(6, 5, 5), t0()).unwrap()
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

#[test]
fn the_window_is_half_open_from_issue_to_expiry() {
    let issued = issue_default(1);
    let (token, record) = (issued.token.as_str(), &issued.record);
    assert_eq!(record.issued_at(), t0());
    assert_eq!(record.expires_at(), t0() + Duration::minutes(5));

    let at = |now| record.verify(&key(), USER, token, now).unwrap().outcome;
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
    assert_eq!(at(t0() - Duration::nanoseconds(1)), Outcome::NotYetValid);
    // The extremes of the time range are ordinary instants: no overflow, no panic.
    assert_eq!(at(UtcDateTime::MIN), Outcome::NotYetValid);
    assert_eq!(at(UtcDateTime::MAX), Outcome::Expired);
}

#[test]
fn refusals_before_the_comparison_leave_the_record_unchanged() {
    let issued = issue_default(2);
    let record = &issued.record;
    for now in [t0() - Duration::seconds(30), record.expires_at()] {
        for candidate in [issued.token.as_str(), "000000", "x"] {
            let v = record.verify(&key(), USER, candidate, now).unwrap();
            assert!(!v.outcome.changes_record());
            assert_eq!(&v.record, record, "{:?}", v.outcome);
            assert_eq!(v.record.failed_attempts(), 0);
        }
    }
}

#[test]
fn the_attempt_limit_locks_the_token_even_for_the_right_code() {
    for limit in [1u8, 3, 5, 10] {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(limit));
        let issued = issue(&mut rng, &key(), USER, &params(8, 10, limit), t0()).unwrap();
        let bad = wrong(issued.token.as_str());
        let mut record = issued.record.clone();
        for n in 1..=limit {
            // Alternate well-formed and malformed wrong guesses: both count.
            let candidate = if n % 2 == 0 { "1234" } else { bad.as_str() };
            let v = record.verify(&key(), USER, candidate, t0()).unwrap();
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
            assert_eq!(v.outcome, expected);
            assert!(v.outcome.changes_record());
            assert_eq!(v.record.failed_attempts(), n);
            assert_eq!(v.record.attempts_left(), left);
            record = v.record;
        }
        assert!(record.is_locked());
        let v = record
            .verify(&key(), USER, issued.token.as_str(), t0())
            .unwrap();
        assert_eq!(v.outcome, Outcome::Locked);
        assert_eq!(v.record, record);
    }
}

#[test]
fn the_right_code_after_some_failures_is_accepted() {
    let issued = issue_default(3);
    let bad = wrong(issued.token.as_str());
    let mut record = issued.record.clone();
    for _ in 0..4 {
        record = record.verify(&key(), USER, &bad, t0()).unwrap().record;
    }
    let v = record
        .verify(&key(), USER, issued.token.as_str(), t0())
        .unwrap();
    assert_eq!(v.outcome, Outcome::Accepted);
    assert_eq!(v.record.failed_attempts(), 4);
}

#[test]
fn a_token_is_single_use() {
    let issued = issue_default(4);
    let token = issued.token.as_str();
    let used = issued.record.verify(&key(), USER, token, t0()).unwrap();
    assert_eq!(used.outcome, Outcome::Accepted);
    assert!(used.record.is_used());
    for candidate in [token, "000000", "", "abc"] {
        let again = used.record.verify(&key(), USER, candidate, t0()).unwrap();
        assert_eq!(again.outcome, Outcome::AlreadyUsed);
        assert_eq!(again.record, used.record);
    }
}

#[test]
fn malformed_candidates_are_counted_not_compared() {
    let issued = issue_default(5);
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
    ];
    for candidate in cases {
        let v = issued
            .record
            .verify(&key(), USER, &candidate, t0())
            .unwrap();
        assert_eq!(
            v.outcome,
            Outcome::Malformed { attempts_left: 4 },
            "{candidate:?}"
        );
        assert_eq!(v.record.failed_attempts(), 1);
    }
}

#[test]
fn leading_zeros_matter() {
    // The word 4_201 gives the token "004201"; "4201" and "04201" are malformed.
    let mut rng = Scripted::new(&[4_201]);
    let issued = issue(&mut rng, &key(), USER, &params(6, 5, 5), t0()).unwrap();
    assert_eq!(issued.token.as_str(), "004201");
    for candidate in ["4201", "04201", "0004201"] {
        let v = issued.record.verify(&key(), USER, candidate, t0()).unwrap();
        assert!(
            matches!(v.outcome, Outcome::Malformed { .. }),
            "{candidate}"
        );
    }
    let v = issued.record.verify(&key(), USER, "004201", t0()).unwrap();
    assert_eq!(v.outcome, Outcome::Accepted);
}

#[test]
fn a_token_for_one_user_is_refused_for_another() {
    let issued = issue_default(6);
    let token = issued.token.as_str();
    for other in [
        "abby.smith",
        "Abby.Smith ",
        "Abby.Smit",
        "Abby.Smith\0",
        "Bob",
    ] {
        let v = issued.record.verify(&key(), other, token, t0()).unwrap();
        assert_eq!(
            v.outcome,
            Outcome::Mismatch { attempts_left: 4 },
            "{other:?}"
        );
    }
}

#[test]
fn the_user_id_is_checked_on_verify_too() {
    let issued = issue_default(7);
    for bad in ["", "   ", &"u".repeat(257)] {
        let err = issued
            .record
            .verify(&key(), bad, issued.token.as_str(), t0())
            .unwrap_err();
        assert_eq!(err.violations()[0].field(), "userId");
    }
    let long = "u".repeat(256);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let issued = issue(&mut rng, &key(), &long, &params(6, 5, 5), t0()).unwrap();
    let v = issued
        .record
        .verify(&key(), &long, issued.token.as_str(), t0())
        .unwrap();
    assert_eq!(v.outcome, Outcome::Accepted);
}

#[test]
fn a_record_made_under_another_key_is_a_key_error_not_a_mismatch() {
    let issued = issue_default(8);
    let other = TokenKey::from_bytes(&[0x5b; 32]);
    let err = issued
        .record
        .verify(&other, USER, issued.token.as_str(), t0())
        .unwrap_err();
    assert_eq!(
        err,
        Error::KeyMismatch {
            record: key().id(),
            given: other.id()
        }
    );
    assert_eq!(err.detail_code().http_status(), 500);
    assert!(err.to_string().contains(&key().id().to_string()));
    assert_ne!(key().id(), other.id());
    // The same key bytes always give the same id: every node agrees.
    assert_eq!(key().id(), TokenKey::from_slice(&[0x5a; 32]).unwrap().id());
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
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    // The latest instant whose expiry is representable, and one nanosecond later.
    let last = UtcDateTime::MAX - Duration::minutes(5);
    let err = issue(
        &mut rng,
        &key(),
        USER,
        &params(6, 5, 5),
        last + Duration::nanoseconds(1),
    )
    .unwrap_err();
    assert_eq!(err, Error::TimeOutOfRange);
    let issued = issue(&mut rng, &key(), USER, &params(6, 5, 5), last).unwrap();
    assert_eq!(issued.record.expires_at(), UtcDateTime::MAX);
    let bytes = issued.record.encode();
    assert_eq!(IssuedToken::decode(&bytes).unwrap(), issued.record);
    // The earliest instant works too.
    let first = issue(&mut rng, &key(), USER, &params(6, 5, 5), UtcDateTime::MIN).unwrap();
    assert_eq!(
        IssuedToken::decode(&first.record.encode()).unwrap(),
        first.record
    );
}

#[test]
fn issue_reports_rng_failure() {
    let err = issue(&mut Failing, &key(), USER, &TokenParams::default(), t0()).unwrap_err();
    assert_eq!(err, Error::Rng(RngError::Failed));
}

#[test]
fn issue_draws_a_fresh_v4_request_id() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let a = issue(&mut rng, &key(), USER, &TokenParams::default(), t0()).unwrap();
    let b = issue(&mut rng, &key(), USER, &TokenParams::default(), t0()).unwrap();
    assert_ne!(a.request_id, b.request_id);
    let text = a.request_id.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(&text[14..15], "4");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
}

#[test]
fn records_round_trip_through_their_encoding() {
    let issued = issue_default(12);
    let bytes = issued.record.encode();
    assert_eq!(bytes.len(), IssuedToken::ENCODED_LEN);
    assert_eq!(bytes[0], 1, "format version");
    let decoded = IssuedToken::decode(&bytes).unwrap();
    assert_eq!(decoded, issued.record);
    assert_eq!(decoded.encode(), bytes);
    // Decoded records verify like the original.
    let v = decoded
        .verify(&key(), USER, issued.token.as_str(), t0())
        .unwrap();
    assert_eq!(v.outcome, Outcome::Accepted);
    let used = IssuedToken::decode(&v.record.encode()).unwrap();
    assert!(used.is_used());
}

#[test]
fn the_record_holds_neither_token_nor_user_and_debug_hides_the_mac() {
    let mut rng = Scripted::new(&[908_771]);
    let issued = issue(&mut rng, &key(), USER, &params(6, 5, 5), t0()).unwrap();
    assert_eq!(issued.token.as_str(), "908771");
    let bytes = issued.record.encode();
    assert!(!bytes.windows(6).any(|w| w == b"908771"));
    assert!(!bytes.windows(USER.len()).any(|w| w == USER.as_bytes()));
    let debug = format!("{:?}", issued.record);
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
}

/// Byte offsets in format version 1.
const KEY_ID: std::ops::Range<usize> = 1..9;
const MAC_AND_BOUND_FIELDS: std::ops::Range<usize> = 9..56;
const FAILED: usize = 56;
const USED: usize = 57;

#[test]
fn a_tampered_record_never_accepts_the_right_token() {
    let issued = issue_default(13);
    let token = issued.token.as_str();
    let bytes = issued.record.encode();
    let mut covered_and_decoded = 0;
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut tampered = bytes;
            tampered[i] ^= 1 << bit;
            let Ok(record) = IssuedToken::decode(&tampered) else {
                continue; // refused outright
            };
            // Whatever decodes re-encodes to the same bytes.
            assert_eq!(record.encode(), tampered);
            let result = record.verify(&key(), USER, token, record.issued_at());
            if KEY_ID.contains(&i) {
                assert!(matches!(result, Err(Error::KeyMismatch { .. })), "byte {i}");
            } else if MAC_AND_BOUND_FIELDS.contains(&i) {
                // The MAC covers these: the right token no longer matches (or, when the
                // length was changed, no longer even has the right length).
                let outcome = result.unwrap().outcome;
                assert!(
                    matches!(
                        outcome,
                        Outcome::Mismatch { .. } | Outcome::Malformed { .. }
                    ),
                    "byte {i} bit {bit}: {outcome:?}"
                );
                covered_and_decoded += 1;
            } else {
                // The counters are not covered (documented: the store is trusted for them).
                assert!(i == FAILED || i == USED, "byte {i}");
                let outcome = result.unwrap().outcome;
                assert!(
                    matches!(
                        outcome,
                        Outcome::Accepted | Outcome::Locked | Outcome::AlreadyUsed
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
    let bytes = issue_default(14).record.encode();
    for len in 0..bytes.len() {
        let err = IssuedToken::decode(&bytes[..len]).unwrap_err();
        let expected = if len == 0 { 0 } else { len };
        assert_eq!(
            err,
            Error::Record(RecordError::WrongLength {
                expected: 58,
                found: expected
            }),
            "prefix of {len} bytes"
        );
    }
    for extra in [1usize, 2, 100] {
        let mut long = bytes.to_vec();
        long.extend(std::iter::repeat_n(0, extra));
        assert!(matches!(
            IssuedToken::decode(&long),
            Err(Error::Record(RecordError::WrongLength { .. }))
        ));
    }
}

#[test]
fn decoding_refuses_impossible_field_values() {
    let bytes = issue_default(15).record.encode();
    let with = |at: usize, v: u8| {
        let mut b = bytes;
        b[at] = v;
        IssuedToken::decode(&b)
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
    // Seconds far outside the representable range (the high byte of an i64).
    assert_eq!(with(41, 0x7f), invalid("issuedAt"));
    assert_eq!(with(41, 0x80), invalid("issuedAt"));
    // Nanoseconds >= 10^9.
    assert_eq!(with(49, 0x3c), invalid("issuedAt"));
    assert_eq!(with(53, 0), invalid("ttl"));
    assert_eq!(with(53, 61), invalid("ttl"));
    assert_eq!(with(54, 5), invalid("length"));
    assert_eq!(with(54, 19), invalid("length"));
    assert_eq!(with(55, 0), invalid("attemptLimit"));
    assert_eq!(with(55, 11), invalid("attemptLimit"));
    assert_eq!(with(FAILED, 6), invalid("failedAttempts"));
    assert_eq!(with(USED, 2), invalid("used"));
    // Used with every attempt spent cannot happen: the last guess would have been refused.
    let mut b = bytes;
    b[FAILED] = 5;
    b[USED] = 1;
    assert_eq!(IssuedToken::decode(&b), invalid("used"));
    // Bounds that are allowed decode.
    assert!(with(53, 60).is_ok() && with(54, 18).is_ok() && with(55, 10).is_ok());
    assert!(with(FAILED, 5).is_ok());
}

#[test]
fn decoding_random_bytes_never_panics_and_what_decodes_re_encodes() {
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let mut decoded = 0;
    for i in 0..200_000u32 {
        let len = if i % 4 == 0 {
            (rng.next_u32() % 80) as usize
        } else {
            58
        };
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        if i % 2 == 0 && len > 0 {
            bytes[0] = 1;
        }
        if let Ok(record) = IssuedToken::decode(&bytes) {
            assert_eq!(record.encode().as_slice(), bytes.as_slice());
            decoded += 1;
        }
    }
    // Random seconds are almost never in range, so few random strings decode. Exercise
    // the property on records whose every field is drawn from its valid range.
    let base = issue_default(17).record.encode();
    for _ in 0..20_000 {
        let mut bytes = base;
        rng.fill_bytes(&mut bytes[1..41]); // key id and MAC: any value is valid
        // Seconds from year -9700 to 9900 (time's range is -9999 to 9999), any nanosecond.
        let secs = i64::try_from(rng.next_u64() % 620_000_000_000).unwrap() - 370_000_000_000;
        bytes[41..49].copy_from_slice(&secs.to_be_bytes());
        bytes[49..53].copy_from_slice(&(rng.next_u32() % 1_000_000_000).to_be_bytes());
        bytes[53] = 1 + (rng.next_u32() % 60) as u8;
        bytes[54] = 6 + (rng.next_u32() % 13) as u8;
        let limit = 1 + (rng.next_u32() % 10) as u8;
        bytes[55] = limit;
        bytes[FAILED] = (rng.next_u32() % u32::from(limit + 1)) as u8;
        bytes[USED] = u8::from(bytes[FAILED] < limit && rng.next_u32() % 2 == 0);
        let record = IssuedToken::decode(&bytes).unwrap_or_else(|e| panic!("{e:?} for {bytes:?}"));
        assert_eq!(record.encode(), bytes);
        decoded += 1;
    }
    assert!(decoded >= 20_000, "{decoded}");
}

/// The stored format and the MAC input, pinned. The expected bytes were computed outside
/// Rust, with Python's `hmac` over the layout the docs describe:
/// `HMAC-SHA256(key, "password-mgmt/v1/digit-token\0" ‖ secs (i64 BE) ‖ nanos (u32 BE) ‖
/// ttl ‖ length ‖ limit ‖ len(user) (u16 BE) ‖ user ‖ token)`, key id
/// `HMAC-SHA256(key, "password-mgmt/v1/key-id\0")[..8]`. Changing either needs a new
/// format version: existing records would otherwise all turn into mismatches.
#[test]
fn the_version_1_format_is_pinned() {
    assert_eq!(key().id().to_string(), "f7018b4b02a5ee98");
    let mut rng = Scripted::new(&[908_771]);
    let issued = issue(&mut rng, &key(), USER, &params(6, 5, 5), t0()).unwrap();
    assert_eq!(issued.token.as_str(), "908771");
    let hex: String = issued
        .record
        .encode()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        "01f7018b4b02a5ee98\
         119abb6b629a27c576b230d1c9af96296de79a4abff9bc38513a2f81d187f5de\
         000000006b038200075bcd15050605\
         0000"
    );
}

#[test]
fn refusals_come_in_the_documented_order() {
    let issued = issue_default(18);
    let token = issued.token.as_str();
    let bad = wrong(token);
    // Locked beats Expired and NotYetValid.
    let mut locked = issued.record.clone();
    for _ in 0..5 {
        locked = locked.verify(&key(), USER, &bad, t0()).unwrap().record;
    }
    let late = issued.record.expires_at();
    assert_eq!(
        locked.verify(&key(), USER, token, late).unwrap().outcome,
        Outcome::Locked
    );
    let early = t0() - Duration::seconds(1);
    assert_eq!(
        locked.verify(&key(), USER, token, early).unwrap().outcome,
        Outcome::Locked
    );
    // AlreadyUsed beats Locked-adjacent states, NotYetValid and Expired.
    let used = issued
        .record
        .verify(&key(), USER, token, t0())
        .unwrap()
        .record;
    assert_eq!(
        used.verify(&key(), USER, token, early).unwrap().outcome,
        Outcome::AlreadyUsed
    );
    assert_eq!(
        used.verify(&key(), USER, token, late).unwrap().outcome,
        Outcome::AlreadyUsed
    );
    // NotYetValid and Expired come before the candidate is looked at: a malformed one is
    // not counted.
    for now in [early, late] {
        let v = issued.record.verify(&key(), USER, "x", now).unwrap();
        assert!(matches!(v.outcome, Outcome::NotYetValid | Outcome::Expired));
        assert_eq!(v.record.failed_attempts(), 0);
    }
    // The key is checked before the user id: a key fault is reported as such.
    let other = TokenKey::from_bytes(&[1; 32]);
    assert!(matches!(
        issued.record.verify(&other, "", token, t0()),
        Err(Error::KeyMismatch { .. })
    ));
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
    let err = issue(
        &mut FailsLater(3),
        &key(),
        USER,
        &TokenParams::default(),
        t0(),
    )
    .unwrap_err();
    assert_eq!(err, Error::Rng(RngError::Failed));
}
