//! Password-policy pre-checks: parse the `policies` lines of "query password info" into a
//! [`PasswordPolicy`] and check a candidate password before it is encrypted and sent.
//!
//! The server has the last word; this lets a client tell the user every problem at once
//! instead of one round trip per problem, and says which rules it could not check.
//!
//! # Definitions
//! A password is counted in Unicode scalar values (Rust `char`s), not bytes: `"Pä🔑"` has
//! length 3. Classes follow Unicode properties, as Rust's `char` methods implement them:
//!
//! | class | rule | test | examples |
//! |---|---|---|---|
//! | letter | `passwordMinAlpha` | `char::is_alphabetic` (Alphabetic property) | `a`, `Ä`, `ß`, `密` |
//! | upper case | `passwordMinUpper` | `char::is_uppercase` (Uppercase property) | `A`, `Ä`; not `ǅ` (title case) |
//! | lower case | `passwordMinLower` | `char::is_lowercase` (Lowercase property) | `a`, `ß`; not `密` (no case) |
//! | digit | `passwordMinNumeric` | `char::is_numeric` (categories Nd, Nl, No) | `7`, `١` (Arabic-Indic one), `½` |
//! | special | `passwordMinSpecial` | in the special set: ASCII punctuation by default | `!`, `#`, `~`; not space, not `€` |
//!
//! `passwordMinCharType` counts how many of the four types upper case, lower case, digit and
//! special occur at least once. A letter without case (`密`) counts as a letter but as none
//! of those four. `passwordRepeatedChar` N refuses a run of the same character longer than
//! N: with N = 3, `aaa` passes and `aaaa` fails.
//!
//! With context ([`PolicyContext`]): `checkPasswordAgainstAccountID` and
//! `checkPasswordAgainstDisplayName` refuse a password that contains the account id or
//! display name; `minAccountIDUniqueChars` N and `minDisplayNameUniqueChars` N require N
//! distinct characters of the password that do not occur in the account id (display name).
//! These comparisons ignore case (Unicode lower-casing) unless `checkCaseSensitive` is true.
//!
//! Rules that need server state (`passwordHistory`, `minHistoryUniqueChars`,
//! `checkPasswordsAgainstDictionary`, `checkPasswordsAgainstIdentityAttributes`,
//! `checkPasswordsAgainstAccountAttributes`, `checkPasswordTriviality`), unknown rules, and
//! context rules checked without their context are reported as not checked: the server may
//! still refuse a password that passes here.
//!
//! ```
//! use password_mgmt::PasswordPolicy;
//!
//! let policy = PasswordPolicy::from_lines([
//!     "passwordRepeatedChar is 3",
//!     "passwordMinAlpha is 1",
//!     "passwordMinLength is 5",
//!     "passwordMinNumeric is 1",
//!     "passwordHistory is 10",
//! ])?;
//! let report = policy.check("aaaa1");
//! assert!(!report.is_ok());
//! assert_eq!(report.broken()[0].to_string(), "passwordRepeatedChar: a run of at most 3 of the same character allowed, found 4");
//! assert_eq!(report.not_checked(), ["passwordHistory"]);
//! assert!(policy.check("abc12345").is_ok());
//! # Ok::<(), password_mgmt::Error>(())
//! ```

use alloc::borrow::ToOwned;
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{Error, PolicyError, PolicyErrors};

/// A rule that can be checked from the password (and, for some, its context).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Known {
    MinLength,
    MaxLength,
    MinAlpha,
    MinNumeric,
    MinUpper,
    MinLower,
    MinSpecial,
    MinCharType,
    RepeatedChar,
    AgainstAccountId,
    AgainstDisplayName,
    MinAccountIdUniqueChars,
    MinDisplayNameUniqueChars,
    CaseSensitive,
}

impl Known {
    const ALL: [(Self, &'static str); 14] = [
        (Self::MinLength, "passwordMinLength"),
        (Self::MaxLength, "passwordMaxLength"),
        (Self::MinAlpha, "passwordMinAlpha"),
        (Self::MinNumeric, "passwordMinNumeric"),
        (Self::MinUpper, "passwordMinUpper"),
        (Self::MinLower, "passwordMinLower"),
        (Self::MinSpecial, "passwordMinSpecial"),
        (Self::MinCharType, "passwordMinCharType"),
        (Self::RepeatedChar, "passwordRepeatedChar"),
        (Self::AgainstAccountId, "checkPasswordAgainstAccountID"),
        (Self::AgainstDisplayName, "checkPasswordAgainstDisplayName"),
        (Self::MinAccountIdUniqueChars, "minAccountIDUniqueChars"),
        (Self::MinDisplayNameUniqueChars, "minDisplayNameUniqueChars"),
        (Self::CaseSensitive, "checkCaseSensitive"),
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, n)| n)
    }

    const fn is_flag(self) -> bool {
        matches!(
            self,
            Self::AgainstAccountId | Self::AgainstDisplayName | Self::CaseSensitive
        )
    }

    /// The largest value accepted for a count rule.
    const fn max_count(self) -> u32 {
        match self {
            Self::MinCharType => 4,
            _ => PasswordPolicy::MAX_COUNT,
        }
    }

    /// The smallest value accepted (a maximum length or run of 0 would admit nothing).
    const fn min_count(self) -> u32 {
        match self {
            Self::MaxLength | Self::RepeatedChar => 1,
            _ => 0,
        }
    }
}

/// Rules that need server state; parsed, and reported as not checked.
const SERVER_SIDE: [&str; 6] = [
    "passwordHistory",
    "minHistoryUniqueChars",
    "checkPasswordsAgainstDictionary",
    "checkPasswordsAgainstIdentityAttributes",
    "checkPasswordsAgainstAccountAttributes",
    "checkPasswordTriviality",
];

/// An org's password policy, parsed from the `NAME is VALUE` lines of "query password info".
///
/// See the [module docs](self) for what each rule means here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Known rules and their values (flags as 0 or 1), in name order.
    rules: Vec<(Known, u32)>,
    /// Lines whose rule this crate does not check, as `(name, value)`.
    unchecked: Vec<(String, String)>,
    special: String,
}

impl PasswordPolicy {
    /// The largest count any rule may require (longer passwords than this are absurd).
    pub const MAX_COUNT: u32 = 1024;
    /// The default special characters: ASCII punctuation.
    pub const DEFAULT_SPECIAL: &'static str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    /// Parses policy lines of the form `NAME is VALUE`.
    ///
    /// Counts are whole numbers from 0 to [`MAX_COUNT`](Self::MAX_COUNT) (at least 1 for
    /// `passwordMaxLength` and `passwordRepeatedChar`, at most 4 for
    /// `passwordMinCharType`); flags are `true` or `false` (any case). Values of rules this
    /// crate does not check are kept as text.
    ///
    /// # Errors
    /// [`Error::Policy`] listing every problem: a line without ` is `, an empty name, a
    /// value of the wrong kind or out of range, a rule given twice (each quoting its line),
    /// and rules that cannot hold together (`passwordMinLength` above `passwordMaxLength`,
    /// more required characters or types than `passwordMaxLength` allows).
    pub fn from_lines<I, S>(lines: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut problems = Vec::new();
        let mut rules: Vec<(Known, u32)> = Vec::new();
        let mut unchecked: Vec<(String, String)> = Vec::new();
        let mut seen = BTreeSet::new();
        for line in lines {
            let line = line.as_ref();
            let malformed = |reason: &'static str| PolicyError::Malformed {
                line: line.to_owned(),
                reason,
            };
            let Some((name, value)) = line.split_once(" is ") else {
                problems.push(malformed("expected `NAME is VALUE`"));
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() || value.is_empty() {
                problems.push(malformed("expected `NAME is VALUE`"));
                continue;
            }
            if !seen.insert(name.to_owned()) {
                problems.push(malformed("the rule is given more than once"));
                continue;
            }
            let parsed = match Known::from_name(name) {
                Some(rule) => parse_value(rule, value).map(|v| rules.push((rule, v))),
                // Server-side rules: checked for form, kept as not checked.
                None if SERVER_SIDE.contains(&name) => {
                    let flag = name.starts_with("check");
                    parse_number_or_flag(value, flag, 0, PasswordPolicy::MAX_COUNT)
                        .map(|_| unchecked.push((name.to_owned(), value.to_owned())))
                }
                None => {
                    unchecked.push((name.to_owned(), value.to_owned()));
                    Ok(())
                }
            };
            if let Err(reason) = parsed {
                problems.push(malformed(reason));
            }
        }
        rules.sort_unstable();
        let policy = Self {
            rules,
            unchecked,
            special: Self::DEFAULT_SPECIAL.to_owned(),
        };
        if problems.is_empty() {
            problems.extend(policy.conflicts());
        }
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(Error::Policy(PolicyErrors::new(problems)))
        }
    }

    /// This policy with `chars` as the special characters instead of ASCII punctuation.
    #[must_use]
    pub fn with_special_chars(mut self, chars: &str) -> Self {
        chars.clone_into(&mut self.special);
        self
    }

    fn get(&self, rule: Known) -> Option<u32> {
        self.rules.iter().find(|(k, _)| *k == rule).map(|&(_, v)| v)
    }

    fn flag(&self, rule: Known) -> bool {
        self.get(rule).is_some_and(|v| v != 0)
    }

    /// The rules that cannot hold together.
    fn conflicts(&self) -> Vec<PolicyError> {
        let mut found = Vec::new();
        let Some(max) = self.get(Known::MaxLength) else {
            return found;
        };
        let min = |rule| self.get(rule).unwrap_or(0);
        if min(Known::MinLength) > max {
            found.push(PolicyError::Conflict {
                rules: "passwordMinLength > passwordMaxLength",
                required: min(Known::MinLength),
                allowed: max,
            });
        }
        let letters =
            min(Known::MinAlpha).max(min(Known::MinUpper).saturating_add(min(Known::MinLower)));
        let required = letters
            .saturating_add(min(Known::MinNumeric))
            .saturating_add(min(Known::MinSpecial));
        if required > max {
            found.push(PolicyError::Conflict {
                rules: "required letters, digits and special characters > passwordMaxLength",
                required,
                allowed: max,
            });
        }
        if min(Known::MinCharType) > max {
            found.push(PolicyError::Conflict {
                rules: "passwordMinCharType > passwordMaxLength",
                required: min(Known::MinCharType),
                allowed: max,
            });
        }
        found
    }

    /// Checks a password that needs no context; context rules are reported as not checked.
    #[must_use]
    pub fn check(&self, password: &str) -> PolicyReport<'_> {
        self.check_with(password, &PolicyContext::default())
    }

    /// Checks a password, with the account id and display name where known.
    #[must_use]
    pub fn check_with(&self, password: &str, context: &PolicyContext<'_>) -> PolicyReport<'_> {
        let stats = Stats::of(password, &self.special);
        let mut broken = Vec::new();
        let mut not_checked: Vec<&str> = self.unchecked.iter().map(|(n, _)| n.as_str()).collect();
        let case_sensitive = self.flag(Known::CaseSensitive);
        for &(rule, value) in &self.rules {
            let at_least = |found: u32| {
                (found < value).then_some(Requirement::AtLeast {
                    required: value,
                    found,
                })
            };
            let result = match rule {
                Known::MinLength => at_least(stats.length),
                Known::MaxLength => (stats.length > value).then_some(Requirement::AtMost {
                    allowed: value,
                    found: stats.length,
                }),
                Known::MinAlpha => at_least(stats.letters),
                Known::MinNumeric => at_least(stats.digits),
                Known::MinUpper => at_least(stats.upper),
                Known::MinLower => at_least(stats.lower),
                Known::MinSpecial => at_least(stats.special),
                Known::MinCharType => at_least(stats.types()),
                Known::RepeatedChar => {
                    (stats.longest_run > value).then_some(Requirement::RunAtMost {
                        allowed: value,
                        found: stats.longest_run,
                    })
                }
                Known::CaseSensitive => None,
                Known::AgainstAccountId
                | Known::AgainstDisplayName
                | Known::MinAccountIdUniqueChars
                | Known::MinDisplayNameUniqueChars => {
                    let other = if matches!(
                        rule,
                        Known::AgainstAccountId | Known::MinAccountIdUniqueChars
                    ) {
                        context.account_id
                    } else {
                        context.display_name
                    };
                    match other {
                        None if value != 0 => {
                            not_checked.push(rule.name());
                            None
                        }
                        None => None,
                        Some(other) if rule.is_flag() => (value != 0
                            && contains(password, other, case_sensitive))
                        .then_some(Requirement::MustNotContain),
                        Some(other) => {
                            let found = unique_chars_not_in(password, other, case_sensitive);
                            at_least(found)
                        }
                    }
                }
            };
            if let Some(requirement) = result {
                broken.push(BrokenRule {
                    rule: rule.name(),
                    requirement,
                });
            }
        }
        PolicyReport {
            broken,
            not_checked,
        }
    }

    /// Where this policy is weaker than the NIST SP 800-63B baseline for passwords a user
    /// chooses: at least 8 characters required, at least 64 allowed, no composition rules
    /// (SP 800-63B section 5.1.1.2). Empty when it is not weaker. This crate never
    /// truncates a password, so the baseline's third point holds here by construction.
    #[must_use]
    pub fn weaker_than_nist(&self) -> Vec<NistGap> {
        let mut gaps = Vec::new();
        let min = self.get(Known::MinLength).unwrap_or(0);
        if min < 8 {
            gaps.push(NistGap::MinLengthBelow8 { min_length: min });
        }
        if let Some(max) = self.get(Known::MaxLength).filter(|&m| m < 64) {
            gaps.push(NistGap::MaxLengthBelow64 { max_length: max });
        }
        let composition: Vec<&'static str> = self
            .rules
            .iter()
            .filter(|&&(rule, v)| {
                v > 0
                    && matches!(
                        rule,
                        Known::MinAlpha
                            | Known::MinNumeric
                            | Known::MinUpper
                            | Known::MinLower
                            | Known::MinSpecial
                            | Known::MinCharType
                    )
            })
            .map(|&(rule, _)| rule.name())
            .collect();
        if !composition.is_empty() {
            gaps.push(NistGap::CompositionRules(composition));
        }
        gaps
    }
}

/// Parses the value of a known rule.
fn parse_value(rule: Known, value: &str) -> Result<u32, &'static str> {
    parse_number_or_flag(value, rule.is_flag(), rule.min_count(), rule.max_count())
}

/// Parses `true`/`false` (any case) as 1/0 when `flag`, else a whole number in `min..=max`.
fn parse_number_or_flag(value: &str, flag: bool, min: u32, max: u32) -> Result<u32, &'static str> {
    if flag {
        return if value.eq_ignore_ascii_case("true") {
            Ok(1)
        } else if value.eq_ignore_ascii_case("false") {
            Ok(0)
        } else {
            Err("expected true or false")
        };
    }
    let out_of_range = match (min, max) {
        (0, 4) => "expected a whole number from 0 to 4",
        (1, _) => "expected a whole number from 1 to 1024",
        _ => "expected a whole number from 0 to 1024",
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(out_of_range);
    }
    value
        .parse::<u32>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or(out_of_range)
}

/// Whether `haystack` contains `needle`, ignoring case unless `case_sensitive`.
fn contains(haystack: &str, needle: &str, case_sensitive: bool) -> bool {
    if needle.is_empty() {
        return false;
    }
    if case_sensitive {
        haystack.contains(needle)
    } else {
        haystack.to_lowercase().contains(&needle.to_lowercase())
    }
}

/// The number of distinct characters of `password` that do not occur in `other`.
fn unique_chars_not_in(password: &str, other: &str, case_sensitive: bool) -> u32 {
    let fold = |s: &str| -> BTreeSet<char> {
        if case_sensitive {
            s.chars().collect()
        } else {
            s.chars().flat_map(char::to_lowercase).collect()
        }
    };
    let other = fold(other);
    let count = fold(password).difference(&other).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Counts over a password.
#[derive(Default)]
struct Stats {
    length: u32,
    letters: u32,
    digits: u32,
    upper: u32,
    lower: u32,
    special: u32,
    longest_run: u32,
}

impl Stats {
    fn of(password: &str, special: &str) -> Self {
        let mut s = Self::default();
        let mut previous = None;
        let mut run = 0u32;
        for c in password.chars() {
            let bump = |n: &mut u32, yes: bool| *n = n.saturating_add(u32::from(yes));
            bump(&mut s.length, true);
            bump(&mut s.letters, c.is_alphabetic());
            bump(&mut s.digits, c.is_numeric());
            bump(&mut s.upper, c.is_uppercase());
            bump(&mut s.lower, c.is_lowercase());
            bump(&mut s.special, special.contains(c));
            run = if previous == Some(c) {
                run.saturating_add(1)
            } else {
                1
            };
            s.longest_run = s.longest_run.max(run);
            previous = Some(c);
        }
        s
    }

    /// How many of upper case, lower case, digit and special occur.
    fn types(&self) -> u32 {
        [self.upper, self.lower, self.digits, self.special]
            .iter()
            .map(|&n| u32::from(n > 0))
            .sum()
    }
}

/// What a context rule compares the password with. Leave a field `None` when unknown; the
/// rules that need it are then reported as not checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyContext<'a> {
    /// The account id the password is for (`checkPasswordAgainstAccountID`,
    /// `minAccountIDUniqueChars`).
    pub account_id: Option<&'a str>,
    /// The user's display name (`checkPasswordAgainstDisplayName`,
    /// `minDisplayNameUniqueChars`).
    pub display_name: Option<&'a str>,
}

/// The result of [`PasswordPolicy::check`]: every rule the password breaks, and the rules
/// that were not checked. It describes the password by counts only, never by its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyReport<'p> {
    broken: Vec<BrokenRule>,
    not_checked: Vec<&'p str>,
}

impl PolicyReport<'_> {
    /// Whether no checked rule is broken. The rules in
    /// [`not_checked`](Self::not_checked) may still refuse the password on the server.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.broken.is_empty()
    }

    /// Every rule the password breaks, in a fixed order: length, classes, types, runs,
    /// context.
    #[must_use]
    pub fn broken(&self) -> &[BrokenRule] {
        &self.broken
    }

    /// The names of rules that were not checked: they need server state, they are unknown
    /// to this crate, or they need context that was not given.
    #[must_use]
    pub fn not_checked(&self) -> &[&str] {
        &self.not_checked
    }
}

/// One rule a password breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenRule {
    rule: &'static str,
    requirement: Requirement,
}

impl BrokenRule {
    /// The rule's name, as in the policy line (e.g. `passwordMinUpper`).
    #[must_use]
    pub const fn rule(&self) -> &'static str {
        self.rule
    }

    /// What the rule requires and what the password had.
    #[must_use]
    pub const fn requirement(&self) -> Requirement {
        self.requirement
    }
}

impl fmt::Display for BrokenRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.rule)?;
        match self.requirement {
            Requirement::AtLeast { required, found } => {
                write!(f, "at least {required} required, found {found}")
            }
            Requirement::AtMost { allowed, found } => {
                write!(f, "at most {allowed} allowed, found {found}")
            }
            Requirement::RunAtMost { allowed, found } => write!(
                f,
                "a run of at most {allowed} of the same character allowed, found {found}"
            ),
            Requirement::MustNotContain => f.write_str("the password must not contain it"),
        }
    }
}

/// What a broken rule requires, and what the password had.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Requirement {
    /// At least `required` (characters, characters of a class, types, unique characters).
    AtLeast {
        /// The rule's value.
        required: u32,
        /// The password's count.
        found: u32,
    },
    /// At most `allowed` characters.
    AtMost {
        /// The rule's value.
        allowed: u32,
        /// The password's length.
        found: u32,
    },
    /// No run of the same character longer than `allowed`.
    RunAtMost {
        /// The rule's value.
        allowed: u32,
        /// The password's longest run.
        found: u32,
    },
    /// The password contains the account id or display name.
    MustNotContain,
}

/// Where a policy is weaker than the NIST SP 800-63B baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NistGap {
    /// Fewer than 8 characters are required (0 when the policy sets no minimum).
    MinLengthBelow8 {
        /// The policy's `passwordMinLength`.
        min_length: u32,
    },
    /// Fewer than 64 characters are allowed.
    MaxLengthBelow64 {
        /// The policy's `passwordMaxLength`.
        max_length: u32,
    },
    /// The policy imposes composition rules, which SP 800-63B says verifiers should not.
    CompositionRules(Vec<&'static str>),
}

impl fmt::Display for NistGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MinLengthBelow8 { min_length } => write!(
                f,
                "passwordMinLength is {min_length}; NIST SP 800-63B requires at least 8"
            ),
            Self::MaxLengthBelow64 { max_length } => write!(
                f,
                "passwordMaxLength is {max_length}; NIST SP 800-63B requires allowing at least 64"
            ),
            Self::CompositionRules(rules) => write!(
                f,
                "composition rules ({}); NIST SP 800-63B says not to impose them",
                rules.join(", ")
            ),
        }
    }
}
