//! What a password broke: [`BrokenRule`]s (by counts, never characters), and the
//! non-empty [`BrokenRules`] that [`Error::PolicyRefused`](crate::Error::PolicyRefused)
//! carries. Below the policy and the error, which both use them.

use alloc::vec::Vec;
use core::fmt;

/// One rule a password breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenRule {
    rule: &'static str,
    requirement: Requirement,
}

impl BrokenRule {
    pub(crate) const fn new(rule: &'static str, requirement: Requirement) -> Self {
        Self { rule, requirement }
    }

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

/// A non-empty list of [`BrokenRule`]s: why a password was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenRules(Vec<BrokenRule>);

impl BrokenRules {
    /// The rules, or `None` when there are none.
    pub(crate) fn new(rules: Vec<BrokenRule>) -> Option<Self> {
        (!rules.is_empty()).then_some(Self(rules))
    }

    /// The broken rules (never empty), in the policy's fixed order.
    #[must_use]
    pub fn as_slice(&self) -> &[BrokenRule] {
        &self.0
    }
}

impl fmt::Display for BrokenRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}
