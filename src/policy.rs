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
//! # Policies that cannot be met
//! [`PasswordPolicy::from_lines`] refuses a policy no password can satisfy, listing every
//! conflict with the rules and numbers: a minimum length, the required characters
//! (letters, digits, special), the required character types (with the characters they
//! need), or `minAccountIDUniqueChars`, `minDisplayNameUniqueChars` or the server-side
//! `minHistoryUniqueChars` above `passwordMaxLength`.
//! [`with_special_chars`](PasswordPolicy::with_special_chars) refuses an empty special set
//! while a rule needs a special character.
//!
//! # Policy checks: NIST SP 800-63B-4 and the transport
//! [`PasswordPolicy::weaker_than_nist`] lists where a policy falls short of NIST SP
//! 800-63B-4 (revision 4, final August 2025), section 3.1.1.2 "Password Verifiers", for a
//! [`PasswordUse`]: at least 15 characters for a single-factor password and 8 within
//! multi-factor authentication, at least 64 permitted, no composition rules, and a
//! blocklist check, which only the server can do. [`PasswordPolicy::transport_gap`] says
//! whether the longest password the policy allows fits the bytes an encryption key
//! carries: 64 characters can take 256 bytes of UTF-8, and RSA-2048 with OAEP-SHA256
//! carries 190.
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

pub use crate::broken_rule::{BrokenRule, BrokenRules, Requirement};
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

impl Default for PasswordPolicy {
    /// A policy with no rule (every password passes; `checkPasswordsAgainstDictionary` is
    /// not asked for, so [`weaker_than_nist`](Self::weaker_than_nist) reports it).
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            unchecked: Vec::new(),
            special: Self::DEFAULT_SPECIAL.to_owned(),
        }
    }
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
    /// and every set of rules that cannot hold together, each as a
    /// [`PolicyError::Conflict`] naming the rules, what they require and what
    /// `passwordMaxLength` allows: `passwordMinLength` above it; more required letters,
    /// digits and special characters; a `passwordMinCharType` above it, or one that the
    /// required characters plus one character for each further type exceed (upper 4 and
    /// lower 4 fill a maximum of 8, so 3 types cannot fit); `minAccountIDUniqueChars`,
    /// `minDisplayNameUniqueChars` or `minHistoryUniqueChars` above it.
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

    /// This policy with `chars` as the special characters (`passwordMinSpecial`, and the
    /// special type of `passwordMinCharType`) instead of ASCII punctuation.
    ///
    /// ```
    /// use password_mgmt::PasswordPolicy;
    ///
    /// let euro = PasswordPolicy::from_lines(["passwordMinSpecial is 1"])?.with_special_chars("€")?;
    /// assert!(euro.check("a€").is_ok());
    /// assert!(!euro.check("a!").is_ok());
    /// // An empty set is fine as long as no rule asks for a special character.
    /// assert!(PasswordPolicy::from_lines(["passwordMinCharType is 3"])?.with_special_chars("").is_ok());
    /// assert!(PasswordPolicy::from_lines(["passwordMinCharType is 4"])?.with_special_chars("").is_err());
    /// # Ok::<(), password_mgmt::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Policy`] when the rules cannot hold together with this set: an empty set
    /// while `passwordMinSpecial` is above 0 or `passwordMinCharType` is 4
    /// ([`PolicyError::EmptySpecialSet`], one for each such rule).
    pub fn with_special_chars(mut self, chars: &str) -> Result<Self, Error> {
        chars.clone_into(&mut self.special);
        let conflicts = self.conflicts();
        if conflicts.is_empty() {
            Ok(self)
        } else {
            Err(Error::Policy(PolicyErrors::new(conflicts)))
        }
    }

    fn get(&self, rule: Known) -> Option<u32> {
        self.rules.iter().find(|(k, _)| *k == rule).map(|&(_, v)| v)
    }

    fn flag(&self, rule: Known) -> bool {
        self.get(rule).is_some_and(|v| v != 0)
    }

    /// The value of a server-side count rule (parsed for form when the policy was built).
    fn server_side_count(&self, name: &str) -> Option<u32> {
        self.unchecked
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// The rules that cannot hold together, in a fixed order: length, classes, types,
    /// unique characters, then the special set.
    fn conflicts(&self) -> Vec<PolicyError> {
        let mut found = Vec::new();
        let min = |rule| self.get(rule).unwrap_or(0);
        let no_specials = self.special.is_empty();
        if no_specials {
            for rule in [Known::MinSpecial, Known::MinCharType] {
                let required = min(rule);
                // Without special characters three types remain: upper, lower, digit.
                if (rule == Known::MinSpecial && required > 0) || required > 3 {
                    found.push(PolicyError::EmptySpecialSet {
                        rule: rule.name(),
                        required,
                    });
                }
            }
        }
        let Some(max) = self.get(Known::MaxLength) else {
            return found;
        };
        let mut length = Vec::new();
        let mut exceeds = |rules: &'static str, required: u32| {
            if required > max {
                length.push(PolicyError::Conflict {
                    rules,
                    required,
                    allowed: max,
                });
            }
        };
        exceeds(
            "passwordMinLength > passwordMaxLength",
            min(Known::MinLength),
        );
        let (upper, lower) = (min(Known::MinUpper), min(Known::MinLower));
        let cased = upper.saturating_add(lower);
        let letters = min(Known::MinAlpha).max(cased);
        let required = letters
            .saturating_add(min(Known::MinNumeric))
            .saturating_add(min(Known::MinSpecial));
        exceeds(
            "required letters, digits and special characters > passwordMaxLength",
            required,
        );
        let types = min(Known::MinCharType);
        exceeds("passwordMinCharType > passwordMaxLength", types);
        // The shortest password with every required character and `types` types: the
        // required characters give one type per class they ask for; letters beyond the
        // upper and lower ones can be upper or lower case at no cost; each further type
        // costs one character. Reported only when neither count alone is too large.
        let present = [upper, lower, min(Known::MinNumeric), min(Known::MinSpecial)]
            .iter()
            .map(|&n| u32::from(n > 0))
            .sum::<u32>();
        let free = letters
            .saturating_sub(cased)
            .min(u32::from(upper == 0).saturating_add(u32::from(lower == 0)));
        let shortest = required.saturating_add(types.saturating_sub(present.saturating_add(free)));
        if required <= max && types <= max && !(no_specials && types > 3) {
            exceeds(
                "passwordMinCharType with the required letters, digits and special characters \
                 > passwordMaxLength",
                shortest,
            );
        }
        exceeds(
            "minAccountIDUniqueChars > passwordMaxLength",
            min(Known::MinAccountIdUniqueChars),
        );
        exceeds(
            "minDisplayNameUniqueChars > passwordMaxLength",
            min(Known::MinDisplayNameUniqueChars),
        );
        exceeds(
            "minHistoryUniqueChars > passwordMaxLength",
            self.server_side_count("minHistoryUniqueChars").unwrap_or(0),
        );
        length.append(&mut found);
        length
    }

    /// [`check_with`](Self::check_with), as a result: the error lists every rule the
    /// password breaks.
    ///
    /// ```
    /// use password_mgmt::{Error, PasswordPolicy, PolicyContext};
    ///
    /// let policy = PasswordPolicy::from_lines(["passwordMinLength is 15"])?;
    /// let err = policy.enforce("too short", &PolicyContext::default()).unwrap_err();
    /// assert!(matches!(&err, Error::PolicyRefused(rules) if rules.as_slice().len() == 1));
    /// assert_eq!(err.to_string(), "the password breaks the policy: passwordMinLength: at least 15 required, found 9");
    /// assert_eq!(err.detail_code().http_status(), 400);
    /// # Ok::<(), password_mgmt::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::PolicyRefused`] with the broken rules.
    pub fn enforce(&self, password: &str, context: &PolicyContext<'_>) -> Result<(), Error> {
        match BrokenRules::new(self.check_with(password, context).broken) {
            Some(rules) => Err(Error::PolicyRefused(rules)),
            None => Ok(()),
        }
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
                broken.push(BrokenRule::new(rule.name(), requirement));
            }
        }
        PolicyReport {
            broken,
            not_checked,
        }
    }

    /// Where this policy is weaker than NIST SP 800-63B-4 (Digital Identity Guidelines:
    /// Authentication and Authenticator Management, revision 4, final August 2025),
    /// section 3.1.1.2 "Password Verifiers", for a password used as `password_use`. Empty
    /// when it is not weaker.
    ///
    /// The points checked, in this order:
    /// 1. length: verifiers SHALL require at least 15 characters for a password that is a
    ///    single-factor authenticator, and at least 8 for one used only as part of
    ///    multi-factor authentication ([`NistGap::MinLengthTooShort`]);
    /// 2. maximum: verifiers SHOULD permit at least 64 characters
    ///    ([`NistGap::MaxLengthBelow64`]; no `passwordMaxLength` is no gap);
    /// 3. composition: verifiers SHALL NOT impose composition rules, such as mixtures of
    ///    character types ([`NistGap::CompositionRules`]: every `passwordMin…` class or type
    ///    rule above 0);
    /// 4. blocklist: verifiers SHALL compare a new password against a blocklist of
    ///    commonly used, expected or compromised values ([`NistGap::NoBlocklistCheck`] when
    ///    the policy has no `checkPasswordsAgainstDictionary is true` line). This crate has
    ///    no blocklist and cannot check one: the server must.
    ///
    /// Lengths are counted in Unicode code points, as the section asks, and this crate
    /// never truncates a password, so those points hold here by construction. Whether the
    /// transport carries the longest password the policy allows is a separate question:
    /// see [`transport_gap`](Self::transport_gap).
    ///
    /// ```
    /// use password_mgmt::{NistGap, PasswordPolicy};
    /// use password_mgmt::policy::PasswordUse;
    ///
    /// let policy = PasswordPolicy::from_lines([
    ///     "passwordMinLength is 12",
    ///     "checkPasswordsAgainstDictionary is true",
    /// ])?;
    /// assert!(policy.weaker_than_nist(PasswordUse::MultiFactor).is_empty());
    /// assert_eq!(
    ///     policy.weaker_than_nist(PasswordUse::SingleFactor),
    ///     [NistGap::MinLengthTooShort {
    ///         password_use: PasswordUse::SingleFactor,
    ///         required: 15,
    ///         min_length: 12,
    ///     }]
    /// );
    /// # Ok::<(), password_mgmt::Error>(())
    /// ```
    #[must_use]
    pub fn weaker_than_nist(&self, password_use: PasswordUse) -> Vec<NistGap> {
        let mut gaps = Vec::new();
        let min = self.get(Known::MinLength).unwrap_or(0);
        let required = password_use.nist_min_length();
        if min < required {
            gaps.push(NistGap::MinLengthTooShort {
                password_use,
                required,
                min_length: min,
            });
        }
        if let Some(max) = self
            .get(Known::MaxLength)
            .filter(|&m| m < NistGap::MIN_MAX_LENGTH)
        {
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
        let blocklist = self.unchecked.iter().any(|(name, value)| {
            name == "checkPasswordsAgainstDictionary" && value.eq_ignore_ascii_case("true")
        });
        if !blocklist {
            gaps.push(NistGap::NoBlocklistCheck);
        }
        gaps
    }

    /// Whether every password this policy allows fits a transport that carries at most
    /// `max_password_bytes` bytes of UTF-8 (for RSA encryption, the key's
    /// `max_password_len` for its scheme). `None` when it does: the policy has a
    /// `passwordMaxLength` and that many characters of 4 bytes each (the longest UTF-8
    /// encoding) fit. Otherwise a [`TransportGap`]: what the policy allows, what the
    /// transport carries, and how many characters are sure to fit.
    ///
    /// <div class="warning">
    ///
    /// NIST SP 800-63B-4 (section 3.1.1.2) asks verifiers to permit passwords of at least
    /// 64 characters and to accept Unicode, counting code points. 64 characters of 4 bytes
    /// are 256 bytes, more than RSA-2048 with OAEP-SHA256 carries (190 bytes: 47 such
    /// characters are sure to fit, 190 if ASCII). What other keys carry in one block
    /// (`k - 11` bytes for PKCS#1 v1.5, `k - 66` for OAEP-SHA256, `k` the modulus size in
    /// bytes):
    ///
    /// | key | OAEP-SHA256 | PKCS#1 v1.5 |
    /// |---|---|---|
    /// | RSA-2048 | 190 bytes (47 characters) | 245 bytes (61 characters) |
    /// | RSA-3072 | 318 bytes (79 characters) | 373 bytes (93 characters) |
    /// | RSA-4096 | 446 bytes (111 characters) | 501 bytes (125 characters) |
    ///
    /// So a 64-character maximum with any Unicode is guaranteed only from RSA-3072 with
    /// OAEP-SHA256 (or RSA-2048 with PKCS#1 v1.5, whose padding needs the warnings of the
    /// `encryption` module). A password over the limit is refused by the encryptor, never
    /// truncated: the user sees an error on a password the policy allowed.
    ///
    /// </div>
    ///
    /// ```
    /// use password_mgmt::PasswordPolicy;
    ///
    /// let policy = PasswordPolicy::from_lines(["passwordMaxLength is 64"])?;
    /// let gap = policy.transport_gap(190).expect("64 four-byte characters are 256 bytes");
    /// assert_eq!(gap.max_length(), Some(64));
    /// assert_eq!(gap.guaranteed_chars(), 47);
    /// assert_eq!(gap.ascii_chars(), 190);
    /// assert_eq!(
    ///     gap.to_string(),
    ///     "passwordMaxLength is 64 (up to 256 bytes of UTF-8), but the transport carries 190 \
    ///      bytes: 47 characters are sure to fit (190 if ASCII)"
    /// );
    /// assert_eq!(policy.transport_gap(318), None);
    /// // Without a maximum, no transport carries every password.
    /// assert!(PasswordPolicy::from_lines(["passwordMinLength is 15"])?.transport_gap(446).is_some());
    /// # Ok::<(), password_mgmt::Error>(())
    /// ```
    #[must_use]
    pub fn transport_gap(&self, max_password_bytes: usize) -> Option<TransportGap> {
        let max_length = self.get(Known::MaxLength);
        let fits = max_length.is_some_and(|chars| {
            usize::try_from(chars).is_ok_and(|chars| {
                chars
                    .checked_mul(TransportGap::MAX_BYTES_PER_CHAR)
                    .is_some_and(|bytes| bytes <= max_password_bytes)
            })
        });
        (!fits).then_some(TransportGap {
            max_length,
            max_password_bytes,
        })
    }
}

/// How a password is used, for [`PasswordPolicy::weaker_than_nist`]: NIST SP 800-63B-4
/// asks for a longer password when it is the only factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordUse {
    /// The password alone authenticates: at least 15 characters.
    SingleFactor,
    /// The password is used only as part of multi-factor authentication: at least 8.
    MultiFactor,
}

impl PasswordUse {
    /// A stable name: `single-factor` or `multi-factor`.
    ///
    /// ```
    /// use password_mgmt::policy::PasswordUse;
    ///
    /// assert_eq!(PasswordUse::SingleFactor.as_str(), "single-factor");
    /// assert_eq!(PasswordUse::MultiFactor.as_str(), "multi-factor");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SingleFactor => "single-factor",
            Self::MultiFactor => "multi-factor",
        }
    }

    /// The least `passwordMinLength` NIST SP 800-63B-4 section 3.1.1.2 requires for this
    /// use: 15 for a single factor, 8 within multi-factor authentication.
    ///
    /// ```
    /// use password_mgmt::policy::PasswordUse;
    ///
    /// assert_eq!(PasswordUse::SingleFactor.nist_min_length(), 15);
    /// assert_eq!(PasswordUse::MultiFactor.nist_min_length(), 8);
    /// ```
    #[must_use]
    pub const fn nist_min_length(self) -> u32 {
        match self {
            Self::SingleFactor => 15,
            Self::MultiFactor => 8,
        }
    }
}

impl fmt::Display for PasswordUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy that allows passwords longer than a transport carries: see
/// [`PasswordPolicy::transport_gap`]. Policy values and byte counts only, never a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransportGap {
    max_length: Option<u32>,
    max_password_bytes: usize,
}

impl TransportGap {
    /// The most bytes one character (a Unicode scalar value) takes in UTF-8.
    pub const MAX_BYTES_PER_CHAR: usize = 4;

    /// The policy's `passwordMaxLength`, or `None` when it sets no maximum.
    #[must_use]
    pub const fn max_length(&self) -> Option<u32> {
        self.max_length
    }

    /// The bytes of UTF-8 the transport carries.
    #[must_use]
    pub const fn max_password_bytes(&self) -> usize {
        self.max_password_bytes
    }

    /// How many characters always fit, whatever they are: a quarter of the bytes, rounded
    /// down.
    #[must_use]
    pub const fn guaranteed_chars(&self) -> usize {
        self.max_password_bytes / Self::MAX_BYTES_PER_CHAR
    }

    /// How many characters fit when every one is ASCII (one byte each).
    #[must_use]
    pub const fn ascii_chars(&self) -> usize {
        self.max_password_bytes
    }
}

impl fmt::Display for TransportGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max_length {
            Some(chars) => write!(
                f,
                "passwordMaxLength is {chars} (up to {} bytes of UTF-8)",
                u64::from(chars).saturating_mul(4)
            )?,
            None => f.write_str("the policy sets no passwordMaxLength")?,
        }
        write!(
            f,
            ", but the transport carries {} bytes: {} characters are sure to fit ({} if ASCII)",
            self.max_password_bytes,
            self.guaranteed_chars(),
            self.ascii_chars()
        )
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

/// Where a policy is weaker than NIST SP 800-63B-4 section 3.1.1.2 "Password Verifiers":
/// see [`PasswordPolicy::weaker_than_nist`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NistGap {
    /// Fewer characters are required than the use calls for: 15 for a single-factor
    /// password, 8 within multi-factor authentication.
    MinLengthTooShort {
        /// How the password is used.
        password_use: PasswordUse,
        /// The minimum NIST SP 800-63B-4 requires for that use.
        required: u32,
        /// The policy's `passwordMinLength` (0 when the policy sets no minimum).
        min_length: u32,
    },
    /// Fewer than 64 characters are allowed.
    MaxLengthBelow64 {
        /// The policy's `passwordMaxLength`.
        max_length: u32,
    },
    /// The policy imposes composition rules (the rules' names, in name order), which
    /// NIST SP 800-63B-4 says verifiers shall not.
    CompositionRules(Vec<&'static str>),
    /// The policy does not ask the server to compare new passwords against a blocklist
    /// (no `checkPasswordsAgainstDictionary is true` line). This crate cannot check a
    /// blocklist itself: the server must.
    NoBlocklistCheck,
}

impl NistGap {
    /// The least maximum length NIST SP 800-63B-4 asks verifiers to permit.
    pub const MIN_MAX_LENGTH: u32 = 64;
}

impl fmt::Display for NistGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MinLengthTooShort {
                password_use,
                required,
                min_length,
            } => write!(
                f,
                "passwordMinLength is {min_length}; NIST SP 800-63B-4 requires at least \
                 {required} for a {password_use} password"
            ),
            Self::MaxLengthBelow64 { max_length } => write!(
                f,
                "passwordMaxLength is {max_length}; NIST SP 800-63B-4 asks verifiers to \
                 permit at least 64"
            ),
            Self::CompositionRules(rules) => write!(
                f,
                "composition rules ({}); NIST SP 800-63B-4 says verifiers shall not impose them",
                rules.join(", ")
            ),
            Self::NoBlocklistCheck => f.write_str(
                "no checkPasswordsAgainstDictionary is true; NIST SP 800-63B-4 requires \
                 comparing new passwords against a blocklist, which the server must do (this \
                 crate cannot)",
            ),
        }
    }
}
