//! `PasswordPolicy::from_lines` on arbitrary lines, and `check` / `check_with` on arbitrary
//! passwords and context.
//!
//! Input (lossy UTF-8): sections separated by NUL: policy lines (separated by `\n`),
//! password, special characters (absent or empty: the default; exactly `\x01`: no special
//! characters), account id, display name (absent sections: none). The lines are parsed as
//! given (anything a server could send); then the well-formed lines of countable rules
//! among them (first of each name, value a whole number) are parsed again on their own,
//! and that policy's verdict is compared with a small model written from the module docs
//! (lengths in `char`s, Unicode classes, ASCII punctuation as special). A transport size
//! from 0 to 4199 bytes is derived from the input bytes.
//!
//! Properties: parsing is total and does not depend on line order for success; every
//! malformed line is quoted as given; a policy accepted never has a unique-characters rule
//! (`minAccountIDUniqueChars`, `minDisplayNameUniqueChars`, `minHistoryUniqueChars`)
//! above its `passwordMaxLength`; checking is deterministic, `is_ok` agrees with `broken`,
//! and every name reported as not checked comes from the policy; `transport_gap` agrees
//! with a direct computation (4 bytes per character), and without a gap every password the
//! policy accepts fits the transport; for the structured policy, validity (including the
//! types that fit the maximum length and the special set), the NIST SP 800-63B-4 gaps for
//! both uses, and the broken rules (with their counts) agree with the model.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::policy::PasswordUse;
use password_mgmt::{Error, NistGap, PasswordPolicy, PolicyContext, PolicyError, Requirement};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    MinLength,
    MaxLength,
    MinAlpha,
    MinNumeric,
    MinUpper,
    MinLower,
    MinSpecial,
    MinCharType,
    RepeatedChar,
}

impl Rule {
    const ALL: [Self; 9] = [
        Self::MinLength,
        Self::MaxLength,
        Self::MinAlpha,
        Self::MinNumeric,
        Self::MinUpper,
        Self::MinLower,
        Self::MinSpecial,
        Self::MinCharType,
        Self::RepeatedChar,
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    const fn name(self) -> &'static str {
        match self {
            Self::MinLength => "passwordMinLength",
            Self::MaxLength => "passwordMaxLength",
            Self::MinAlpha => "passwordMinAlpha",
            Self::MinNumeric => "passwordMinNumeric",
            Self::MinUpper => "passwordMinUpper",
            Self::MinLower => "passwordMinLower",
            Self::MinSpecial => "passwordMinSpecial",
            Self::MinCharType => "passwordMinCharType",
            Self::RepeatedChar => "passwordRepeatedChar",
        }
    }

    const fn range(self) -> (u32, u32) {
        match self {
            Self::MaxLength | Self::RepeatedChar => (1, 1024),
            Self::MinCharType => (0, 4),
            _ => (0, 1024),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sections = text.split('\0');
    let lines: Vec<String> = sections
        .next()
        .unwrap_or_default()
        .split('\n')
        .map(str::to_owned)
        .collect();
    let password = sections.next().unwrap_or_default();
    let special = sections
        .next()
        .filter(|s| !s.is_empty())
        .map(|s| if s == "\u{1}" { "" } else { s });
    let context = PolicyContext {
        account_id: sections.next(),
        display_name: sections.next(),
    };
    let transport = data
        .iter()
        .fold(0usize, |a, &b| a.wrapping_mul(31).wrapping_add(b.into()))
        % 4200;
    free_lines(&lines, password, &context, transport);
    let rules: Vec<(Rule, u32)> = lines
        .iter()
        .filter_map(|line| {
            let (name, value) = line.split_once(" is ")?;
            let value = value.trim();
            if value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((Rule::from_name(name.trim())?, value.parse().ok()?))
        })
        .collect();
    structured(&rules, password, special);
});

/// The value of the first line named `name`, as a number.
fn value_of(lines: &[String], name: &str) -> Option<u32> {
    lines
        .iter()
        .filter_map(|l| l.split_once(" is "))
        .find(|(n, _)| n.trim() == name)
        .and_then(|(_, v)| v.trim().parse().ok())
}

fn free_lines(lines: &[String], password: &str, context: &PolicyContext<'_>, transport: usize) {
    let parsed = PasswordPolicy::from_lines(lines);
    let reversed = PasswordPolicy::from_lines(lines.iter().rev());
    assert_eq!(
        parsed.is_ok(),
        reversed.is_ok(),
        "success depends on line order"
    );
    match parsed {
        Ok(policy) => {
            let report = policy.check_with(password, context);
            assert_eq!(report, policy.check_with(password, context));
            assert_eq!(report.is_ok(), report.broken().is_empty());
            let names: Vec<&str> = lines
                .iter()
                .filter_map(|l| l.split_once(" is ").map(|(n, _)| n.trim()))
                .collect();
            for name in report.not_checked() {
                assert!(
                    names.contains(name),
                    "{name} reported but not in the policy"
                );
            }
            for broken in report.broken() {
                assert!(names.contains(&broken.rule()));
                assert!(broken.to_string().starts_with(broken.rule()));
            }
            for use_ in [PasswordUse::SingleFactor, PasswordUse::MultiFactor] {
                for gap in policy.weaker_than_nist(use_) {
                    assert!(gap.to_string().contains("NIST SP 800-63B-4"));
                }
            }
            let max = value_of(lines, "passwordMaxLength");
            if let Some(max) = max {
                for name in [
                    "minAccountIDUniqueChars",
                    "minDisplayNameUniqueChars",
                    "minHistoryUniqueChars",
                ] {
                    let unique = value_of(lines, name).unwrap_or(0);
                    assert!(unique <= max, "accepted {name} {unique} > max {max}");
                }
            }
            let expected_gap = max.is_none_or(|m| m as usize * 4 > transport);
            match policy.transport_gap(transport) {
                Some(gap) => {
                    assert!(expected_gap, "gap for max {max:?} in {transport} bytes");
                    assert_eq!(gap.max_length(), max);
                    assert_eq!(gap.max_password_bytes(), transport);
                    assert_eq!(gap.guaranteed_chars(), transport / 4);
                    assert_eq!(gap.ascii_chars(), transport);
                    assert!(!gap.to_string().is_empty());
                }
                None => {
                    assert!(!expected_gap, "no gap for max {max:?} in {transport} bytes");
                    if policy.check(password).is_ok() {
                        assert!(password.len() <= transport, "accepted but does not fit");
                    }
                }
            }
        }
        Err(Error::Policy(problems)) => {
            assert!(!problems.as_slice().is_empty());
            for problem in problems.as_slice() {
                if let PolicyError::Malformed { line, .. } = problem {
                    assert!(
                        lines.contains(line),
                        "a malformed line was not quoted as given"
                    );
                }
            }
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

fn structured(rules: &[(Rule, u32)], password: &str, special: Option<&str>) {
    let mut policy_rules: Vec<(Rule, u32)> = Vec::new();
    for &(rule, value) in rules {
        if policy_rules.iter().all(|(r, _)| *r != rule) {
            policy_rules.push((rule, value));
        }
    }
    let lines: Vec<String> = policy_rules
        .iter()
        .map(|(r, v)| format!("{} is {v}", r.name()))
        .collect();
    let get = |rule| {
        policy_rules
            .iter()
            .find(|(r, _)| *r == rule)
            .map(|&(_, v)| v)
    };
    let in_range = policy_rules.iter().all(|&(r, v)| {
        let (min, max) = r.range();
        (min..=max).contains(&v)
    });
    let min = |r| get(r).unwrap_or(0);
    let conflict = in_range
        && get(Rule::MaxLength).is_some_and(|max| {
            let letters = min(Rule::MinAlpha).max(min(Rule::MinUpper) + min(Rule::MinLower));
            let required = letters + min(Rule::MinNumeric) + min(Rule::MinSpecial);
            min(Rule::MinLength) > max
                || required > max
                || min(Rule::MinCharType) > max
                || shortest_with_types(&get) > max
        });
    let policy = match PasswordPolicy::from_lines(&lines) {
        Ok(policy) => {
            assert!(in_range && !conflict, "accepted: {lines:?}");
            policy
        }
        Err(Error::Policy(_)) => {
            assert!(!in_range || conflict, "refused: {lines:?}");
            return;
        }
        Err(other) => panic!("unexpected error {other}"),
    };
    for use_ in [PasswordUse::SingleFactor, PasswordUse::MultiFactor] {
        let gaps = policy.weaker_than_nist(use_);
        let short = min(Rule::MinLength) < use_.nist_min_length();
        let long = get(Rule::MaxLength).is_some_and(|m| m < 64);
        let composition: Vec<&str> = sorted_rules(&policy_rules)
            .iter()
            .filter(|&&(r, v)| {
                v > 0
                    && matches!(
                        r,
                        Rule::MinAlpha
                            | Rule::MinNumeric
                            | Rule::MinUpper
                            | Rule::MinLower
                            | Rule::MinSpecial
                            | Rule::MinCharType
                    )
            })
            .map(|(r, _)| r.name())
            .collect();
        let mut expected = Vec::new();
        if short {
            expected.push(NistGap::MinLengthTooShort {
                password_use: use_,
                required: use_.nist_min_length(),
                min_length: min(Rule::MinLength),
            });
        }
        if let Some(max_length) = get(Rule::MaxLength).filter(|_| long) {
            expected.push(NistGap::MaxLengthBelow64 { max_length });
        }
        if !composition.is_empty() {
            expected.push(NistGap::CompositionRules(composition));
        }
        // The structured lines never ask for the blocklist check.
        expected.push(NistGap::NoBlocklistCheck);
        assert_eq!(gaps, expected, "policy {lines:?}");
    }
    let special_set = special.unwrap_or(PasswordPolicy::DEFAULT_SPECIAL);
    let policy = match special {
        Some(chars) => {
            let needs_special = min(Rule::MinSpecial) > 0 || min(Rule::MinCharType) == 4;
            match policy.with_special_chars(chars) {
                Ok(policy) => {
                    assert!(!(chars.is_empty() && needs_special), "accepted: {lines:?}");
                    policy
                }
                Err(Error::Policy(problems)) => {
                    assert!(chars.is_empty() && needs_special, "refused: {lines:?}");
                    for problem in problems.as_slice() {
                        assert!(
                            matches!(problem, PolicyError::EmptySpecialSet { .. }),
                            "{problem}"
                        );
                    }
                    return;
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        None => policy,
    };

    // The model.
    let count = |f: &dyn Fn(char) -> bool| -> u32 {
        u32::try_from(password.chars().filter(|&c| f(c)).count()).unwrap()
    };
    let length = count(&|_| true);
    let letters = count(&|c| c.is_alphabetic());
    let digits = count(&|c| c.is_numeric());
    let upper = count(&|c| c.is_uppercase());
    let lower = count(&|c| c.is_lowercase());
    let specials = count(&|c| special_set.contains(c));
    let types = [upper, lower, digits, specials]
        .iter()
        .filter(|&&n| n > 0)
        .count();
    let types = u32::try_from(types).unwrap();
    let mut longest = 0u32;
    let mut run = 0u32;
    let mut previous = None;
    for c in password.chars() {
        run = if previous == Some(c) { run + 1 } else { 1 };
        longest = longest.max(run);
        previous = Some(c);
    }
    let expected: Vec<(&str, Requirement)> = sorted_rules(&policy_rules)
        .iter()
        .filter_map(|&(rule, value)| {
            let at_least = |found: u32| {
                (found < value).then_some(Requirement::AtLeast {
                    required: value,
                    found,
                })
            };
            let requirement = match rule {
                Rule::MinLength => at_least(length),
                Rule::MaxLength => (length > value).then_some(Requirement::AtMost {
                    allowed: value,
                    found: length,
                }),
                Rule::MinAlpha => at_least(letters),
                Rule::MinNumeric => at_least(digits),
                Rule::MinUpper => at_least(upper),
                Rule::MinLower => at_least(lower),
                Rule::MinSpecial => at_least(specials),
                Rule::MinCharType => at_least(types),
                Rule::RepeatedChar => (longest > value).then_some(Requirement::RunAtMost {
                    allowed: value,
                    found: longest,
                }),
            };
            requirement.map(|r| (rule.name(), r))
        })
        .collect();
    let report = policy.check(password);
    let found: Vec<(&str, Requirement)> = report
        .broken()
        .iter()
        .map(|b| (b.rule(), b.requirement()))
        .collect();
    assert_eq!(found, expected, "policy {lines:?}");
    assert!(report.not_checked().is_empty());
}

fn sorted_rules(rules: &[(Rule, u32)]) -> Vec<(Rule, u32)> {
    let mut sorted = rules.to_vec();
    sorted.sort_unstable();
    sorted
}

/// The shortest password with the required characters and `passwordMinCharType` types,
/// by brute force over how many upper, lower, caseless, digit and special characters it
/// has (each up to the largest requirement plus one; enough, since one character of a
/// type is all a missing type needs, and letters beyond the upper and lower ones are
/// cheapest as upper or lower case).
fn shortest_with_types(get: &dyn Fn(Rule) -> Option<u32>) -> u32 {
    let min = |r| get(r).unwrap_or(0);
    let types = min(Rule::MinCharType);
    if types == 0 {
        return 0;
    }
    let (alpha, upper, lower) = (
        min(Rule::MinAlpha),
        min(Rule::MinUpper),
        min(Rule::MinLower),
    );
    let (digits, special) = (min(Rule::MinNumeric), min(Rule::MinSpecial));
    let mut best = u32::MAX;
    // Candidate counts per class: the requirement, or one more when it is 0 (to add the
    // type), or the letters' surplus given to this case.
    let surplus = alpha.saturating_sub(upper + lower);
    let cand = |req: u32| if req == 0 { vec![0, 1] } else { vec![req] };
    for u in cand(upper).into_iter().chain([upper + surplus]) {
        for l in cand(lower).into_iter().chain([lower + surplus]) {
            for d in cand(digits) {
                for s in cand(special) {
                    let letters = u + l;
                    let caseless = alpha.saturating_sub(letters);
                    let present = [u, l, d, s].iter().filter(|&&n| n > 0).count() as u32;
                    if present >= types {
                        best = best.min(letters + caseless + d + s);
                    }
                }
            }
        }
    }
    best
}
