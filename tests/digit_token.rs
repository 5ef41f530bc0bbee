//! Digit tokens: lengths, uniformity, the exact rejection bound, RNG failures, secrecy.

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

use fixtures::{Failing, Scripted};
use password_mgmt::subtle::ConstantTimeEq;
use password_mgmt::{DigitToken, Error, RngError, TokenLength, ViolationKind};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// `10^n` as a u128, so that `2^64` is representable too.
fn pow10(n: u8) -> u128 {
    10u128.pow(u32::from(n))
}

/// The first rejected 64-bit word for `n` digits, computed independently of the crate:
/// the largest multiple of `10^n` that is at most `2^64` (it is below 2^64, which has no factor 5).
fn first_rejected(n: u8) -> u64 {
    let two64 = 1u128 << 64;
    u64::try_from(two64 - two64 % pow10(n)).unwrap()
}

#[test]
fn every_length_yields_that_many_digits() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for n in 6..=18u8 {
        let len = TokenLength::new(n).unwrap();
        for _ in 0..200 {
            let token = DigitToken::generate(&mut rng, len).unwrap();
            assert_eq!(token.as_str().len(), usize::from(n));
            assert!(token.as_str().bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(token.len(), len);
        }
    }
}

#[test]
fn lengths_outside_6_to_18_are_refused_naming_the_range() {
    for n in [0u8, 1, 5, 19, 20, 255] {
        let err = TokenLength::new(n).unwrap_err();
        assert_eq!(
            err.violations()[0].kind(),
            &ViolationKind::OutOfRange {
                min: 6,
                max: 18,
                found: i64::from(n)
            }
        );
        assert!(err.to_string().contains("from 6 to 18 inclusive"), "{err}");
    }
    for n in [6u8, 18] {
        assert_eq!(TokenLength::new(n).unwrap().get(), n);
    }
    assert_eq!(TokenLength::default().get(), 6);
    assert!(TokenLength::try_from(i64::MIN).is_err());
    assert!(TokenLength::try_from(i64::MAX).is_err());
}

/// Chi-square statistic of observed counts against a uniform expectation.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// The chi-square critical value for 9 degrees of freedom at p = 0.001.
const CHI2_9DF_P001: f64 = 27.877;

#[test]
fn a_million_six_digit_tokens_are_uniform_in_every_position() {
    let mut rng = ChaCha20Rng::seed_from_u64(20_261_123);
    let len = TokenLength::new(6).unwrap();
    let mut counts = [[0u64; 10]; 6];
    let n_tokens = 1_000_000u64;
    for _ in 0..n_tokens {
        let token = DigitToken::generate(&mut rng, len).unwrap();
        for (pos, b) in token.as_str().bytes().enumerate() {
            counts[pos][usize::from(b - b'0')] += 1;
        }
    }
    for (pos, c) in counts.iter().enumerate() {
        let chi2 = chi_square(c);
        assert!(
            chi2 < CHI2_9DF_P001,
            "position {pos}: chi2 = {chi2:.2}, counts {c:?}"
        );
    }
    // The leading digit is 0 one time in ten (leading zeros are kept, not re-drawn):
    // within 5 standard deviations (sd = sqrt(n p (1-p)) = 300).
    let zeros = counts[0][0];
    assert!(
        zeros.abs_diff(n_tokens / 10) < 1_500,
        "leading zero {zeros} times"
    );
}

#[test]
fn the_first_rejected_word_is_rejected_and_the_last_accepted_one_accepted() {
    for n in [6u8, 12, 18] {
        let len = TokenLength::new(n).unwrap();
        let zone = first_rejected(n);

        // The first rejected value, then the largest accepted one (all nines).
        let mut rng = Scripted::new(&[zone, zone - 1]);
        let token = DigitToken::generate(&mut rng, len).unwrap();
        assert_eq!(rng.draws, 2, "n = {n}: {zone} must be rejected");
        assert_eq!(token.as_str(), "9".repeat(usize::from(n)));

        // u64::MAX is rejected too; 0 is accepted and keeps all its zeros.
        let mut rng = Scripted::new(&[u64::MAX, 0]);
        let token = DigitToken::generate(&mut rng, len).unwrap();
        assert_eq!(rng.draws, 2);
        assert_eq!(token.as_str(), "0".repeat(usize::from(n)));

        // An accepted word is used at once, its low n decimal digits, most significant first.
        let word = zone - 10u64.pow(u32::from(n)) + 4_201;
        let mut rng = Scripted::new(&[word]);
        let token = DigitToken::generate(&mut rng, len).unwrap();
        assert_eq!(rng.draws, 1);
        let expected = format!(
            "{:0width$}",
            u128::from(word) % pow10(n),
            width = usize::from(n)
        );
        assert_eq!(token.as_str(), expected);
        assert!(token.as_str().ends_with("4201"));
    }
}

#[test]
fn for_18_digits_the_rejection_band_is_large_and_handled() {
    // 2^64 mod 10^18 = 446_744_073_709_551_616: about 2.4% of all words are rejected.
    assert_eq!((1u128 << 64) % pow10(18), 446_744_073_709_551_616);
    let zone = first_rejected(18);
    let mut rng = Scripted::new(&[zone, zone + 1, u64::MAX - 1, 123]);
    let token = DigitToken::generate(&mut rng, TokenLength::new(18).unwrap()).unwrap();
    assert_eq!(rng.draws, 4);
    assert_eq!(token.as_str(), "000000000000000123");
}

#[test]
fn a_failing_rng_is_an_internal_fault_not_a_panic() {
    let err = DigitToken::try_generate(&mut Failing, TokenLength::DEFAULT).unwrap_err();
    assert_eq!(err, Error::Rng(RngError::Failed));
    assert_eq!(err.detail_code().http_status(), 500);
}

#[test]
fn an_rng_that_only_returns_rejected_words_is_declared_stuck() {
    let words = vec![u64::MAX; DigitToken::MAX_DRAWS as usize];
    let mut rng = Scripted::new(&words);
    let err = DigitToken::generate(&mut rng, TokenLength::DEFAULT).unwrap_err();
    assert_eq!(err, Error::Rng(RngError::Stuck));
    assert_eq!(rng.draws, DigitToken::MAX_DRAWS as usize);

    // One accepted word on the last permitted draw still succeeds.
    let mut words = vec![u64::MAX; DigitToken::MAX_DRAWS as usize - 1];
    words.push(42);
    let token = DigitToken::generate(&mut Scripted::new(&words), TokenLength::DEFAULT).unwrap();
    assert_eq!(token.as_str(), "000042");
}

#[test]
fn tokens_compare_in_constant_time_and_never_print() {
    let len = TokenLength::new(8).unwrap();
    let a = DigitToken::generate(&mut Scripted::new(&[12_345_678]), len).unwrap();
    let b = DigitToken::generate(&mut Scripted::new(&[12_345_678]), len).unwrap();
    let c = DigitToken::generate(&mut Scripted::new(&[12_345_679]), len).unwrap();
    let short = DigitToken::generate(
        &mut Scripted::new(&[12_345_678]),
        TokenLength::new(9).unwrap(),
    )
    .unwrap();
    assert!(bool::from(a.ct_eq(&b)));
    assert!(!bool::from(a.ct_eq(&c)));
    // "012345678" vs "12345678": different lengths are different tokens.
    assert!(!bool::from(a.ct_eq(&short)));

    let debug = format!("{a:?}");
    assert_eq!(debug, "DigitToken { length: 8, .. }");
    assert!(!debug.contains("12345678"));
}

#[cfg(feature = "getrandom")]
#[test]
fn the_os_rng_convenience_draws_tokens() {
    let token = DigitToken::from_os_rng(TokenLength::new(10).unwrap()).unwrap();
    assert_eq!(token.as_str().len(), 10);
}
