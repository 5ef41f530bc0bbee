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
    AttemptLimit, IssuedToken, KeyPolicy, NewPassword, PasswordKeyPair, Scheme, TokenLength,
    TokenParams, TokenTtl, issue,
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

    // issued_record: a record, then flags | seconds | nanoseconds | user length | user | candidate.
    let key = token_key();
    let params = |len, minutes, limit| {
        TokenParams::new(
            TokenLength::new(len).unwrap(),
            TokenTtl::from_minutes(minutes).unwrap(),
        )
        .with_attempt_limit(AttemptLimit::new(limit).unwrap())
    };
    let verify_args = |flags: u8, secs: i64, user: &str, candidate: &str| {
        let mut out = vec![flags];
        if flags & 1 == 1 {
            out.extend(secs.to_be_bytes());
        } else {
            let offset = i16::try_from(secs).unwrap();
            out.extend(offset.to_be_bytes());
            out.extend([0; 6]);
        }
        out.extend(0u32.to_be_bytes());
        out.push(u8::try_from(user.len()).unwrap());
        out.extend(user.as_bytes());
        out.extend(candidate.as_bytes());
        out
    };
    let at = |secs| UtcDateTime::from_unix_timestamp(secs).unwrap();
    let cases: [(&str, i64, (u8, u8, u8)); 4] = [
        ("2026", 1_795_000_000, (6, 5, 5)),
        ("1938-negative-unix-time", -1_000_000_000, (8, 10, 3)),
        (
            "year-9999",
            UtcDateTime::MAX.unix_timestamp() - 3600,
            (18, 60, 1),
        ),
        (
            "year-minus-9999",
            UtcDateTime::MIN.unix_timestamp(),
            (12, 1, 10),
        ),
    ];
    for (i, (name, secs, (len, minutes, limit))) in cases.into_iter().enumerate() {
        let issued = issue(
            &mut rng(i as u64),
            &key,
            USER,
            &params(len, minutes, limit),
            at(secs),
        )
        .unwrap();
        let token = issued.token.as_str();
        let record = issued.record.encode();
        // The right token with its last digit changed.
        let last = token.as_bytes()[token.len() - 1] - b'0';
        let wrong = format!("{}{}", &token[..token.len() - 1], (last + 1) % 10);
        let with = |args: Vec<u8>| [record.as_slice(), &args].concat();
        write("issued_record", &format!("{name}-record-only"), &record);
        write(
            "issued_record",
            &format!("{name}-right"),
            &with(verify_args(0, 30, USER, token)),
        );
        write(
            "issued_record",
            &format!("{name}-wrong"),
            &with(verify_args(0, 30, USER, &wrong)),
        );
        write(
            "issued_record",
            &format!("{name}-malformed"),
            &with(verify_args(0, 1, USER, "12a")),
        );
        write(
            "issued_record",
            &format!("{name}-too-early"),
            &with(verify_args(0, -1, USER, token)),
        );
        write(
            "issued_record",
            &format!("{name}-expired-absolute"),
            &with(verify_args(1, secs + i64::from(minutes) * 60, USER, token)),
        );
        write(
            "issued_record",
            &format!("{name}-other-key"),
            &with(verify_args(2, 30, USER, token)),
        );
        write(
            "issued_record",
            &format!("{name}-blank-user"),
            &with(verify_args(0, 30, " \t", token)),
        );
        let now = at(secs) + password_mgmt::time::Duration::seconds(30);
        let used = issued.record.verify(&key, USER, token, now).unwrap().record;
        write(
            "issued_record",
            &format!("{name}-used"),
            &[used.encode().as_slice(), &verify_args(0, 40, USER, token)].concat(),
        );
        let mut locked: IssuedToken = issued.record.clone();
        for _ in 0..limit {
            locked = locked.verify(&key, USER, &wrong, now).unwrap().record;
        }
        write(
            "issued_record",
            &format!("{name}-locked"),
            &[locked.encode().as_slice(), &verify_args(0, 40, USER, token)].concat(),
        );
    }

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
    let requests: [(&str, Vec<u8>); 7] = [
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
        (
            "end-of-time",
            request(enabled.clone(), 0b10, 0, 60, 253_402_300_000, USER),
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
