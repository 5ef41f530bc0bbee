//! `UserState::decode` on any bytes, then a sequence of issues, verifications (with the
//! guess budget and the consecutive cap), unlocks and key rotations driven by the rest of
//! the input, each stored the way a service stores it.
//!
//! Input: the first 100 bytes are a stored state (any length is decoded; when the state
//! does not decode, the run starts from the fresh state). Then `flags (1)`: bit 0 lax
//! limits (else the defaults), bit 1 a consecutive cap of 3. Then operations of 4 bytes,
//! `op (1) | arg (1) | step (2, i16 BE, seconds)`, at most 64, missing bytes read as zero;
//! the clock moves by `step` seconds before each (backwards too). `op % 8`: 0 issue,
//! 1 verify the last issued token, 2 verify a typed text (the next `arg % 21` input bytes),
//! 3 verify the last token without using it, 4 unlock, 5 verify the last token for another
//! subject (`arg` picks tenant, user or purpose), 6 rotate the token key ring, 7 retire
//! its oldest accepted key.
//!
//! Properties: decoding is total and strict (an accepted byte string re-encodes to itself);
//! every update's `expected` is the state read, and its `replacement` decodes; refusals
//! that count nothing write nothing (but a clamp); a counted failure adds one to the
//! token's failures and to the consecutive count; an acceptance uses the token, resets the
//! count, and happens only for the token this run issued, to its own subject (never for a
//! decoded state's unknown token, another tenant, user or purpose); without using, an
//! acceptance writes nothing; the documented order of refusals holds; issuing keeps the
//! counts and is refused exactly when the user is locked out; unlocking resets the count.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    Candidate, Error, Outcome, Purpose, RateLimit, RecordError, Subject, TokenKey, TokenKeyRing,
    TokenParams, UserLimits, UserState, UserStateUpdate,
};
use password_mgmt_fuzz::{Reader, USER, rng, token_key};

const TENANT: &str = "acme";

fn subject() -> Subject<'static> {
    Subject {
        tenant: TENANT,
        user: USER,
        purpose: Purpose::PASSWORD_RESET,
    }
}

/// Applies an update as a compare-and-set store would, checking it.
fn store(state: &UserState, update: Option<&UserStateUpdate>) -> UserState {
    let Some(update) = update else {
        return state.clone();
    };
    assert_eq!(update.expected(), &state.encode(), "expected is not the state read");
    let next = UserState::decode(update.replacement()).expect("a replacement decodes");
    assert_eq!(&next.encode(), update.replacement());
    next
}

fuzz_target!(|data: &[u8]| {
    let head = data.get(..UserState::ENCODED_LEN.min(data.len())).unwrap_or_default();
    let mut state = match UserState::decode(head) {
        Ok(state) => {
            assert_eq!(state.encode().as_slice(), head, "decode then encode changed the bytes");
            state
        }
        Err(Error::Record(e)) => {
            match (head.first(), head.len()) {
                (Some(1), UserState::ENCODED_LEN) => {
                    assert!(matches!(e, RecordError::InvalidField(_)), "{e:?}");
                }
                (Some(1), _) => assert!(matches!(e, RecordError::WrongLength { .. }), "{e:?}"),
                (Some(&v), _) => assert_eq!(e, RecordError::UnknownVersion(v)),
                (None, _) => assert!(matches!(e, RecordError::WrongLength { found: 0, .. })),
            }
            UserState::new()
        }
        Err(other) => panic!("decode failed with a non-record error: {other}"),
    };
    let mut r = Reader(data.get(UserState::ENCODED_LEN..).unwrap_or_default());
    let flags = r.u8();
    let many = RateLimit::new(10_000, Duration::SECOND).unwrap();
    let mut limits = if flags & 1 == 1 {
        UserLimits::default().with_requests(many).with_failures(many, many)
    } else {
        UserLimits::default()
    };
    if flags & 2 == 2 {
        limits = limits.with_consecutive_failures(3).unwrap();
    }
    let mut keys = TokenKeyRing::new(token_key());
    let mut next_key = 1u8;
    let mut clock = state
        .record()
        .map_or(UtcDateTime::from_unix_timestamp(1_795_000_000).unwrap(), |r| r.issued_at());
    let mut rng = rng(u64::from(flags));
    // The token this run issued (a decoded state's token is unknown: never accepted).
    let mut token: Option<String> = None;

    for _ in 0..64 {
        if r.0.is_empty() {
            break;
        }
        let [op, arg] = r.bytes::<2>();
        let step = i64::from(i16::from_be_bytes(r.bytes::<2>()));
        let Some(now) = clock.checked_add(Duration::seconds(step)) else {
            continue;
        };
        clock = now;
        match op % 8 {
            0 => {
                let params = TokenParams::default();
                match state.issue(&mut rng, &keys, &subject(), &params, &limits, now) {
                    Ok(issuance) => {
                        let next = store(&state, issuance.update());
                        assert_eq!(next.consecutive_failures(), state.consecutive_failures());
                        match issuance.stored() {
                            Ok(issued) => {
                                let record = next.record().expect("a record after an issue");
                                assert_eq!((record.failed_attempts(), record.is_used()), (0, false));
                                assert_eq!(record.issued_at(), now);
                                assert_eq!(record.key_id(), keys.current().id());
                                token = Some(issued.token.as_str().to_owned());
                            }
                            Err(Error::RateLimited { retry_after }) => {
                                assert!(retry_after.duration() > Duration::ZERO);
                                assert_eq!(next.record(), state.record(), "a refusal issued");
                            }
                            Err(e) => panic!("{e}"),
                        }
                        state = next;
                    }
                    Err(Error::UserLockedOut) => assert!(state.is_locked_out(&limits)),
                    Err(Error::TimeOutOfRange) => {}
                    Err(e) => panic!("issue failed: {e}"),
                }
            }
            1 | 2 | 3 | 5 => {
                let typed_bytes;
                let typed = match op % 8 {
                    2 => {
                        typed_bytes = r.0.get(..usize::from(arg % 21).min(r.0.len())).unwrap_or_default().to_vec();
                        r.0 = &r.0[typed_bytes.len()..];
                        String::from_utf8_lossy(&typed_bytes).into_owned()
                    }
                    _ => token.clone().unwrap_or_else(|| "000000".into()),
                };
                let unlock_purpose = Purpose::new("account-unlock").unwrap();
                let who = match (op % 8, arg % 3) {
                    (5, 0) => Subject { tenant: "acme2", ..subject() },
                    (5, 1) => Subject { user: "Abby.Smith2", ..subject() },
                    (5, _) => Subject { purpose: unlock_purpose, ..subject() },
                    _ => subject(),
                };
                let candidate = Candidate::new(&typed).expect("at most 20 bytes, 60 once lossy");
                let result = if op % 8 == 3 {
                    state.verify_without_using(&keys, &who, &candidate, &limits, now)
                } else {
                    state.verify(&keys, &who, &candidate, &limits, now)
                };
                let verification = match result {
                    Ok(v) => v,
                    Err(Error::UnknownTokenKey { record }) => {
                        let live = state.record().expect("a record names the key");
                        assert_eq!(live.key_id(), record);
                        assert!(!live.is_used() && !live.is_locked() && now < live.expires_at());
                        continue;
                    }
                    Err(e) => panic!("verify failed: {e}"),
                };
                let update = verification.update().cloned();
                let outcome = verification.stored();
                let next = store(&state, update.as_ref());
                check(&state, &next, update.is_some(), outcome, &limits, now);
                if outcome == Outcome::Accepted {
                    assert_eq!(Some(&typed), token.as_ref(), "accepted an unknown token");
                    assert_eq!(who, subject(), "accepted for another subject");
                    if op % 8 == 3 {
                        assert!(update.is_none(), "an acceptance without use wrote");
                    } else {
                        assert!(next.record().unwrap().is_used());
                        assert_eq!(next.consecutive_failures(), 0);
                    }
                }
                state = next;
            }
            4 => {
                let next = store(&state, Some(&state.unlock()));
                assert_eq!(next.consecutive_failures(), 0);
                assert_eq!(next.record(), state.record());
                assert!(next.guess_budget(&limits, now).is_allowed());
                state = next;
            }
            6 => {
                next_key = next_key.wrapping_add(1);
                keys.rotate(TokenKey::from_bytes(&[next_key; 32]));
            }
            _ => {
                let _ = keys.retire(TokenKey::from_bytes(&[next_key.wrapping_sub(1); 32]).id());
            }
        }
    }
});

/// The documented order of checks and what each outcome does to the state.
fn check(
    before: &UserState,
    after: &UserState,
    wrote: bool,
    outcome: Outcome,
    limits: &UserLimits,
    now: UtcDateTime,
) {
    let Some(record) = before.record() else {
        assert_eq!(outcome, Outcome::NoToken);
        assert!(!wrote);
        return;
    };
    let valid_from = record
        .issued_at()
        .checked_sub(limits.clock_tolerance())
        .unwrap_or(UtcDateTime::MIN);
    let refusal = if record.is_used() {
        Some(Outcome::AlreadyUsed)
    } else if record.is_locked() {
        Some(Outcome::TokenLocked)
    } else if now < valid_from {
        Some(Outcome::NotYetValid)
    } else if now >= record.expires_at() {
        Some(Outcome::Expired)
    } else if before.is_locked_out(limits) {
        Some(Outcome::UserLockedOut)
    } else {
        None
    };
    if let Some(expected) = refusal {
        assert_eq!(outcome, expected);
        assert!(!wrote, "a refusal wrote");
        return;
    }
    if let Outcome::BudgetExhausted { retry_after } = outcome {
        assert!(retry_after.duration() > Duration::ZERO);
        assert!(!before.guess_budget(limits, now).is_allowed());
        // Only a clamp may be written: the record and the counts stay.
        assert_eq!(after.record(), before.record());
        assert_eq!(after.consecutive_failures(), before.consecutive_failures());
        return;
    }
    let (b, a) = (record, after.record().expect("the record stays"));
    assert_eq!((a.key_id(), a.issued_at(), a.expires_at()), (b.key_id(), b.issued_at(), b.expires_at()));
    match outcome {
        Outcome::Accepted => assert_eq!(a.failed_attempts(), b.failed_attempts()),
        Outcome::Mismatch { attempts_left } | Outcome::Malformed { attempts_left } => {
            assert!(wrote);
            assert_eq!(a.failed_attempts(), b.failed_attempts() + 1);
            assert_eq!(attempts_left, a.attempts_left());
            assert_eq!(after.consecutive_failures(), before.consecutive_failures() + 1);
        }
        other => panic!("{other:?} for a live token"),
    }
}
