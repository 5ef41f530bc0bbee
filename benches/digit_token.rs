//! `DigitToken::generate` for 6, 12 and 18 digits, each beside its baselines in the same
//! group: the floor (one `next_u64` of the same RNG), the floor plus digit formatting (one
//! `next_u64`, `% 10^n`, the digits peeled into a stack array: no rejection, no wiping), and
//! what users write by hand (`rand`'s `random_range(0..10^n)` plus `format!("{:0n$}")`).
//!
//! Every routine draws from its own `ChaCha20Rng` seeded the same way.

#![allow(
    missing_docs,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    reason = "benches: criterion's macros make undocumented items; the values are fixed"
)]

use core::hint::black_box;
use core::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use password_mgmt::{DigitToken, TokenLength};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

const SEED: u64 = 0x5eed;

/// The floor plus digit formatting: one draw reduced modulo `10^n` (biased, no rejection)
/// and written as `n` ASCII digits into a stack array, as cheaply as the task allows.
fn floor_plus_digits(rng: &mut ChaCha20Rng, n: usize) -> [u8; 18] {
    let mut x = rng.next_u64() % 10u64.pow(n as u32);
    let mut out = [0u8; 18];
    for d in out[..n].iter_mut().rev() {
        *d = b'0' + (x % 10) as u8;
        x /= 10;
    }
    out
}

/// What users write by hand with `rand`: an unbiased integer below `10^n`, zero-padded into
/// a fresh `String`.
fn rand_and_format(rng: &mut ChaCha20Rng, n: usize) -> String {
    let v: u64 = rng.random_range(0..10u64.pow(n as u32));
    format!("{v:0n$}")
}

fn generate(c: &mut Criterion) {
    for n in [6u8, 12, 18] {
        let len = TokenLength::new(n).unwrap();
        let digits = usize::from(n);
        let mut group = c.benchmark_group(format!("generate_{n}"));

        let mut rng = ChaCha20Rng::seed_from_u64(SEED);
        group.bench_function("baseline_next_u64", |b| b.iter(|| rng.next_u64()));

        let mut rng = ChaCha20Rng::seed_from_u64(SEED);
        group.bench_function("baseline_next_u64_plus_digits", |b| {
            b.iter(|| floor_plus_digits(&mut rng, black_box(digits)));
        });

        let mut rng = ChaCha20Rng::seed_from_u64(SEED);
        group.bench_function("baseline_rand_random_range_format", |b| {
            b.iter(|| rand_and_format(&mut rng, black_box(digits)));
        });

        let mut rng = ChaCha20Rng::seed_from_u64(SEED);
        group.bench_function("DigitToken_generate", |b| {
            b.iter(|| DigitToken::generate(&mut rng, black_box(len)).unwrap());
        });

        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = generate
}
criterion_main!(benches);
