//! `PasswordOrgConfig::update` and `DigitTokenRequest::resolve`, each beside a trivial
//! hand-written version: the same merge of optional fields and range checks into a plain
//! struct, with no error reporting beyond "invalid".

#![allow(
    missing_docs,
    clippy::unwrap_used,
    reason = "benches: criterion's macros make undocumented items; the values are fixed"
)]

use core::hint::black_box;
use core::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use password_mgmt::{DigitTokenRequest, PasswordOrgConfig, PasswordOrgConfigInput};

/// A plain org config, as a caller might keep it without this crate.
#[derive(Clone, Copy, Debug)]
struct Plain {
    custom_instructions: bool,
    digit_token: bool,
    minutes: u8,
    digits: u8,
}

impl Plain {
    /// The hand-written update: merge, range-check, stop at the first problem.
    fn update(self, input: &PasswordOrgConfigInput) -> Option<Self> {
        let minutes = input
            .digit_token_duration_minutes
            .map_or(Some(self.minutes), |m| {
                u8::try_from(m).ok().filter(|m| (1..=60).contains(m))
            })?;
        let digits = input.digit_token_length.map_or(Some(self.digits), |n| {
            u8::try_from(n).ok().filter(|n| (6..=18).contains(n))
        })?;
        Some(Self {
            custom_instructions: input
                .custom_instructions_enabled
                .unwrap_or(self.custom_instructions),
            digit_token: input.digit_token_enabled.unwrap_or(self.digit_token),
            minutes,
            digits,
        })
    }

    /// The hand-written request resolution: (digits, minutes) or nothing.
    fn resolve(self, request: &DigitTokenRequest<'_>) -> Option<(u8, u8)> {
        if !self.digit_token || request.user_id.trim().is_empty() || request.user_id.len() > 256 {
            return None;
        }
        let digits = request.length.map_or(Some(self.digits), |n| {
            u8::try_from(n).ok().filter(|n| (6..=18).contains(n))
        })?;
        let minutes = request.duration_minutes.map_or(Some(self.minutes), |m| {
            u8::try_from(m).ok().filter(|m| (1..=60).contains(m))
        })?;
        Some((digits, minutes))
    }
}

fn org_config(c: &mut Criterion) {
    let config = PasswordOrgConfig::DEFAULT;
    let plain = Plain {
        custom_instructions: false,
        digit_token: false,
        minutes: 5,
        digits: 6,
    };
    let valid = PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        digit_token_duration_minutes: Some(10),
        digit_token_length: Some(8),
        ..Default::default()
    };
    let invalid = PasswordOrgConfigInput {
        digit_token_duration_minutes: Some(0),
        digit_token_length: Some(20),
        ..Default::default()
    };

    let mut group = c.benchmark_group("org_config");
    group.bench_function("baseline_plain_update", |b| {
        b.iter(|| black_box(plain).update(black_box(&valid)));
    });
    group.bench_function("update_valid", |b| {
        b.iter(|| black_box(&config).update(black_box(&valid)).unwrap());
    });
    group.bench_function("update_two_violations", |b| {
        b.iter(|| black_box(&config).update(black_box(&invalid)).unwrap_err());
    });
    group.finish();
}

fn request(c: &mut Criterion) {
    let input = PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        ..Default::default()
    };
    let org = PasswordOrgConfig::new(&input).unwrap();
    let plain = Plain {
        custom_instructions: false,
        digit_token: true,
        minutes: 5,
        digits: 6,
    };
    let request = DigitTokenRequest {
        user_id: "Abby.Smith",
        length: Some(8),
        duration_minutes: None,
    };

    let mut group = c.benchmark_group("request");
    group.bench_function("baseline_plain_resolve", |b| {
        b.iter(|| black_box(plain).resolve(black_box(&request)));
    });
    group.bench_function("resolve", |b| {
        b.iter(|| black_box(&request).resolve(black_box(&org)).unwrap());
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = org_config, request
}
criterion_main!(benches);
