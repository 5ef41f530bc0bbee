//! `PasswordPolicy::from_lines` on arbitrary lines, and `check` / `check_with` on arbitrary
//! passwords and context.
//!
//! Input (lossy UTF-8): sections separated by NUL: policy lines (separated by `\n`),
//! password, special characters (empty: the default), account id, display name (absent
//! sections: none). The lines are parsed as given (anything a server could send); then the
//! well-formed lines of countable rules among them (first of each name, value a whole
//! number) are parsed again on their own, and that policy's verdict is compared with a
//! small model written from the module docs (lengths in `char`s, Unicode classes, ASCII
//! punctuation as special).
//!
//! Properties: parsing is total and does not depend on line order for success; every
//! malformed line is quoted as given; checking is deterministic, `is_ok` agrees with
//! `broken`, and every name reported as not checked comes from the policy; for the
//! structured policy, validity and the broken rules (with their counts) agree with the
//! model.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::{Error, PasswordPolicy, PolicyContext, PolicyError, Requirement};

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
    let special = sections.next().filter(|s| !s.is_empty());
    let context = PolicyContext {
        account_id: sections.next(),
        display_name: sections.next(),
    };
    free_lines(&lines, password, &context);
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

fn free_lines(lines: &[String], password: &str, context: &PolicyContext<'_>) {
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
            for gap in policy.weaker_than_nist() {
                assert!(!gap.to_string().is_empty());
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
    let conflict = get(Rule::MaxLength).is_some_and(|max| {
        let min = |r| get(r).unwrap_or(0);
        let letters = min(Rule::MinAlpha).max(min(Rule::MinUpper) + min(Rule::MinLower));
        min(Rule::MinLength) > max
            || letters + min(Rule::MinNumeric) + min(Rule::MinSpecial) > max
            || min(Rule::MinCharType) > max
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
    let special_set = special.unwrap_or(PasswordPolicy::DEFAULT_SPECIAL);
    let policy = match special {
        Some(chars) => policy.with_special_chars(chars),
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
    let mut sorted = policy_rules.clone();
    sorted.sort_unstable();
    let expected: Vec<(&str, Requirement)> = sorted
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
