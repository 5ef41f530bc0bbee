//! Statistical checks of token digits: tokens of every length 6..=18 drawn from a seeded
//! `ChaCha20` RNG, then
//!
//! * a chi-square goodness-of-fit test per (length, position): 10 cells, df = 9;
//! * a chi-square test of all digits pooled (df = 9) and of adjacent pairs within a token
//!   (100 cells, df = 99);
//! * a Wald–Wolfowitz runs test above/below the median over the whole stream, digits in the
//!   order drawn (below: 0-4, above: 5-9; no digit equals the median 4.5), with the normal
//!   approximation.
//!
//! Each test fails when its p-value is below 0.001, printing the statistic. The p-values
//! are computed (regularized upper incomplete gamma for chi-square, `erfc` for the normal),
//! and `p_values_match_published_critical_values` checks them against tables: chi-square
//! df = 9 at p = 0.001 is 27.877, df = 99 is 148.230, and |z| = 3.2905 is p = 0.001.
//!
//! About 160 tests run at 0.001 each, so for an ideal generator the chance that at least
//! one fails for a given seed is about 15%. The seeds are fixed, so the outcome is
//! reproducible; a failure is investigated with other seeds (`STATISTICS_SEED=n`), not
//! accepted or hidden by changing the seed.
//!
//! The 10-million-digit run is ignored by default (0.13 s in release, 1.2 s in debug, on
//! a busy two-core machine):
//! `cargo test --release --test statistics -- --ignored --nocapture`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    clippy::cast_sign_loss,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report; counts are far below 2^52, so the f64 casts are exact"
)]

use password_mgmt::{DigitToken, TokenLength};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// Significance level of every test.
const ALPHA: f64 = 0.001;

/// Counts over the drawn digits.
struct Tally {
    /// `per_position[length - 6][position][digit]`.
    per_position: Vec<Vec<[u64; 10]>>,
    /// Every digit.
    pooled: [u64; 10],
    /// `(digit at i, digit at i + 1)` within one token.
    pairs: [[u64; 10]; 10],
    /// The runs test, over the whole stream in the order drawn.
    above: u64,
    below: u64,
    runs: u64,
    last_above: Option<bool>,
    digits: u64,
}

impl Tally {
    fn new() -> Self {
        Self {
            per_position: (6..=18).map(|len| vec![[0; 10]; len]).collect(),
            pooled: [0; 10],
            pairs: [[0; 10]; 10],
            above: 0,
            below: 0,
            runs: 0,
            last_above: None,
            digits: 0,
        }
    }

    fn add(&mut self, token: &str) {
        let len = token.len();
        let mut previous: Option<usize> = None;
        for (position, byte) in token.bytes().enumerate() {
            let d = usize::from(byte - b'0');
            self.per_position[len - 6][position][d] += 1;
            self.pooled[d] += 1;
            if let Some(p) = previous {
                self.pairs[p][d] += 1;
            }
            previous = Some(d);
            let above = d >= 5;
            if above {
                self.above += 1;
            } else {
                self.below += 1;
            }
            if self.last_above != Some(above) {
                self.runs += 1;
            }
            self.last_above = Some(above);
            self.digits += 1;
        }
    }
}

/// Draws tokens of every length 6..=18 in turn until at least `digits` digits are drawn.
fn draw(seed: u64, digits: u64) -> Tally {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut tally = Tally::new();
    while tally.digits < digits {
        for len in 6..=18 {
            let token = DigitToken::generate(&mut rng, TokenLength::new(len).unwrap()).unwrap();
            tally.add(token.as_str());
        }
    }
    tally
}

/// Pearson's chi-square statistic of `counts` against equal expected counts.
fn chi_square(counts: &[u64]) -> f64 {
    let n: u64 = counts.iter().sum();
    let expected = n as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| {
            let diff = c as f64 - expected;
            diff * diff / expected
        })
        .sum()
}

/// The upper-tail p-value of a chi-square statistic with `df` degrees of freedom.
fn chi_square_p(statistic: f64, df: u32) -> f64 {
    gamma_q(f64::from(df) / 2.0, statistic / 2.0)
}

/// The two-sided p-value of a standard normal statistic: `erfc(|z| / sqrt 2)`.
fn normal_two_sided_p(z: f64) -> f64 {
    // erfc(x) = Q(1/2, x^2) for x >= 0.
    gamma_q(0.5, z * z / 2.0)
}

/// `ln Γ(x)` for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-14).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized upper incomplete gamma function `Q(a, x) = Γ(a, x) / Γ(a)`: the series
/// for `x < a + 1`, else the continued fraction (modified Lentz).
fn gamma_q(a: f64, x: f64) -> f64 {
    const EPS: f64 = 1e-15;
    const TINY: f64 = 1e-300;
    if x <= 0.0 {
        return 1.0;
    }
    let prefactor = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut ap, mut term, mut sum) = (a, 1.0 / a, 1.0 / a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * EPS {
                break;
            }
        }
        1.0 - sum * prefactor
    } else {
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -f64::from(i) * (f64::from(i) - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < EPS {
                break;
            }
        }
        prefactor * h
    }
}

/// One test's result.
struct Finding {
    name: String,
    statistic: String,
    p: f64,
}

/// Runs every test on `digits` digits drawn with `seed`; panics listing every test with
/// p < `ALPHA`, and prints a summary either way.
fn check(seed: u64, digits: u64) {
    let seed = std::env::var("STATISTICS_SEED")
        .ok()
        .map_or(seed, |s| s.parse().expect("STATISTICS_SEED is a u64"));
    let started = std::time::Instant::now();
    let tally = draw(seed, digits);
    let drawn = started.elapsed();

    let mut findings = Vec::new();
    for (i, positions) in tally.per_position.iter().enumerate() {
        for (position, counts) in positions.iter().enumerate() {
            let x2 = chi_square(counts);
            findings.push(Finding {
                name: format!("length {} position {position}", i + 6),
                statistic: format!("chi2 = {x2:.3} (df 9, n = {})", counts.iter().sum::<u64>()),
                p: chi_square_p(x2, 9),
            });
        }
    }
    let x2 = chi_square(&tally.pooled);
    findings.push(Finding {
        name: "all digits".into(),
        statistic: format!("chi2 = {x2:.3} (df 9, n = {})", tally.digits),
        p: chi_square_p(x2, 9),
    });
    let pairs: Vec<u64> = tally.pairs.iter().flatten().copied().collect();
    let x2 = chi_square(&pairs);
    findings.push(Finding {
        name: "adjacent pairs".into(),
        statistic: format!("chi2 = {x2:.3} (df 99, n = {})", pairs.iter().sum::<u64>()),
        p: chi_square_p(x2, 99),
    });
    let (n1, n2) = (tally.above as f64, tally.below as f64);
    let n = n1 + n2;
    let mean = 2.0 * n1 * n2 / n + 1.0;
    let variance = 2.0 * n1 * n2 * (2.0 * n1 * n2 - n) / (n * n * (n - 1.0));
    let z = (tally.runs as f64 - mean) / variance.sqrt();
    findings.push(Finding {
        name: "runs above/below the median".into(),
        statistic: format!(
            "z = {z:.3} ({} runs, expected {mean:.1}; {} above, {} below)",
            tally.runs, tally.above, tally.below
        ),
        p: normal_two_sided_p(z),
    });

    let tests = findings.len();
    let worst = findings.iter().min_by(|a, b| a.p.total_cmp(&b.p)).unwrap();
    println!(
        "seed {seed}: {} digits drawn in {drawn:.2?}, {tests} tests at p < {ALPHA}; \
         smallest p = {:.5} ({}: {})",
        tally.digits, worst.p, worst.name, worst.statistic
    );
    for f in findings.iter().filter(|f| f.name.starts_with(['a', 'r'])) {
        println!("  {}: {}, p = {:.4}", f.name, f.statistic, f.p);
    }
    let failed: Vec<String> = findings
        .iter()
        .filter(|f| f.p < ALPHA)
        .map(|f| format!("{}: {}, p = {:.2e}", f.name, f.statistic, f.p))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {tests} tests below p = {ALPHA} (seed {seed}):\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn p_values_match_published_critical_values() {
    let close = |p: f64, expected: f64| (p - expected).abs() < 2e-6;
    // Chi-square upper critical values (NIST/SEMATECH e-Handbook, table 1.3.6.7.4).
    assert!(
        close(chi_square_p(27.877, 9), 0.001),
        "{}",
        chi_square_p(27.877, 9)
    );
    assert!(
        close(chi_square_p(16.919, 9), 0.05),
        "{}",
        chi_square_p(16.919, 9)
    );
    assert!(
        close(chi_square_p(148.230, 99), 0.001),
        "{}",
        chi_square_p(148.230, 99)
    );
    // Exact values: df = 2 has Q = exp(-x/2).
    assert!((chi_square_p(10.0, 2) - (-5.0f64).exp()).abs() < 1e-14);
    // Normal: two-sided p of 1.959964 is 0.05, of 3.290527 is 0.001.
    assert!(close(normal_two_sided_p(1.959_964), 0.05));
    assert!(close(normal_two_sided_p(3.290_527), 0.001));
    assert!(close(normal_two_sided_p(-3.290_527), 0.001));
    assert!((normal_two_sided_p(0.0) - 1.0).abs() < 1e-12);
}

#[test]
fn a_biased_source_fails() {
    // The test has power: one digit 10% too frequent among 100k is far below the threshold.
    let mut counts = [10_000u64; 10];
    counts[0] = 11_000;
    assert!(chi_square_p(chi_square(&counts), 9) < ALPHA);
}

#[test]
fn digits_100k_are_uniform_and_independent() {
    check(0x0005_eed0_0100, 100_000);
}

#[test]
#[ignore = "10 million digits, for CI and by hand: `cargo test --release --test statistics -- --ignored --nocapture`"]
fn digits_10m_are_uniform_and_independent() {
    check(0x0005_eed1_0000, 10_000_000);
}
