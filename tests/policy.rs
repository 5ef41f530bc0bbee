//! Password-policy parsing and checks: every rule at its boundary, the Unicode definitions,
//! context rules, rules not checked here, malformed and conflicting policies, NIST SP
//! 800-63B-4 gaps, transport gaps.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

use password_mgmt::policy::{PasswordUse, TransportGap};
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
    let euro = policy(&["passwordMinSpecial is 1"])
        .with_special_chars("€")
        .unwrap();
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
fn more_conflicts_unique_characters_and_types() {
    // Unique characters cannot exceed the length, whether the password is compared with
    // the account id, the display name or (on the server) the history.
    assert_eq!(
        problems(&[
            "passwordMaxLength is 8",
            "minAccountIDUniqueChars is 20",
            "minDisplayNameUniqueChars is 9",
            "minHistoryUniqueChars is 12",
        ]),
        [
            PolicyError::Conflict {
                rules: "minAccountIDUniqueChars > passwordMaxLength",
                required: 20,
                allowed: 8
            },
            PolicyError::Conflict {
                rules: "minDisplayNameUniqueChars > passwordMaxLength",
                required: 9,
                allowed: 8
            },
            PolicyError::Conflict {
                rules: "minHistoryUniqueChars > passwordMaxLength",
                required: 12,
                allowed: 8
            },
        ]
    );
    // At the limit they are fine; without a maximum there is nothing to exceed.
    assert!(
        PasswordPolicy::from_lines([
            "passwordMaxLength is 8",
            "minAccountIDUniqueChars is 8",
            "minDisplayNameUniqueChars is 8",
            "minHistoryUniqueChars is 8",
        ])
        .is_ok()
    );
    assert!(PasswordPolicy::from_lines(["minAccountIDUniqueChars is 20"]).is_ok());

    // Four upper and four lower case letters fill 8 characters: no room for a third type.
    let found = problems(&[
        "passwordMaxLength is 8",
        "passwordMinUpper is 4",
        "passwordMinLower is 4",
        "passwordMinCharType is 3",
    ]);
    assert_eq!(
        found,
        [PolicyError::Conflict {
            rules: "passwordMinCharType with the required letters, digits and special \
                    characters > passwordMaxLength",
            required: 9,
            allowed: 8
        }]
    );
    assert_eq!(
        found[0].to_string(),
        "the rules cannot hold together: passwordMinCharType with the required letters, \
         digits and special characters > passwordMaxLength (9 required, 8 allowed)"
    );
    // Letters beyond the upper and lower ones may be of either case: 6 letters with 1
    // upper give a lower case letter for free, and a digit makes the third type.
    assert!(
        PasswordPolicy::from_lines([
            "passwordMaxLength is 7",
            "passwordMinAlpha is 6",
            "passwordMinUpper is 1",
            "passwordMinCharType is 3",
        ])
        .is_ok()
    );
    assert_eq!(
        problems(&[
            "passwordMaxLength is 6",
            "passwordMinAlpha is 6",
            "passwordMinUpper is 1",
            "passwordMinCharType is 3",
        ]),
        [PolicyError::Conflict {
            rules: "passwordMinCharType with the required letters, digits and special \
                    characters > passwordMaxLength",
            required: 7,
            allowed: 6
        }]
    );
    // Every conflict at once.
    assert_eq!(
        problems(&[
            "passwordMaxLength is 4",
            "passwordMinLength is 5",
            "passwordMinUpper is 2",
            "passwordMinLower is 2",
            "passwordMinCharType is 3",
            "minAccountIDUniqueChars is 5",
        ])
        .len(),
        3
    );
}

#[test]
fn an_empty_special_set_with_a_special_minimum_is_refused() {
    let special = policy(&["passwordMinSpecial is 1"]);
    let errors = |p: PasswordPolicy| match p.with_special_chars("").unwrap_err() {
        Error::Policy(p) => p.as_slice().to_vec(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        errors(special.clone()),
        [PolicyError::EmptySpecialSet {
            rule: "passwordMinSpecial",
            required: 1
        }]
    );
    assert_eq!(
        errors(special).first().map(ToString::to_string).unwrap(),
        "the rules cannot hold together: passwordMinSpecial is 1, which needs a special \
         character, and the set of special characters is empty"
    );
    // Four types need a special character; both rules are named at once.
    assert_eq!(
        errors(policy(&[
            "passwordMinCharType is 4",
            "passwordMinSpecial is 2"
        ])),
        [
            PolicyError::EmptySpecialSet {
                rule: "passwordMinSpecial",
                required: 2
            },
            PolicyError::EmptySpecialSet {
                rule: "passwordMinCharType",
                required: 4
            },
        ]
    );
    // Three types remain without special characters; a disabled minimum needs none.
    let three = policy(&["passwordMinCharType is 3", "passwordMinSpecial is 0"])
        .with_special_chars("")
        .unwrap();
    assert!(three.check("aB1").is_ok());
    assert!(!three.check("aB!").is_ok());
    // With a maximum length, the types rule still counts only the types there are.
    let with_max = policy(&["passwordMaxLength is 3", "passwordMinCharType is 3"])
        .with_special_chars("")
        .unwrap();
    assert!(with_max.check("aB1").is_ok());
    // A non-empty set is fine, and so is setting the default again.
    assert!(
        policy(&["passwordMinCharType is 4"])
            .with_special_chars("€")
            .unwrap()
            .check("aB1€")
            .is_ok()
    );
    assert!(
        policy(&["passwordMinSpecial is 1"])
            .with_special_chars(PasswordPolicy::DEFAULT_SPECIAL)
            .is_ok()
    );
}

/// A policy with every NIST SP 800-63B-4 point met: long enough, long maximum, no
/// composition rules, a blocklist check on the server.
const MEETS_NIST: [&str; 4] = [
    "passwordMinLength is 15",
    "passwordMaxLength is 64",
    "passwordMinUpper is 0",
    "checkPasswordsAgainstDictionary is TRUE",
];

#[test]
fn nist_800_63b_4_no_gap() {
    let p = policy(&MEETS_NIST);
    assert_eq!(p.weaker_than_nist(PasswordUse::SingleFactor), []);
    assert_eq!(p.weaker_than_nist(PasswordUse::MultiFactor), []);
    // No maximum at all is no gap either.
    let p = policy(&[
        "passwordMinLength is 15",
        "checkPasswordsAgainstDictionary is true",
    ]);
    assert_eq!(p.weaker_than_nist(PasswordUse::SingleFactor), []);
}

#[test]
fn nist_800_63b_4_minimum_length_depends_on_the_use() {
    let gap = |lines: &[&str], use_| policy(lines).weaker_than_nist(use_);
    let blocklist = "checkPasswordsAgainstDictionary is true";
    // 8 is enough within multi-factor authentication, not for a single factor.
    let eight = ["passwordMinLength is 8", blocklist];
    assert_eq!(gap(&eight, PasswordUse::MultiFactor), []);
    let single = gap(&eight, PasswordUse::SingleFactor);
    assert_eq!(
        single,
        [NistGap::MinLengthTooShort {
            password_use: PasswordUse::SingleFactor,
            required: 15,
            min_length: 8
        }]
    );
    assert_eq!(
        single[0].to_string(),
        "passwordMinLength is 8; NIST SP 800-63B-4 requires at least 15 for a single-factor \
         password"
    );
    // 14 is one short for a single factor; 7 is one short within multi-factor.
    assert_eq!(
        gap(
            &["passwordMinLength is 14", blocklist],
            PasswordUse::SingleFactor
        ),
        [NistGap::MinLengthTooShort {
            password_use: PasswordUse::SingleFactor,
            required: 15,
            min_length: 14
        }]
    );
    let seven = gap(
        &["passwordMinLength is 7", blocklist],
        PasswordUse::MultiFactor,
    );
    assert_eq!(
        seven,
        [NistGap::MinLengthTooShort {
            password_use: PasswordUse::MultiFactor,
            required: 8,
            min_length: 7
        }]
    );
    assert_eq!(
        seven[0].to_string(),
        "passwordMinLength is 7; NIST SP 800-63B-4 requires at least 8 for a multi-factor \
         password"
    );
    // No minimum: reported as 0.
    assert_eq!(
        gap(&[blocklist], PasswordUse::MultiFactor),
        [NistGap::MinLengthTooShort {
            password_use: PasswordUse::MultiFactor,
            required: 8,
            min_length: 0
        }]
    );
    assert_eq!(PasswordUse::SingleFactor.as_str(), "single-factor");
    assert_eq!(PasswordUse::MultiFactor.to_string(), "multi-factor");
}

#[test]
fn nist_800_63b_4_maximum_composition_and_blocklist() {
    for use_ in [PasswordUse::SingleFactor, PasswordUse::MultiFactor] {
        // Each gap alone, from the policy that has none.
        let with = |line: &str| {
            let mut lines = MEETS_NIST.to_vec();
            lines.retain(|l| l.split(' ').next() != line.split(' ').next());
            lines.push(line);
            policy(&lines).weaker_than_nist(use_)
        };
        let max = with("passwordMaxLength is 63");
        assert_eq!(max, [NistGap::MaxLengthBelow64 { max_length: 63 }]);
        assert_eq!(
            max[0].to_string(),
            "passwordMaxLength is 63; NIST SP 800-63B-4 asks verifiers to permit at least 64"
        );
        let composition = with("passwordMinSpecial is 1");
        assert_eq!(
            composition,
            [NistGap::CompositionRules(vec!["passwordMinSpecial"])]
        );
        assert_eq!(
            composition[0].to_string(),
            "composition rules (passwordMinSpecial); NIST SP 800-63B-4 says verifiers shall \
             not impose them"
        );
        let blocklist = with("checkPasswordsAgainstDictionary is false");
        assert_eq!(blocklist, [NistGap::NoBlocklistCheck]);
        assert!(blocklist[0].to_string().contains("the server must"));
        assert!(blocklist[0].to_string().contains("NIST SP 800-63B-4"));
    }
    // Every gap at once, composition rules in name order, the blocklist line absent.
    let weak = policy(&[
        "passwordMinLength is 6",
        "passwordMaxLength is 20",
        "passwordMinCharType is 3",
        "passwordMinUpper is 1",
        "passwordMinNumeric is 0",
        "passwordMinAlpha is 2",
    ]);
    for use_ in [PasswordUse::SingleFactor, PasswordUse::MultiFactor] {
        assert_eq!(
            weak.weaker_than_nist(use_),
            [
                NistGap::MinLengthTooShort {
                    password_use: use_,
                    required: use_.nist_min_length(),
                    min_length: 6
                },
                NistGap::MaxLengthBelow64 { max_length: 20 },
                NistGap::CompositionRules(vec![
                    "passwordMinAlpha",
                    "passwordMinUpper",
                    "passwordMinCharType"
                ]),
                NistGap::NoBlocklistCheck,
            ]
        );
    }
}

#[test]
fn transport_gap_64_characters_in_190_bytes() {
    // RSA-2048 with OAEP-SHA256 carries 190 bytes; 64 characters of 4 bytes are 256.
    let p = policy(&["passwordMaxLength is 64"]);
    let gap: TransportGap = p.transport_gap(190).unwrap();
    assert_eq!(gap.max_length(), Some(64));
    assert_eq!(gap.max_password_bytes(), 190);
    assert_eq!(gap.guaranteed_chars(), 47);
    assert_eq!(gap.ascii_chars(), 190);
    assert_eq!(
        gap.to_string(),
        "passwordMaxLength is 64 (up to 256 bytes of UTF-8), but the transport carries 190 \
         bytes: 47 characters are sure to fit (190 if ASCII)"
    );
    // 47 is the most that always fits 190 bytes: 47 four-byte characters are 188 bytes.
    assert_eq!(
        policy(&["passwordMaxLength is 47"]).transport_gap(190),
        None
    );
    assert!(
        policy(&["passwordMaxLength is 48"])
            .transport_gap(190)
            .is_some()
    );
    let worst: String = "🔑".repeat(47);
    assert_eq!(worst.len(), 188);
    // RSA-2048 with PKCS#1 v1.5 (245 bytes) is not enough either; RSA-3072 with OAEP is.
    assert_eq!(p.transport_gap(245).unwrap().guaranteed_chars(), 61);
    assert_eq!(p.transport_gap(256), None);
    assert_eq!(p.transport_gap(318), None);
}

#[test]
fn transport_gap_without_a_maximum_and_at_the_edges() {
    // No maximum: no transport carries every password.
    let unbounded = policy(&["passwordMinLength is 15"]);
    let gap = unbounded.transport_gap(446).unwrap();
    assert_eq!(gap.max_length(), None);
    assert_eq!(gap.guaranteed_chars(), 111);
    assert_eq!(
        gap.to_string(),
        "the policy sets no passwordMaxLength, but the transport carries 446 bytes: 111 \
         characters are sure to fit (446 if ASCII)"
    );
    // A transport that carries nothing, and one that carries everything.
    let one = policy(&["passwordMaxLength is 1"]);
    assert_eq!(one.transport_gap(0).unwrap().guaranteed_chars(), 0);
    assert_eq!(one.transport_gap(3).unwrap().ascii_chars(), 3);
    assert_eq!(one.transport_gap(4), None);
    let most = policy(&["passwordMaxLength is 1024"]);
    assert_eq!(most.transport_gap(usize::MAX), None);
    assert!(most.transport_gap(4095).is_some());
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
