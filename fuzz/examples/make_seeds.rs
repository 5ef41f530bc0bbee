//! Writes the seed corpora under `fuzz/corpus/<target>/` (committed; rerun after changing an
//! input format): `cargo run --example make_seeds` from `fuzz/`.

use std::fs;
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use password_mgmt::rsa::Oaep;
use password_mgmt::rsa::pkcs8::DecodePublicKey;
use password_mgmt::rsa::sha2::Sha256;
use password_mgmt::time::UtcDateTime;
use password_mgmt::{
    KeyPolicy, NewPassword, PasswordKeyPair, Purpose, Scheme, Subject, TokenParams, UserLimits,
    UserState,
};
use password_mgmt_fuzz::{USER, rng, token_key};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = root.parent().unwrap();
    let corpus = root.join("corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir: PathBuf = corpus.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    };
    let read = |path: &str| fs::read_to_string(repo.join(path)).unwrap();
    let b64 = |path: &str| Base64::decode_vec(read(path).trim()).unwrap();
    let pem_body = |path: &str| {
        let text = read(path);
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        Base64::decode_vec(&body).unwrap()
    };

    // user_state: a stored state, flags, then ops of op | arg | step (i16 BE seconds).
    let op = |op: u8, arg: u8, step: i16| {
        let [a, b] = step.to_be_bytes();
        [op, arg, a, b]
    };
    let ops = |state: &[u8], flags: u8, ops: &[[u8; 4]]| {
        let mut out = state.to_vec();
        out.push(flags);
        for o in ops {
            out.extend(o);
        }
        out
    };
    let fresh = UserState::new().encode();
    let (issue, right, typed, without, unlock, other, rotate, retire) = (0, 1, 2, 3, 4, 5, 6, 7);
    write(
        "user_state",
        "issue-right-again",
        &ops(&fresh, 0, &[op(issue, 0, 0), op(right, 0, 30), op(right, 0, 30)]),
    );
    let mut wrong_then_right = ops(&fresh, 1, &[op(issue, 0, 0)]);
    for _ in 0..6 {
        wrong_then_right.extend(op(typed, 6, 1));
        wrong_then_right.extend(b"000000");
    }
    wrong_then_right.extend(op(right, 0, 1));
    write("user_state", "wrong-six-times-then-right", &wrong_then_right);
    let mut capped = ops(&fresh, 3, &[op(issue, 0, 0)]);
    for _ in 0..3 {
        capped.extend(op(typed, 1, 1));
        capped.push(b'x');
    }
    capped.extend(op(right, 0, 1));
    capped.extend(op(unlock, 0, 1));
    capped.extend(op(right, 0, 1));
    write("user_state", "locked-out-then-unlocked", &capped);
    write(
        "user_state",
        "rotate-retire",
        &ops(
            &fresh,
            1,
            &[op(issue, 0, 0), op(rotate, 0, 1), op(right, 0, 1), op(issue, 0, 1), op(rotate, 0, 1), op(retire, 0, 1), op(right, 0, 1)],
        ),
    );
    write(
        "user_state",
        "other-subjects-then-without-using",
        &ops(
            &fresh,
            1,
            &[op(issue, 0, 0), op(other, 0, 1), op(other, 1, 1), op(other, 2, 1), op(without, 0, 1), op(right, 0, 1)],
        ),
    );
    write(
        "user_state",
        "clock-back-two-hours",
        &ops(&fresh, 0, &[op(issue, 0, 0), op(right, 0, -7200), op(issue, 0, 7200), op(right, 0, 3)]),
    );
    // A stored state with a live token (made under the fuzz key) and the request limit spent.
    let limits = UserLimits::default();
    let mut state = UserState::new();
    let at = UtcDateTime::from_unix_timestamp(1_795_000_000).unwrap();
    let subject = Subject {
        tenant: "acme",
        user: USER,
        purpose: Purpose::PASSWORD_RESET,
    };
    for i in 0..4 {
        let issuance = state
            .issue(&mut rng(i), &token_key(), &subject, &TokenParams::default(), &limits, at)
            .unwrap();
        state = UserState::decode(issuance.update().unwrap().replacement()).unwrap();
    }
    write("user_state", "stored-live-token", &ops(&state.encode(), 0, &[op(typed, 6, 30)]));
    write("user_state", "stored-state-only", &state.encode());
    write("user_state", "truncated", &state.encode()[..57]);
    let mut version_2 = state.encode();
    version_2[0] = 2;
    write("user_state", "unknown-version", &version_2);

    // limits: a stored limiter, max | window | tolerance ms | seconds | nanoseconds | 8
    // steps, then text.
    let limiter_then = |stored: &[u8], max: u16, window: u32, text: &str| {
        let mut out = stored.to_vec();
        out.extend(max.to_be_bytes());
        out.extend(window.to_be_bytes());
        out.extend(5_000u32.to_be_bytes());
        out.extend(1_795_000_000i64.to_be_bytes());
        out.extend(0u32.to_be_bytes());
        for step in [0i16, 0, 0, 1, 600, -3600, 7200, 1] {
            out.extend(step.to_be_bytes());
        }
        out.extend(text.as_bytes());
        out
    };
    let fresh_limiter = password_mgmt::RateLimiter::new().encode();
    write("limits", "fresh-10-per-hour", &limiter_then(&fresh_limiter, 10, 3600, "10/1h"));
    write(
        "limits",
        "fresh-3-per-10m-user-limits",
        &limiter_then(
            &fresh_limiter,
            3,
            600,
            "requests 5/1h, failures 10/1h 100/1d, consecutive 100, clock tolerance 5s",
        ),
    );
    let mut far_ahead = password_mgmt::RateLimiter::new().encode();
    far_ahead[1] = 1;
    far_ahead[2..10].copy_from_slice(&1_795_086_400i64.to_be_bytes());
    write("limits", "stored-a-day-ahead", &limiter_then(&far_ahead, 10, 3600, "100/24h"));

    // key_rings: ops of op | arg.
    write("key_rings", "rotate-retire-publish", &[0, 1, 1, 1, 2, 0, 3, 0, 4, 1, 4, 2, 5, 2, 6, 0, 7, 0, 7, 6, 4, 3, 5, 5, 6, 1]);
    write("key_rings", "same-key-two-schemes", &[4, 0, 4, 1, 5, 1, 6, 0, 7, 1]);

    // org_config: two raw configs of flags | minutes | length.
    let raw = |flags: u8, minutes: i64, length: i64| {
        [
            vec![flags],
            minutes.to_be_bytes().to_vec(),
            length.to_be_bytes().to_vec(),
        ]
        .concat()
    };
    let all = 0b11_1111;
    let org_seeds: [(&str, Vec<u8>); 6] = [
        ("empty", vec![]),
        (
            "example-then-bad-update",
            [raw(all, 10, 9), raw(0b11_0000, 0, 20)].concat(),
        ),
        (
            "upper-bounds",
            [raw(all, 60, 18), raw(0b11_0000, 61, 19)].concat(),
        ),
        (
            "lower-bounds",
            [raw(all, 1, 6), raw(0b11_0000, 0, 5)].concat(),
        ),
        (
            "extremes",
            [raw(all, i64::MIN, i64::MAX), raw(0b1111, 0, 0)].concat(),
        ),
        (
            "flags-only",
            [raw(0b0101, 0, 0), raw(0b1010, 0, 0)].concat(),
        ),
    ];
    for (name, bytes) in &org_seeds {
        write("org_config", name, bytes);
    }

    // token_request: org | flags | length | minutes | seed | Unix seconds | user id.
    let request = |org: Vec<u8>, flags: u8, length: i64, minutes: i64, now: i64, user: &str| {
        [
            org,
            vec![flags],
            length.to_be_bytes().to_vec(),
            minutes.to_be_bytes().to_vec(),
            7u64.to_be_bytes().to_vec(),
            now.to_be_bytes().to_vec(),
            user.as_bytes().to_vec(),
        ]
        .concat()
    };
    let enabled = raw(0b1100, 0, 0);
    let max = UtcDateTime::MAX.unix_timestamp();
    let requests: [(&str, Vec<u8>); 8] = [
        (
            "example",
            request(enabled.clone(), 0b11, 8, 5, 1_795_000_000, USER),
        ),
        (
            "org-defaults",
            request(raw(all, 10, 9), 0, 0, 0, 1_795_000_000, USER),
        ),
        ("disabled", request(raw(0b0100, 0, 0), 0b11, 8, 5, 0, USER)),
        (
            "three-problems",
            request(enabled.clone(), 0b11, 5, 61, 0, " \u{2003}"),
        ),
        (
            "long-user",
            request(enabled.clone(), 0, 0, 0, 0, &"u".repeat(257)),
        ),
        // Issued 30 minutes before the end of time for 60 minutes: not representable.
        (
            "end-of-time",
            request(enabled.clone(), 0b10, 0, 60, max - 1_800, USER),
        ),
        // Issued 32 minutes before the end of time for the org's 5 minutes, then verified
        // when a failure could no longer be counted (found by the fuzzer).
        (
            "verify-at-the-end-of-time",
            request(enabled.clone(), 0, 0, 0, max - 1_920, USER),
        ),
        (
            "negative-time",
            request(enabled, 0b01, 18, 0, -62_000_000_000, "Ábby"),
        ),
    ];
    for (name, bytes) in &requests {
        write("token_request", name, bytes);
    }

    // policy: lines NUL password NUL special NUL account id NUL display name.
    let policies: [(&str, &str); 6] = [
        (
            "seed-policies",
            "passwordRepeatedChar is 3\npasswordMinAlpha is 1\npasswordMinLength is 5\npasswordMinNumeric is 1\0aaaa1",
        ),
        (
            "everything",
            "passwordMinLength is 8\npasswordMaxLength is 64\npasswordMinUpper is 1\npasswordMinLower is 1\npasswordMinSpecial is 1\npasswordMinCharType is 3\npasswordHistory is 10\ncheckPasswordAgainstAccountID is true\nminDisplayNameUniqueChars is 2\ncheckCaseSensitive is false\0Abby.Smith-2026!\0\0abby.smith\0Abby Smith",
        ),
        (
            "unicode",
            "passwordMinUpper is 1\npasswordMinNumeric is 2\0Pä🔑ß١½ǅ密\0€",
        ),
        (
            "conflict",
            "passwordMinLength is 10\npasswordMaxLength is 8\npasswordMinCharType is 9\0x",
        ),
        (
            "malformed",
            "passwordMinLength = 8\n is 3\npasswordMinLength is 8\npasswordMinLength is 9\ncheckCaseSensitive is yes\0",
        ),
        (
            "unknown-rules",
            "someFutureRule is whatever\ncheckPasswordTriviality is TRUE\0pw",
        ),
    ];
    for (name, text) in policies {
        write("policy", name, text.as_bytes());
    }

    // identifiers.
    let encrypted_example = "XzN+YwKgr2C+InkMYFMBG3UtjMEw5ZIql/XFlXo8cJNeslmkplx6vn4kd4/43IF9STBk5RnzR6XmjpEO+FwHDoiBwYZAkAZK/Iswxk4OdybG6Y4MStJCOCiK8osKr35IMMSV/mbO4wAeltoCk7daTWzTGLiI6UaT5tf+F2EgdjJZ7YqM8W8r7aUWsm3p2Xt01Y46ZRx0QaM91QruiIx2rECFT2pUO0wr+7oQ77jypATyGWRtADsu3YcvCk/6U5MqCnXMzKBcRas7NnZdSL/d5H1GglVGz3VLPMaivG4/oL4chOMmFCRl/zVsGxZ9RhN8rxsRGFFKn+rhExTi+bax3A==";
    write(
        "identifiers",
        "request-id",
        b"e1267ecd-fcd9-4c73-9c55-12555efad136",
    );
    write(
        "identifiers",
        "request-id-upper",
        b"E1267ECD-FCD9-4C73-9C55-12555EFAD136",
    );
    write(
        "identifiers",
        "public-key-id",
        b"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    );
    write(
        "identifiers",
        "encrypted-password",
        encrypted_example.as_bytes(),
    );
    write("identifiers", "token-key", &[0x5a; 32]);

    // public_key: DER, base64 and PEM forms of the test keys.
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    for (name, path) in [
        ("rsa2048", "tests/data/keys/rsa2048.pk8.pem"),
        ("rsa3072", "tests/data/keys/rsa3072.pk8.pem"),
        ("rsa4096", "tests/data/keys/rsa4096.pk8.pem"),
        ("rsa2048-e3", "tests/data/keys/rsa2048-e3.pk8.pem"),
        ("cfrg-k2049", "tests/data/cfrg-rsa-guidance/k2049.pem"),
    ] {
        let pair =
            PasswordKeyPair::from_pkcs8_pem_with(&read(path), Scheme::Pkcs1v15, any).unwrap();
        write(
            "public_key",
            &format!("{name}.spki.der"),
            pair.encryptor().spki_der(),
        );
        write(
            "pkcs8",
            &format!("{name}.pk8.der"),
            &pair.to_pkcs8_der().unwrap(),
        );
    }
    write(
        "public_key",
        "rsa1024.spki.der",
        &b64("tests/data/keys/rsa1024.spki.b64"),
    );
    write(
        "public_key",
        "ec-p256.spki.der",
        &b64("tests/data/keys/ec-p256.spki.b64"),
    );
    write(
        "public_key",
        "rsa2048.spki.b64",
        read("tests/data/keys/rsa2048.spki.b64").as_bytes(),
    );
    write(
        "public_key",
        "rsa2048.spki.pem",
        read("tests/data/keys/rsa2048.spki.pem").as_bytes(),
    );
    write(
        "public_key",
        "rsa2048.pkcs1-public.pem",
        read("tests/data/keys/rsa2048.pkcs1-public.pem").as_bytes(),
    );
    write(
        "pkcs8",
        "rsa2048.pk8.pem",
        read("tests/data/keys/rsa2048.pk8.pem").as_bytes(),
    );
    write(
        "pkcs8",
        "rsa2048.pkcs1-private.pem",
        read("tests/data/keys/rsa2048.pkcs1-private.pem").as_bytes(),
    );
    write(
        "pkcs8",
        "ed25519.pk8.der",
        &pem_body("tests/data/keys/ed25519.pk8.pem"),
    );

    // decrypt: mode byte (bits 0 and 3 the scheme: none PKCS#1 v1.5, 0 OAEP-SHA256, 3 the
    // bound OAEP; bit 1 base64 text; bit 2 the costly checks; bit 4 an identity follows as
    // a length byte and its bytes), then the ciphertext. Every seed under the 2048-bit key.
    let key_pem = read("tests/data/keys/rsa2048.pk8.pem");
    let pair = |scheme| PasswordKeyPair::from_pkcs8_pem(&key_pem, scheme).unwrap();
    let (pkcs1_pair, oaep_pair, bound_pair) = (
        pair(Scheme::Pkcs1v15),
        pair(Scheme::OaepSha256),
        pair(Scheme::OaepSha256Bound),
    );
    let identity = "2c918085744fec4301746f9a5bce4605"; // the target's default identity
    let new = |identity_id, password| NewPassword {
        identity_id,
        password,
    };
    let mut r = rng(11);
    let pkcs1 = pkcs1_pair
        .encryptor()
        .encrypt(&mut r, &new(identity, "correct horse"))
        .unwrap();
    let oaep = oaep_pair
        .encryptor()
        .encrypt(&mut r, &new(identity, "correct horse"))
        .unwrap();
    let longest = "p".repeat(pkcs1_pair.encryptor().max_password_len());
    let full = pkcs1_pair
        .encryptor()
        .encrypt(&mut r, &new(identity, &longest))
        .unwrap();
    // The crate refuses to encrypt an empty password: the bare `rsa` crate makes one.
    let bare_public =
        password_mgmt::rsa::PublicKey::from_public_key_der(oaep_pair.encryptor().spki_der())
            .unwrap();
    let empty = bare_public
        .encrypt(&mut r, Oaep::<Sha256>::new(), b"")
        .unwrap();
    let bound = bound_pair
        .encryptor()
        .encrypt(&mut r, &new(identity, "correct horse"))
        .unwrap();
    let unicode_identity = "Ábby.Smith-密码";
    let bound_unicode = bound_pair
        .encryptor()
        .encrypt(&mut r, &new(unicode_identity, "Pässwörd-密码-🔑"))
        .unwrap();
    let with_identity = |mode: u8, id: &str, ciphertext: &[u8]| {
        [
            &[mode | 16, u8::try_from(id.len()).unwrap()][..],
            id.as_bytes(),
            ciphertext,
        ]
        .concat()
    };
    // A ciphertext that starts with a zero byte (about one in 256), stripped of it.
    let short = loop {
        let c = bound_pair
            .encryptor()
            .encrypt(&mut r, &new(identity, "short"))
            .unwrap();
        if c.as_bytes()[0] == 0 {
            break c.as_bytes()[1..].to_vec();
        }
    };
    write(
        "decrypt",
        "pkcs1-valid",
        &[&[4u8][..], pkcs1.as_bytes()].concat(),
    );
    write(
        "decrypt",
        "pkcs1-longest",
        &[&[0u8][..], full.as_bytes()].concat(),
    );
    write(
        "decrypt",
        "oaep-valid",
        &[&[5u8][..], oaep.as_bytes()].concat(),
    );
    write("decrypt", "oaep-empty", &[&[5u8][..], &empty].concat());
    write(
        "decrypt",
        "pkcs1-base64",
        &[&[2u8][..], pkcs1.to_string().as_bytes()].concat(),
    );
    write(
        "decrypt",
        "oaep-base64",
        &[&[3u8][..], oaep.to_string().as_bytes()].concat(),
    );
    write(
        "decrypt",
        "pkcs1-bad-padding",
        &[&[4u8][..], &[0x42; 256]].concat(),
    );
    write(
        "decrypt",
        "above-modulus",
        &[&[0u8][..], &[0xff; 256]].concat(),
    );
    write(
        "decrypt",
        "seed-example-base64",
        &[&[2u8][..], encrypted_example.as_bytes()].concat(),
    );
    write(
        "decrypt",
        "bound-valid",
        &[&[12u8][..], bound.as_bytes()].concat(),
    );
    write(
        "decrypt",
        "bound-base64",
        &[&[14u8][..], bound.to_string().as_bytes()].concat(),
    );
    write(
        "decrypt",
        "bound-unicode-identity",
        &with_identity(12, unicode_identity, bound_unicode.as_bytes()),
    );
    write(
        "decrypt",
        "bound-other-identity",
        &with_identity(12, "2c918085744fec4301746f9a5bce4606", bound.as_bytes()),
    );
    write("decrypt", "bound-short", &[&[12u8][..], &short].concat());
    write(
        "decrypt",
        "one-byte-too-long",
        &[&[4u8, 0][..], pkcs1.as_bytes()].concat(),
    );
    write(
        "decrypt",
        "blank-identity",
        &with_identity(4, " ", pkcs1.as_bytes()),
    );

    // wire_json: the API's own examples.
    for entry in fs::read_dir(repo.join("tests/data/seeds")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            write("wire_json", &name, &fs::read(&path).unwrap());
        }
    }
    println!("seed corpora written to {}", corpus.display());
}
