//! Password-policy parsing and checks: every rule at its boundary, the Unicode definitions,
//! context rules, rules not checked here, malformed and conflicting policies, NIST gaps.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

use password_mgmt::{Error, NistGap, PasswordPolicy, PolicyContext, PolicyError, Requirement};

fn policy(lines: &[&str]) -> PasswordPolicy {
    PasswordPolicy::from_lines(lines).unwrap()
}

/// The names of the broken rules.
fn broken(policy: &PasswordPolicy, password: &str) -> Vec<&'static str> {
    policy
        .check(password)
        .broken()
        .iter()
        .map(|b| b.rule())
        .collect()
}

fn problems(lines: &[&str]) -> Vec<PolicyError> {
    match PasswordPolicy::from_lines(lines).unwrap_err() {
        Error::Policy(p) => p.as_slice().to_vec(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_seeds_policy_lines() {
    // From "query password info" in the seeds.
    let p = policy(&[
        "passwordRepeatedChar is 3",
        "passwordMinAlpha is 1",
        "passwordMinLength is 5",
        "passwordMinNumeric is 1",
    ]);
    assert!(p.check("abc12").is_ok());
    assert_eq!(broken(&p, "ab1"), ["passwordMinLength"]);
    assert_eq!(broken(&p, "12345"), ["passwordMinAlpha"]);
    assert_eq!(broken(&p, "abcde"), ["passwordMinNumeric"]);
    assert_eq!(broken(&p, "aaaa1"), ["passwordRepeatedChar"]);
    // Every broken rule at once, in name order.
    assert_eq!(
        broken(&p, "!!!!"),
        [
            "passwordMinLength",
            "passwordMinAlpha",
            "passwordMinNumeric",
            "passwordRepeatedChar"
        ]
    );
    assert!(p.check("abc12").not_checked().is_empty());
}

#[test]
fn each_count_rule_at_its_boundary() {
    let cases: [(&str, &str, &str); 8] = [
        ("passwordMinLength is 4", "abcd", "abc"),
        ("passwordMaxLength is 4", "abcd", "abcde"),
        ("passwordMinAlpha is 2", "a1b2", "a123"),
        ("passwordMinNumeric is 2", "a1b2", "ab1c"),
        ("passwordMinUpper is 2", "AbC", "Abc"),
        ("passwordMinLower is 2", "aBc", "aBC"),
        ("passwordMinSpecial is 2", "a!b#", "a!bc"),
        ("passwordRepeatedChar is 2", "aabba", "abbba"),
    ];
    for (line, passes, fails) in cases {
        let p = policy(&[line]);
        assert!(p.check(passes).is_ok(), "{line}: {passes}");
        let report = p.check(fails);
        assert_eq!(report.broken().len(), 1, "{line}: {fails}");
        let name = line.split(' ').next().unwrap();
        assert_eq!(report.broken()[0].rule(), name);
    }
    let p = policy(&["passwordMinUpper is 3"]);
    assert_eq!(
        p.check("Abc").broken()[0].requirement(),
        Requirement::AtLeast {
            required: 3,
            found: 1
        }
    );
    let p = policy(&["passwordMaxLength is 3"]);
    assert_eq!(
        p.check("abcd").broken()[0].requirement(),
        Requirement::AtMost {
            allowed: 3,
            found: 4
        }
    );
    assert_eq!(
        p.check("abcd").broken()[0].to_string(),
        "passwordMaxLength: at most 3 allowed, found 4"
    );
}

#[test]
fn character_types() {
    let p = policy(&["passwordMinCharType is 3"]);
    assert!(p.check("aB1").is_ok());
    assert!(p.check("a1!").is_ok());
    assert_eq!(
        p.check("ab12").broken()[0].requirement(),
        Requirement::AtLeast {
            required: 3,
            found: 2
        }
    );
    // Caseless letters are none of the four types.
    assert_eq!(
        p.check("密码1").broken()[0].requirement(),
        Requirement::AtLeast {
            required: 3,
            found: 1
        }
    );
    assert!(policy(&["passwordMinCharType is 4"]).check("aB1!").is_ok());
}

#[test]
fn unicode_definitions() {
    // Length counts characters, not bytes.
    let p = policy(&["passwordMinLength is 3", "passwordMaxLength is 3"]);
    assert!(p.check("Pä🔑").is_ok());
    // ß is lower case; Ä upper case; 密 a letter without case; ǅ title case (neither).
    let counts = |line: &str, password: &str| match policy(&[line])
        .check(password)
        .broken()
        .first()
        .map(|b| b.requirement())
    {
        Some(Requirement::AtLeast { found, .. }) => found,
        None => u32::MAX,
        other => panic!("{other:?}"),
    };
    assert_eq!(counts("passwordMinLower is 9", "ßa"), 2);
    assert_eq!(counts("passwordMinUpper is 9", "ÄA"), 2);
    assert_eq!(counts("passwordMinAlpha is 9", "ß密Äǅ1"), 4);
    assert_eq!(counts("passwordMinUpper is 9", "ǅ"), 0);
    assert_eq!(counts("passwordMinLower is 9", "密"), 0);
    // Digits: ASCII, Arabic-Indic and other numeric characters.
    assert_eq!(counts("passwordMinNumeric is 9", "7١½a"), 3);
    // Special: ASCII punctuation by default; space and € are not.
    assert_eq!(counts("passwordMinSpecial is 9", "!# €~"), 3);
    let euro = policy(&["passwordMinSpecial is 1"]).with_special_chars("€");
    assert!(euro.check("a€").is_ok());
    assert!(!euro.check("a!").is_ok());
}

#[test]
fn repeated_characters_are_runs() {
    let p = policy(&["passwordRepeatedChar is 3"]);
    assert!(p.check("aaa").is_ok());
    assert!(p.check("aaabaaa").is_ok(), "runs, not totals");
    assert_eq!(
        p.check("baaaa").broken()[0].requirement(),
        Requirement::RunAtMost {
            allowed: 3,
            found: 4
        }
    );
    assert!(p.check("🔑🔑🔑").is_ok());
    assert!(!p.check("🔑🔑🔑🔑").is_ok());
    // Case matters for runs: "aAaA" has no run longer than 1.
    assert!(policy(&["passwordRepeatedChar is 1"]).check("aAaA").is_ok());
}

#[test]
fn context_rules() {
    let p = policy(&[
        "checkPasswordAgainstAccountID is true",
        "checkPasswordAgainstDisplayName is true",
        "minAccountIDUniqueChars is 3",
    ]);
    let context = PolicyContext {
        account_id: Some("abby"),
        display_name: Some("Abby Smith"),
    };
    let names = |password: &str| -> Vec<&str> {
        p.check_with(password, &context)
            .broken()
            .iter()
            .map(|b| b.rule())
            .collect()
    };
    assert!(names("xyz-123").is_empty());
    assert_eq!(names("myABBYpass1"), ["checkPasswordAgainstAccountID"]);
    assert_eq!(
        names("abbasmith-abby smith"),
        [
            "checkPasswordAgainstAccountID",
            "checkPasswordAgainstDisplayName"
        ]
    );
    // Unique characters not in the account id: "bay12" has 1, 2 -> 2 (b, a, y are in "abby").
    assert_eq!(names("bay12"), ["minAccountIDUniqueChars"]);
    let report = p.check_with("bay12", &context);
    assert_eq!(
        report.broken()[0].requirement(),
        Requirement::AtLeast {
            required: 3,
            found: 2
        }
    );
    // Without context, the context rules are not checked, and say so.
    let report = p.check("myABBYpass1");
    assert!(report.is_ok());
    assert_eq!(
        report.not_checked(),
        [
            "checkPasswordAgainstAccountID",
            "checkPasswordAgainstDisplayName",
            "minAccountIDUniqueChars"
        ]
    );
    // Case-sensitive comparisons when asked.
    let strict = policy(&[
        "checkPasswordAgainstAccountID is true",
        "checkCaseSensitive is TRUE",
    ]);
    assert!(strict.check_with("myABBYpass", &context).is_ok());
    assert!(!strict.check_with("myabbypass", &context).is_ok());
    // A disabled rule needs no context.
    assert!(
        policy(&["checkPasswordAgainstAccountID is false"])
            .check("abby")
            .not_checked()
            .is_empty()
    );
}

#[test]
fn server_side_and_unknown_rules_are_kept_and_reported() {
    let p = policy(&[
        "passwordHistory is 10",
        "minHistoryUniqueChars is 2",
        "checkPasswordsAgainstDictionary is true",
        "checkPasswordsAgainstIdentityAttributes is false",
        "checkPasswordsAgainstAccountAttributes is true",
        "checkPasswordTriviality is true",
        "someFutureRule is whatever it is",
    ]);
    assert_eq!(
        p.check("x").not_checked(),
        [
            "passwordHistory",
            "minHistoryUniqueChars",
            "checkPasswordsAgainstDictionary",
            "checkPasswordsAgainstIdentityAttributes",
            "checkPasswordsAgainstAccountAttributes",
            "checkPasswordTriviality",
            "someFutureRule",
        ]
    );
    // Their values are checked for form when the kind is known.
    assert!(PasswordPolicy::from_lines(["passwordHistory is many"]).is_err());
    assert!(PasswordPolicy::from_lines(["checkPasswordTriviality is 1"]).is_err());
}

#[test]
fn malformed_lines_are_all_reported_quoting_the_line() {
    let lines = [
        "passwordMinLength 5",
        "passwordMinLength is -1",
        "passwordMinAlpha is five",
        "passwordMinNumeric is 99999",
        "passwordMinUpper is 1.5",
        "passwordMinCharType is 5",
        "passwordMaxLength is 0",
        "passwordRepeatedChar is 0",
        "checkCaseSensitive is yes",
        " is 3",
        "passwordMinLower is ",
        "passwordMinSpecial is 1",
        "passwordMinSpecial is 2",
        "",
    ];
    let found = problems(&lines);
    let quoted: Vec<&str> = found
        .iter()
        .map(|p| match p {
            PolicyError::Malformed { line, .. } => line.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| *l != "passwordMinSpecial is 1")
        .collect();
    assert_eq!(quoted, expected);
    assert_eq!(
        found[1].to_string(),
        "policy line \"passwordMinLength is -1\": expected a whole number from 0 to 1024"
    );
    assert_eq!(
        found[5].to_string(),
        "policy line \"passwordMinCharType is 5\": expected a whole number from 0 to 4"
    );
    assert_eq!(
        found[11].to_string(),
        "policy line \"passwordMinSpecial is 2\": the rule is given more than once"
    );
    // White space around names and values is tolerated.
    assert!(PasswordPolicy::from_lines(["  passwordMinLength is 8  "]).is_ok());
}

#[test]
fn rules_that_cannot_hold_together_are_reported_when_built() {
    let found = problems(&[
        "passwordMinLength is 12",
        "passwordMaxLength is 8",
        "passwordMinUpper is 4",
        "passwordMinLower is 4",
        "passwordMinNumeric is 1",
    ]);
    assert_eq!(
        found,
        [
            PolicyError::Conflict {
                rules: "passwordMinLength > passwordMaxLength",
                required: 12,
                allowed: 8
            },
            PolicyError::Conflict {
                rules: "required letters, digits and special characters > passwordMaxLength",
                required: 9,
                allowed: 8,
            },
        ]
    );
    // Letters: the larger of passwordMinAlpha and upper + lower.
    assert!(
        PasswordPolicy::from_lines([
            "passwordMaxLength is 8",
            "passwordMinAlpha is 8",
            "passwordMinUpper is 4",
            "passwordMinLower is 4"
        ])
        .is_ok()
    );
    assert!(
        PasswordPolicy::from_lines([
            "passwordMaxLength is 8",
            "passwordMinAlpha is 8",
            "passwordMinNumeric is 1"
        ])
        .is_err()
    );
    assert_eq!(
        problems(&["passwordMaxLength is 3", "passwordMinCharType is 4"]),
        [PolicyError::Conflict {
            rules: "passwordMinCharType > passwordMaxLength",
            required: 4,
            allowed: 3
        }]
    );
    let err = PasswordPolicy::from_lines(["passwordMinLength is 12", "passwordMaxLength is 8"])
        .unwrap_err();
    assert_eq!(err.detail_code().http_status(), 500);
}

#[test]
fn the_nist_baseline() {
    let weak = policy(&[
        "passwordMinLength is 6",
        "passwordMaxLength is 20",
        "passwordMinUpper is 1",
        "passwordMinCharType is 0",
    ]);
    let gaps = weak.weaker_than_nist();
    assert_eq!(
        gaps,
        [
            NistGap::MinLengthBelow8 { min_length: 6 },
            NistGap::MaxLengthBelow64 { max_length: 20 },
            NistGap::CompositionRules(vec!["passwordMinUpper"]),
        ]
    );
    assert_eq!(
        gaps[0].to_string(),
        "passwordMinLength is 6; NIST SP 800-63B requires at least 8"
    );
    assert!(
        policy(&["passwordMinLength is 8", "passwordMaxLength is 64"])
            .weaker_than_nist()
            .is_empty()
    );
    assert!(
        policy(&["passwordMinLength is 15"])
            .weaker_than_nist()
            .is_empty()
    );
    assert_eq!(
        policy(&[]).weaker_than_nist(),
        [NistGap::MinLengthBelow8 { min_length: 0 }]
    );
}

#[test]
fn reports_never_contain_the_password() {
    let p = policy(&[
        "passwordMinLength is 30",
        "passwordMinSpecial is 3",
        "checkPasswordAgainstAccountID is true",
    ]);
    let context = PolicyContext {
        account_id: Some("zq"),
        display_name: None,
    };
    let report = p.check_with("hunter2-zq", &context);
    assert_eq!(report.broken().len(), 3);
    let text = format!(
        "{report:?} {}",
        report
            .broken()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(!text.contains("hunter2"), "{text}");
}
