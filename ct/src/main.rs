//! dudect timing tests (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant time?",
//! 2016) for `password-mgmt`, with the `dudect-bencher` crate. Not part of `cargo test`:
//! timing needs a release build, a quiet machine and minutes.
//!
//! Each bench times one operation for two classes of inputs, interleaved at random, and
//! reports Welch's t between the two run-time distributions (cropped at ~100 percentiles;
//! the largest |t| is printed). |t| above 5 is the usual sign of a timing difference;
//! below 5 after about a million samples is the usual bar for "no difference found". Such a
//! test can only find differences for the input classes it compares; it proves nothing else.
//!
//! * `verify_first_vs_last_digit`: `UserState::verify` with a wrong token that differs
//!   from the right one in its first digit (left) vs its last digit (right). An early-exit
//!   comparison of the digits would show here.
//! * `verify_right_vs_wrong`: the right token (left) vs a token wrong in its last digit
//!   (right). The outcomes differ (accepted vs mismatch; the outcome is public), so a small
//!   difference from the code that records the outcome is possible.
//! * `pkcs1_valid_vs_invalid_padding`: `PasswordKeyPair::decrypt_bytes` under PKCS#1 v1.5
//!   of valid ciphertexts (left) vs random values below the modulus, whose padding is
//!   invalid (right): implicit rejection must not make them distinguishable.
//!
//! ```sh
//! cd ct
//! cargo run --release                                      # every bench once
//! cargo run --release -- --filter verify_first             # one bench
//! cargo run --release -- --continuous pkcs1                # accumulate until Ctrl-C
//! ```
//! Sample counts per call: `CT_VERIFY_SAMPLES` (default 1,000,000) and `CT_RSA_SAMPLES`
//! (default 20,000). With `--continuous` each call adds that many samples to the running
//! statistics and prints the new max |t|. `n` in the output is the size of the cropped
//! test with the largest |t|, smaller than the number of samples taken.
//!
//! # Observed (2026-11-29, two-core VM, load average about 5 from other work)
//! * `verify_first_vs_last_digit`: 25 M samples in 45 s (`--continuous`); max |t| peaked
//!   at 3.2 (at 5 M) and ended at 1.7 (n = 11.5 M). No difference found.
//! * `verify_right_vs_wrong`: max |t| = 34.6 (n = 4.0 M): a difference, as expected. Its
//!   size: trimmed means 333.6 ns (accepted) vs 334.0 ns (mismatch), medians both 341 ns,
//!   about 0.4 ns, the cost of recording a different (public) outcome; the comparison
//!   itself is constant-time (see the first bench).
//! * `pkcs1_valid_vs_invalid_padding`: about 4 ms per blinded decryption (20 s per batch of
//!   5,000): 195,000 samples in two runs (35,000, then 160,000 in 10 minutes); max |t|
//!   stayed below 2.8 throughout and ended at 1.4 (n = 0.09 M). A million samples would
//!   take about 70 minutes here; the usual bar (|t| < 5 after 1 M) was not reached for RSA.

use std::cell::RefCell;

use dudect_bencher::rand::{Rng, RngCore};
use dudect_bencher::{BenchRng, Class, CtRunner, ctbench_main};
use password_mgmt::rsa::pkcs8::DecodePublicKey;
use password_mgmt::rsa::traits::PublicKeyParts;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    Candidate, EncryptedPassword, PasswordKeyPair, Purpose, Scheme, Subject, TokenKey,
    TokenParams, UserLimits, UserState,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

const USER: &str = "Abby.Smith";

fn samples(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const SUBJECT: Subject<'static> = Subject {
    tenant: "acme",
    user: USER,
    purpose: Purpose::PASSWORD_RESET,
};

/// 64 users' states with their tokens (8 digits), all issued now and valid for 60 minutes.
fn states(rng: &mut BenchRng) -> (TokenKey, Vec<(UserState, String)>, UtcDateTime) {
    let mut chacha = ChaCha20Rng::seed_from_u64(rng.next_u64());
    let key = TokenKey::from_bytes(&[0x5a; 32]);
    let now = UtcDateTime::from_unix_timestamp(1_795_000_000).unwrap();
    let params = TokenParams::new(
        password_mgmt::TokenLength::new(8).unwrap(),
        password_mgmt::TokenTtl::from_minutes(60).unwrap(),
    );
    let states = (0..64)
        .map(|_| {
            let issuance = UserState::new()
                .issue(&mut chacha, &key, &SUBJECT, &params, &UserLimits::DEFAULT, now)
                .unwrap();
            let state = UserState::decode(issuance.update().unwrap().replacement()).unwrap();
            (state, issuance.stored().unwrap().token.as_str().to_owned())
        })
        .collect();
    (key, states, now + Duration::minutes(1))
}

/// `token` with the digit at `position` replaced by another digit.
fn change_digit(token: &str, position: usize, rng: &mut BenchRng) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let old = bytes[position] - b'0';
    let new = (old + rng.gen_range(1..10)) % 10;
    bytes[position] = b'0' + new;
    String::from_utf8(bytes).unwrap()
}

fn verify_bench(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    left: fn(&str, &mut BenchRng) -> String,
) {
    let (key, states, at) = states(rng);
    let n = samples("CT_VERIFY_SAMPLES", 1_000_000);
    let inputs: Vec<(Class, usize, String)> = (0..n)
        .map(|_| {
            let i = rng.gen_range(0..states.len());
            let token = states[i].1.as_str();
            if rng.r#gen::<bool>() {
                (Class::Left, i, left(token, rng))
            } else {
                (Class::Right, i, change_digit(token, token.len() - 1, rng))
            }
        })
        .collect();
    // Each verification starts from the same stored state (nothing is stored here), so
    // every one is a first guess with a full budget.
    for (class, i, candidate) in inputs {
        let state = &states[i].0;
        let candidate = Candidate::new(&candidate).unwrap();
        runner.run_one(class, || {
            state.verify(&key, &SUBJECT, &candidate, &UserLimits::DEFAULT, at)
        });
    }
}

fn verify_first_vs_last_digit(runner: &mut CtRunner, rng: &mut BenchRng) {
    verify_bench(runner, rng, |token, rng| change_digit(token, 0, rng));
}

fn verify_right_vs_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    verify_bench(runner, rng, |token, _| token.to_owned());
}

fn pkcs1_valid_vs_invalid_padding(runner: &mut CtRunner, rng: &mut BenchRng) {
    let pair = PasswordKeyPair::from_pkcs8_pem(
        include_str!("../../tests/data/keys/rsa2048.pk8.pem"),
        Scheme::Pkcs1v15,
    )
    .unwrap();
    let modulus = password_mgmt::rsa::PublicKey::from_public_key_der(pair.encryptor().spki_der())
        .unwrap()
        .n_bytes()
        .to_vec();
    let mut chacha = ChaCha20Rng::seed_from_u64(rng.next_u64());
    let n = samples("CT_RSA_SAMPLES", 20_000);
    let inputs: Vec<(Class, EncryptedPassword)> = (0..n)
        .map(|_| {
            if rng.r#gen::<bool>() {
                let password: String = (0..rng.gen_range(8..32))
                    .map(|_| rng.gen_range('a'..='z'))
                    .collect();
                let new = password_mgmt::NewPassword {
                    identity_id: USER,
                    password: &password,
                };
                let encrypted = pair.encryptor().encrypt(&mut chacha, &new).unwrap();
                (Class::Left, encrypted)
            } else {
                // A uniform value below the modulus, like a real ciphertext; it decrypts to a
                // valid padding `00 02 ...` with probability below 2^-16.
                let mut bytes = vec![0u8; modulus.len()];
                loop {
                    rng.fill_bytes(&mut bytes);
                    if bytes < modulus {
                        break;
                    }
                }
                (Class::Right, EncryptedPassword::from_bytes(bytes))
            }
        })
        .collect();
    // Blinding draws from this RNG on every call, as in a server.
    let blinding = RefCell::new(chacha);
    for (class, encrypted) in inputs {
        runner.run_one(class, || {
            pair.decrypt_bytes(&mut *blinding.borrow_mut(), &encrypted, USER)
        });
    }
}

ctbench_main!(
    verify_first_vs_last_digit,
    verify_right_vs_wrong,
    pkcs1_valid_vs_invalid_padding
);
