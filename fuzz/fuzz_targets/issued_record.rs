//! `IssuedToken::decode` on any bytes, then `verify` on the decoded record with an arbitrary
//! user, candidate and instant.
//!
//! Input: the whole input is decoded (any length). When it is longer than a record, the
//! first 58 bytes are the record and the rest drives `verify`:
//! `flags (1) | seconds (8, i64 BE) | nanoseconds (4, u32 BE) | user length (1) | user | candidate`,
//! missing bytes read as zero. Flag bit 0: the seconds are an absolute Unix time (else an
//! `i16` offset in the first two bytes, from the instant of issue); bit 1: verify under
//! another key.
//!
//! Properties: decoding is total; an accepted byte string re-encodes to itself; a decoded
//! record keeps its invariants; `verify` follows the documented order of checks (used,
//! locked, not yet valid, expired, then the candidate), counts exactly one failed attempt
//! for a wrong or malformed candidate, never decreases the counter, never revives a used,
//! locked or expired record, and returns a record that round-trips through encode/decode.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{Error, IssuedToken, Outcome, RecordError};
use password_mgmt_fuzz::{other_token_key, token_key, user_id_ok};

fuzz_target!(|data: &[u8]| {
    match IssuedToken::decode(data) {
        Ok(record) => {
            assert_eq!(
                record.encode().as_slice(),
                data,
                "decode then encode changed the bytes"
            );
            check_invariants(&record);
        }
        Err(Error::Record(e)) => match (data.first(), data.len()) {
            (Some(1), IssuedToken::ENCODED_LEN) => {
                assert!(matches!(e, RecordError::InvalidField(_)), "{e:?}");
            }
            (Some(1), _) => assert!(matches!(e, RecordError::WrongLength { .. }), "{e:?}"),
            (Some(&v), _) => assert_eq!(e, RecordError::UnknownVersion(v)),
            (None, _) => assert!(
                matches!(e, RecordError::WrongLength { found: 0, .. }),
                "{e:?}"
            ),
        },
        Err(other) => panic!("decode failed with a non-record error: {other}"),
    }

    let Some((head, rest)) = data.split_first_chunk::<{ IssuedToken::ENCODED_LEN }>() else {
        return;
    };
    let Ok(record) = IssuedToken::decode(head) else {
        return;
    };
    let mut fixed = [0u8; 14];
    for (d, s) in fixed.iter_mut().zip(rest) {
        *d = *s;
    }
    let flags = fixed[0];
    let secs = i64::from_be_bytes(fixed[1..9].try_into().unwrap());
    let nanos = u32::from_be_bytes(fixed[9..13].try_into().unwrap()) % 1_000_000_000;
    let user_len = usize::from(fixed[13]);
    let tail = rest.get(14..).unwrap_or_default();
    let (user, candidate) = tail.split_at(user_len.min(tail.len()));
    let user = String::from_utf8_lossy(user);
    let candidate = String::from_utf8_lossy(candidate);

    let now = if flags & 1 == 1 {
        UtcDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| t.replace_nanosecond(nanos).ok())
    } else {
        let offset = i64::from(i16::from_be_bytes([fixed[1], fixed[2]]));
        record
            .issued_at()
            .checked_add(Duration::new(offset, i32::try_from(nanos).unwrap()))
    };
    let Some(now) = now else {
        return;
    };
    let key = if flags & 2 == 2 {
        other_token_key()
    } else {
        token_key()
    };

    match record.verify(&key, &user, &candidate, now) {
        Err(Error::KeyMismatch { record: r, given }) => {
            assert_ne!(key.id(), record.key_id());
            assert_eq!((r, given), (record.key_id(), key.id()));
        }
        Err(Error::Invalid(v)) => {
            assert_eq!(key.id(), record.key_id(), "the key is checked first");
            assert!(!user_id_ok(&user), "a valid user id was refused");
            assert!(v.as_slice().iter().all(|v| v.field() == "userId"));
        }
        Err(other) => panic!("verify failed unexpectedly: {other}"),
        Ok(check) => {
            assert_eq!(key.id(), record.key_id());
            assert!(user_id_ok(&user), "an invalid user id was accepted");
            check_verification(&record, &candidate, now, check.outcome, &check.record);
            let bytes = check.record.encode();
            assert_eq!(IssuedToken::decode(&bytes).as_ref(), Ok(&check.record));
            if check.outcome == Outcome::Accepted {
                // Single use, bound to the user: the same candidate again is refused, and
                // another user with the same candidate never matches.
                let again = check.record.verify(&key, &user, &candidate, now).unwrap();
                assert_eq!(again.outcome, Outcome::AlreadyUsed);
                let other_user = format!("{user}x");
                if user_id_ok(&other_user) {
                    let other = record.verify(&key, &other_user, &candidate, now).unwrap();
                    assert!(!other.outcome.is_accepted(), "accepted for another user");
                }
            }
        }
    }
});

fn check_invariants(record: &IssuedToken) {
    let ttl = record.ttl();
    assert!((1..=60).contains(&ttl.minutes()));
    assert!((6..=18).contains(&record.length().get()));
    assert!((1..=10).contains(&record.attempt_limit().get()));
    assert!(record.failed_attempts() <= record.attempt_limit().get());
    assert_eq!(record.expires_at() - record.issued_at(), ttl.as_duration());
    assert_eq!(
        record.attempts_left(),
        record.attempt_limit().get() - record.failed_attempts()
    );
    assert_eq!(record.is_locked(), record.attempts_left() == 0);
    if record.is_used() {
        assert!(
            !record.is_locked(),
            "a used record had a guess left when it was accepted"
        );
    }
}

fn check_verification(
    before: &IssuedToken,
    candidate: &str,
    now: UtcDateTime,
    outcome: Outcome,
    after: &IssuedToken,
) {
    check_invariants(after);
    // What the MAC binds never changes.
    assert_eq!(after.key_id(), before.key_id());
    assert_eq!(after.issued_at(), before.issued_at());
    assert_eq!(after.expires_at(), before.expires_at());
    assert_eq!(after.ttl(), before.ttl());
    assert_eq!(after.length(), before.length());
    assert_eq!(after.attempt_limit(), before.attempt_limit());
    // Counters never go back; a used record stays used.
    assert!(after.failed_attempts() >= before.failed_attempts());
    assert!(after.is_used() || !before.is_used());

    let refusal = if before.is_used() {
        Some(Outcome::AlreadyUsed)
    } else if before.is_locked() {
        Some(Outcome::Locked)
    } else if now < before.issued_at() {
        Some(Outcome::NotYetValid)
    } else if now >= before.expires_at() {
        Some(Outcome::Expired)
    } else {
        None
    };
    if let Some(expected) = refusal {
        assert_eq!(outcome, expected);
        assert_eq!(after, before, "a refusal changed the record");
        assert!(!outcome.changes_record());
        return;
    }
    let well_formed = candidate.len() == usize::from(before.length().get())
        && candidate.bytes().all(|b| b.is_ascii_digit());
    assert!(outcome.changes_record());
    match outcome {
        Outcome::Accepted => {
            assert!(well_formed);
            assert!(after.is_used());
            assert_eq!(after.failed_attempts(), before.failed_attempts());
        }
        Outcome::Mismatch { attempts_left } | Outcome::Malformed { attempts_left } => {
            assert_eq!(matches!(outcome, Outcome::Mismatch { .. }), well_formed);
            assert!(!after.is_used());
            assert_eq!(after.failed_attempts(), before.failed_attempts() + 1);
            assert_eq!(attempts_left, after.attempts_left());
        }
        other => panic!("{other:?} for a live record"),
    }
}
