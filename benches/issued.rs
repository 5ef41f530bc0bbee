//! `UserState::issue` and `UserState::verify` (accepted, mismatch, expired, malformed: with
//! the guess budget, the consecutive count and the state update they hand over) beside one
//! HMAC-SHA256 computed the usual way over the same number of bytes the crate's MAC
//! absorbs; state `encode`/`decode` beside copying the 100 bytes.
//!
//! A second baseline shows the floor `verify` can reach: one HMAC from a keyed state
//! cloned per call, which is what `TokenKey` keeps.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects,
    reason = "benches: criterion's macros make undocumented items; the values are fixed"
)]

use core::hint::black_box;
use core::time::Duration as StdDuration;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    AttemptLimit, Candidate, Outcome, Purpose, Subject, TokenKey, TokenLength, TokenParams,
    TokenTtl, UserLimits, UserState,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sha2::Sha256;

const KEY: [u8; 32] = [0x5a; 32];
const SUBJECT: Subject<'static> = Subject {
    tenant: "acme",
    user: "Abby.Smith",
    purpose: Purpose::PASSWORD_RESET,
};
const DIGITS: u8 = 6;

/// Bytes the crate's token MAC absorbs: the domain tag `password-mgmt/v2/digit-token`
/// zero-padded to one block (64), the bound fields (issued-at seconds 8 and nanoseconds 4,
/// lifetime, length and attempt limit 1 each), tenant, purpose and user id each after its
/// length (2), and the token. 119 bytes here, so the usual way runs two message blocks
/// after the key's; the crate's key has the tag block absorbed and runs one.
const MAC_INPUT_LEN: usize = 64
    + 15
    + 2
    + SUBJECT.tenant.len()
    + 2
    + "password-reset".len()
    + 2
    + SUBJECT.user.len()
    + DIGITS as usize;

fn now() -> UtcDateTime {
    UtcDateTime::from_unix_timestamp(1_795_000_000).unwrap()
}

fn params() -> TokenParams {
    TokenParams::new(
        TokenLength::new(DIGITS).unwrap(),
        TokenTtl::from_minutes(5).unwrap(),
    )
    .with_attempt_limit(AttemptLimit::new(5).unwrap())
}

/// One HMAC-SHA256 the usual way: key, update, finalize.
fn usual_hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn issue_and_verify(c: &mut Criterion) {
    let key = TokenKey::from_bytes(&KEY);
    let message = [0x42u8; MAC_INPUT_LEN];
    let keyed = Hmac::<Sha256>::new_from_slice(&KEY).unwrap();

    let limits = UserLimits::default();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let issuance = UserState::new()
        .issue(&mut rng, &key, &SUBJECT, &params(), &limits, now())
        .unwrap();
    let state = UserState::decode(issuance.update().unwrap().replacement()).unwrap();
    let token = issuance.stored().unwrap().token.as_str().to_owned();
    let wrong = if token == "000000" {
        "000001"
    } else {
        "000000"
    };
    let during = now() + Duration::minutes(1);
    let after = now() + Duration::minutes(5);
    let cases: [(&str, &str, UtcDateTime, Outcome); 4] = [
        ("verify_accepted", &token, during, Outcome::Accepted),
        (
            "verify_mismatch",
            wrong,
            during,
            Outcome::Mismatch { attempts_left: 4 },
        ),
        ("verify_expired", &token, after, Outcome::Expired),
        (
            "verify_malformed",
            "00000x",
            during,
            Outcome::Malformed { attempts_left: 4 },
        ),
    ];
    for (_, candidate, at, outcome) in &cases {
        let check = state
            .verify(
                &key,
                &SUBJECT,
                &Candidate::new(candidate).unwrap(),
                &limits,
                *at,
            )
            .unwrap();
        assert_eq!(check.stored(), *outcome, "the bench measures what it names");
    }

    let mut group = c.benchmark_group("issue_verify");
    group.bench_function("baseline_hmac_sha256_usual", |b| {
        b.iter(|| usual_hmac(black_box(&KEY), black_box(&message)));
    });
    group.bench_function("baseline_hmac_sha256_prekeyed_clone", |b| {
        b.iter(|| {
            let mut mac = black_box(&keyed).clone();
            mac.update(black_box(&message));
            <[u8; 32]>::from(mac.finalize().into_bytes())
        });
    });
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let fresh = UserState::new();
    group.bench_function("issue", |b| {
        b.iter(|| {
            black_box(&fresh)
                .issue(
                    &mut rng,
                    &key,
                    black_box(&SUBJECT),
                    &params(),
                    &limits,
                    black_box(now()),
                )
                .unwrap()
        });
    });
    for (name, candidate, at, _) in cases {
        let candidate = Candidate::new(candidate).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(&state)
                    .verify(
                        &key,
                        black_box(&SUBJECT),
                        black_box(&candidate),
                        &limits,
                        black_box(at),
                    )
                    .unwrap()
            });
        });
    }
    group.finish();
}

fn states(c: &mut Criterion) {
    let key = TokenKey::from_bytes(&KEY);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let issuance = UserState::new()
        .issue(
            &mut rng,
            &key,
            &SUBJECT,
            &params(),
            &UserLimits::default(),
            now(),
        )
        .unwrap();
    let encoded = *issuance.update().unwrap().replacement();
    let state = UserState::decode(&encoded).unwrap();
    let bytes: &[u8] = &encoded;

    let mut group = c.benchmark_group("state");
    group.bench_function("baseline_copy_100_bytes", |b| {
        b.iter(|| <[u8; UserState::ENCODED_LEN]>::try_from(black_box(bytes)).unwrap());
    });
    group.bench_function("encode", |b| b.iter(|| black_box(&state).encode()));
    group.bench_function("decode", |b| {
        b.iter(|| UserState::decode(black_box(bytes)).unwrap());
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(3));
    targets = issue_and_verify, states
}
criterion_main!(benches);
