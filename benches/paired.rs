//! Paired ratios for the goals, robust to a shared, busy machine.
//!
//! Criterion measures a figure and its baseline one after the other, seconds apart; when
//! other processes come and go, the two see different loads and their ratio drifts. Here
//! the figure and its baseline alternate in short blocks (a few tens of microseconds, or
//! one call for RSA), and the reported ratio is the median over rounds of
//! `time(figure block) / time(adjacent baseline block)`: a load change hits both sides
//! of a pair alike. Printed as a Markdown table, and written as tab-separated values to
//! `target/tmp/paired.tsv` for `benches/report.py`;
//! `cargo bench -p password-mgmt-benches --bench paired`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_lossless,
    clippy::std_instead_of_core,
    reason = "bench harness: fixed values, plain arithmetic on timings"
)]

use core::hint::black_box;
use std::fmt::Write as _;
use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use password_mgmt::rsa::pkcs8::DecodePrivateKey;
use password_mgmt::rsa::sha2::Sha256 as RsaSha256;
use password_mgmt::rsa::{Oaep, Pkcs1v15Encrypt, PrivateKey};
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    Candidate, DigitToken, NewPassword, PasswordKeyPair, Purpose, Scheme, Subject, TokenKey,
    TokenLength, TokenParams, TokenTtl, UserLimits, UserState,
};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::Sha256;

/// Median of a non-empty list.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Alternates `block` calls of `figure` and of `baseline` for `rounds` rounds (which of the
/// two goes first alternates too) and prints one table row: the medians per call and the
/// median of the per-round ratios.
#[allow(
    clippy::too_many_arguments,
    reason = "a table row's fields, named at each call"
)]
fn paired(
    out: &mut String,
    label: &str,
    baseline_label: &str,
    goal: &str,
    block: u32,
    rounds: u32,
    mut figure: impl FnMut(),
    mut baseline: impl FnMut(),
) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..block {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(block)
    };
    // Warm up both.
    for _ in 0..rounds.min(20) {
        time(&mut figure);
        time(&mut baseline);
    }
    let (mut fs, mut bs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (f, b) = if round % 2 == 0 {
            let f = time(&mut figure);
            (f, time(&mut baseline))
        } else {
            let b = time(&mut baseline);
            (time(&mut figure), b)
        };
        fs.push(f);
        bs.push(b);
        ratios.push(f / b);
    }
    let (f, b, r) = (median(fs), median(bs), median(ratios));
    println!("| {label} | {f:.1} | {baseline_label} | {b:.1} | {r:.3}x | {goal} |");
    writeln!(out, "{label}\t{baseline_label}\t{r}\t{goal}").unwrap();
}

const PASSWORD: &str = "correct horse battery staple";

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let mut out = String::new();
    println!("| figure | median ns | baseline | median ns | median paired ratio | goal |");
    println!("|---|---:|---|---:|---:|---|");

    for n in [6u8, 12, 18] {
        let len = TokenLength::new(n).unwrap();
        let digits = usize::from(n);
        let modulus = 10u64.pow(u32::from(n));
        let mut rng_a = ChaCha20Rng::seed_from_u64(1);
        let mut rng_b = ChaCha20Rng::seed_from_u64(1);
        paired(
            &mut out,
            &format!("DigitToken::generate, {n} digits"),
            "next_u64 + % 10^n + digits",
            "≤ 1.30x",
            1000,
            1500,
            || {
                black_box(DigitToken::generate(&mut rng_a, black_box(len)).unwrap());
            },
            || {
                let mut x = rng_b.next_u64() % black_box(modulus);
                let mut out = [0u8; 18];
                for d in out[..digits].iter_mut().rev() {
                    *d = b'0' + (x % 10) as u8;
                    x /= 10;
                }
                black_box(out);
            },
        );
        let mut rng_a = ChaCha20Rng::seed_from_u64(1);
        let mut rng_b = ChaCha20Rng::seed_from_u64(1);
        paired(
            &mut out,
            &format!("DigitToken::generate, {n} digits"),
            "rand random_range + format!",
            "≤ 0.33x",
            1000,
            1500,
            || {
                black_box(DigitToken::generate(&mut rng_a, black_box(len)).unwrap());
            },
            || {
                let v: u64 = rng_b.random_range(0..black_box(modulus));
                black_box(format!("{v:0digits$}"));
            },
        );
    }

    let key_bytes = [0x5a; 32];
    let key = TokenKey::from_bytes(&key_bytes);
    let now = UtcDateTime::from_unix_timestamp(1_795_000_000).unwrap();
    let params = TokenParams::new(TokenLength::new(6).unwrap(), TokenTtl::DEFAULT);
    let subject = Subject {
        tenant: "acme",
        user: "Abby.Smith",
        purpose: Purpose::PASSWORD_RESET,
    };
    let limits = UserLimits::default();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let issuance = UserState::new()
        .issue(&mut rng, &key, &subject, &params, &limits, now)
        .unwrap();
    let state = UserState::decode(issuance.update().unwrap().replacement()).unwrap();
    let token = issuance.stored().unwrap().token.as_str().to_owned();
    let wrong = if token == "000000" {
        "000001"
    } else {
        "000000"
    };
    let during = now + Duration::minutes(1);
    // 64 (tag, padded to a block) + 15 (bound fields) + 2 + 4 (tenant) + 2 + 14 (purpose) + 2 + 10 (user id)
    // + 6 (token): see benches/issued.rs.
    let message = [0x42u8; 119];
    let usual = || {
        let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&key_bytes)).unwrap();
        mac.update(black_box(&message));
        black_box(mac.finalize().into_bytes());
    };
    let keyed = Hmac::<Sha256>::new_from_slice(&key_bytes).unwrap();
    paired(
        &mut out,
        "one HMAC-SHA256 from a pre-keyed state (clone)",
        "one HMAC-SHA256, usual way",
        "",
        100,
        1500,
        || {
            let mut mac = black_box(&keyed).clone();
            mac.update(black_box(&message));
            black_box(mac.finalize().into_bytes());
        },
        usual,
    );
    for (name, candidate) in [("accepted", token.as_str()), ("mismatch", wrong)] {
        let candidate = Candidate::new(candidate).unwrap();
        paired(
            &mut out,
            &format!("verify ({name})"),
            "one HMAC-SHA256, usual way",
            "≤ 1.00x",
            100,
            1500,
            || {
                drop(black_box(
                    black_box(&state)
                        .verify(&key, &subject, black_box(&candidate), &limits, during)
                        .unwrap(),
                ));
            },
            usual,
        );
    }
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    paired(
        &mut out,
        "issue",
        "one HMAC-SHA256, usual way",
        "",
        100,
        1500,
        || {
            drop(black_box(
                UserState::new()
                    .issue(&mut rng, &key, &subject, &params, &limits, black_box(now))
                    .unwrap(),
            ));
        },
        usual,
    );

    for (bits, pem) in [
        (2048, include_str!("../tests/data/keys/rsa2048.pk8.pem")),
        (4096, include_str!("../tests/data/keys/rsa4096.pk8.pem")),
    ] {
        let bare = PrivateKey::from_pkcs8_pem(pem).unwrap();
        let public = bare.to_public_key();
        let rounds = if bits == 2048 { 60 } else { 20 };
        let new = NewPassword {
            identity_id: "abby",
            password: PASSWORD,
        };
        for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
            let pair = PasswordKeyPair::from_pkcs8_pem(pem, scheme).unwrap();
            let oaep = scheme == Scheme::OaepSha256;
            let mut rng = ChaCha20Rng::seed_from_u64(7);
            let encrypted = pair.encryptor().encrypt(&mut rng, &new).unwrap();
            let ciphertext = encrypted.as_bytes().to_vec();
            let mut rng_a = ChaCha20Rng::seed_from_u64(1);
            let mut rng_b = ChaCha20Rng::seed_from_u64(1);
            paired(
                &mut out,
                &format!("RSA-{bits} encrypt, {scheme:?}"),
                "bare rsa PublicKey::encrypt",
                "≤ 1.05x",
                if bits == 2048 { 10 } else { 4 },
                rounds,
                || {
                    black_box(pair.encryptor().encrypt(&mut rng_a, &new).unwrap());
                },
                || {
                    let m = black_box(PASSWORD).as_bytes();
                    black_box(if oaep {
                        public.encrypt(&mut rng_b, Oaep::<RsaSha256>::new(), m)
                    } else {
                        public.encrypt(&mut rng_b, Pkcs1v15Encrypt, m)
                    })
                    .unwrap();
                },
            );
            let mut rng_a = ChaCha20Rng::seed_from_u64(1);
            let mut rng_b = ChaCha20Rng::seed_from_u64(1);
            paired(
                &mut out,
                &format!("RSA-{bits} decrypt, {scheme:?}"),
                "bare rsa PrivateKey::decrypt_blinded",
                "≤ 1.05x",
                1,
                rounds,
                || {
                    black_box(pair.decrypt(&mut rng_a, &encrypted, "abby").unwrap());
                },
                || {
                    let c = black_box(ciphertext.as_slice());
                    black_box(if oaep {
                        bare.decrypt_blinded(&mut rng_b, Oaep::<RsaSha256>::new(), c)
                    } else {
                        bare.decrypt_blinded(&mut rng_b, Pkcs1v15Encrypt, c)
                    })
                    .unwrap();
                },
            );
        }
    }
    let path = concat!(env!("CARGO_TARGET_TMPDIR"), "/paired.tsv");
    std::fs::write(path, out).unwrap();
}
