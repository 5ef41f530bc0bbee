//! Password encryption: round trips, limits, key parsing, key ids, and PKCS#1 v1.5
//! implicit rejection proven with the draft's known-answer vectors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

mod fixtures;

use std::fs;
use std::path::Path;

use password_mgmt::rsa::PublicKey as BareRsaKey;
use password_mgmt::rsa::pkcs8::SubjectPublicKeyInfoRef;
use password_mgmt::rsa::traits::PublicKeyParts;
use password_mgmt::{
    EncryptedPassword, Error, KeyError, KeyPolicy, PasswordEncryptor, PasswordKeyPair, PublicKeyId,
    RngError, Scheme, ViolationKind,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

fn data(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn key_pair(bits: u32) -> PasswordKeyPair {
    PasswordKeyPair::from_pkcs8_pem(&data(&format!("keys/rsa{bits}.pk8.pem"))).unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The server's public key as a bare `rsa` key, for checks that go around this crate.
fn bare_public_key(server: &PasswordKeyPair) -> BareRsaKey {
    let spki = SubjectPublicKeyInfoRef::try_from(server.encryptor().spki_der()).unwrap();
    spki.try_into().unwrap()
}

const SCHEMES: [Scheme; 2] = [Scheme::Pkcs1v15, Scheme::OaepSha256];

#[test]
fn passwords_round_trip_for_every_size_and_scheme() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for bits in [2048u32, 3072, 4096] {
        let server = key_pair(bits);
        let client =
            PasswordEncryptor::from_spki_base64(&data(&format!("keys/rsa{bits}.spki.b64")))
                .unwrap();
        assert_eq!(client.public_key_id(), server.public_key_id());
        assert_eq!(client.modulus_bits(), bits);
        for scheme in SCHEMES {
            let max = client.max_password_len(scheme);
            let k = bits as usize / 8;
            assert_eq!(
                max,
                if scheme == Scheme::Pkcs1v15 {
                    k - 11
                } else {
                    k - 66
                }
            );
            let longest = "p".repeat(max);
            for password in [
                "correct horse battery staple",
                "Pässwörd-密码-🔑",
                "",
                &longest,
            ] {
                let encrypted = client.encrypt(&mut rng, password, scheme).unwrap();
                assert_eq!(encrypted.as_bytes().len(), k);
                // Through the wire form.
                let arrived: EncryptedPassword = encrypted.to_string().parse().unwrap();
                let decrypted = server.decrypt(&mut rng, &arrived, scheme).unwrap();
                assert_eq!(decrypted.as_str(), password, "{bits} {scheme:?}");
            }
            // One byte more is refused with the limit, never truncated.
            let err = client
                .encrypt(&mut rng, &format!("{longest}p"), scheme)
                .unwrap_err();
            assert_eq!(err.violations()[0].field(), "password");
            assert_eq!(
                err.violations()[0].kind(),
                &ViolationKind::TooLong {
                    max,
                    found: max + 1
                }
            );
            assert_eq!(err.detail_code().http_status(), 400);
        }
    }
}

#[test]
fn limits_for_2048_bits_are_245_and_190() {
    let client = key_pair(2048).encryptor().clone();
    assert_eq!(client.max_password_len(Scheme::Pkcs1v15), 245);
    assert_eq!(client.max_password_len(Scheme::OaepSha256), 190);
    // A multi-byte character counts by its bytes: 61 four-byte emoji are 244 bytes, 62 are 248.
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    assert!(
        client
            .encrypt(&mut rng, &"🔑".repeat(61), Scheme::Pkcs1v15)
            .is_ok()
    );
    assert!(
        client
            .encrypt(&mut rng, &"🔑".repeat(62), Scheme::Pkcs1v15)
            .is_err()
    );
}

#[test]
fn encryption_is_randomized() {
    let client = key_pair(2048).encryptor().clone();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for scheme in SCHEMES {
        let a = client.encrypt(&mut rng, "same", scheme).unwrap();
        let b = client.encrypt(&mut rng, "same", scheme).unwrap();
        assert_ne!(a, b);
    }
}

#[test]
fn schemes_do_not_mix() {
    let server = key_pair(2048);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let oaep = server
        .encryptor()
        .encrypt(&mut rng, "secret", Scheme::OaepSha256)
        .unwrap();
    // OAEP ciphertext read as PKCS#1 v1.5: implicit rejection gives some message, not "secret".
    let read_as_pkcs1 = server
        .decrypt_bytes(&mut rng, &oaep, Scheme::Pkcs1v15)
        .unwrap();
    assert_ne!(read_as_pkcs1.as_slice(), b"secret");
    let pkcs1 = server
        .encryptor()
        .encrypt(&mut rng, "secret", Scheme::Pkcs1v15)
        .unwrap();
    assert_eq!(
        server
            .decrypt(&mut rng, &pkcs1, Scheme::OaepSha256)
            .unwrap_err(),
        Error::Decryption
    );
}

/// The synthetic messages of draft-irtf-cfrg-rsa-guidance-10 Appendix B, through this
/// crate's own API. Source and licence: `tests/data/README.md`.
#[test]
fn implicit_rejection_known_answers_pass_through_decrypt() {
    let cases: serde_json::Value =
        serde_json::from_str(&data("cfrg-rsa-guidance/test_cases.json")).unwrap();
    let mut checked = 0;
    let mut invalid_checked = 0;
    for (group, body) in cases.as_object().unwrap() {
        let pem = data(&format!(
            "cfrg-rsa-guidance/{}",
            body["key_pem"].as_str().unwrap()
        ));
        let server = PasswordKeyPair::from_pkcs8_pem(&pem).unwrap();
        for case in body["cases"].as_array().unwrap() {
            let id = case["id"].as_str().unwrap();
            let ciphertext =
                EncryptedPassword::from_bytes(hex(case["ciphertext_hex"].as_str().unwrap()));
            let expect = &case["expect"];
            let expected: Vec<u8> = if let Some(text) = expect.get("ascii") {
                text.as_str().unwrap().as_bytes().to_vec()
            } else if let Some(h) = expect.get("hex") {
                hex(h.as_str().unwrap())
            } else {
                assert_eq!(expect["empty"], true, "{id}");
                Vec::new()
            };
            // The result must not depend on the blinding randomness.
            for seed in [1u64, 2] {
                let mut rng = ChaCha20Rng::seed_from_u64(seed);
                let got = server
                    .decrypt_bytes(&mut rng, &ciphertext, Scheme::Pkcs1v15)
                    .unwrap();
                assert_eq!(*got, expected, "{group} {id}");
            }
            // And through the string API: valid UTF-8 comes back, anything else is Decryption.
            let mut rng = ChaCha20Rng::seed_from_u64(3);
            match (
                std::str::from_utf8(&expected),
                server.decrypt(&mut rng, &ciphertext, Scheme::Pkcs1v15),
            ) {
                (Ok(text), Ok(password)) => assert_eq!(password.as_str(), text, "{id}"),
                (Err(_), Err(Error::Decryption)) => {}
                (utf8, other) => panic!("{id}: {utf8:?} vs {other:?}"),
            }
            checked += 1;
            if case["valid"] == false {
                invalid_checked += 1;
            }
        }
    }
    assert_eq!(checked, 48, "all four groups of the appendix");
    assert_eq!(invalid_checked, 36);
}

#[test]
fn flipped_ciphertexts_never_give_a_padding_error() {
    let server = key_pair(2048);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let good = server
        .encryptor()
        .encrypt(&mut rng, "Pässwörd-密码-🔑", Scheme::Pkcs1v15)
        .unwrap();
    let modulus = bare_public_key(&server).n_bytes().to_vec(); // for the range check below
    let mut outputs = std::collections::HashSet::new();
    for i in 0..good.as_bytes().len() {
        for bit in [0u8, 3, 7] {
            let mut bytes = good.as_bytes().to_vec();
            bytes[i] ^= 1 << bit;
            let at_or_above_n = bytes.as_slice() >= modulus.as_slice();
            let flipped = EncryptedPassword::from_bytes(bytes);
            match server.decrypt_bytes(&mut rng, &flipped, Scheme::Pkcs1v15) {
                Ok(message) => {
                    assert!(!at_or_above_n);
                    // Deterministic: the same ciphertext always gives the same message.
                    let again = server
                        .decrypt_bytes(&mut rng, &flipped, Scheme::Pkcs1v15)
                        .unwrap();
                    assert_eq!(message, again);
                    assert_ne!(message.as_slice(), "Pässwörd-密码-🔑".as_bytes());
                    outputs.insert(message.to_vec());
                }
                // The only error: a ciphertext that is not below the modulus (a public check).
                Err(e) => assert!(at_or_above_n && e == Error::Decryption, "byte {i}: {e:?}"),
            }
        }
    }
    // The synthetic messages differ from one another (pseudo-random, not one fixed reply).
    assert!(outputs.len() > 700, "{}", outputs.len());
}

#[test]
fn oaep_failures_are_one_error() {
    let server = key_pair(2048);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let good = server
        .encryptor()
        .encrypt(&mut rng, "secret", Scheme::OaepSha256)
        .unwrap();
    for i in [0usize, 1, 100, 255] {
        let mut bytes = good.as_bytes().to_vec();
        bytes[i] ^= 0x40;
        let err = server
            .decrypt(
                &mut rng,
                &EncryptedPassword::from_bytes(bytes),
                Scheme::OaepSha256,
            )
            .unwrap_err();
        assert_eq!(err, Error::Decryption);
        assert_eq!(
            err.to_string(),
            "the encrypted password could not be decrypted"
        );
    }
}

#[test]
fn a_plaintext_that_is_not_utf8_is_a_decryption_error() {
    let server = key_pair(2048);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    // Encrypt raw non-UTF-8 bytes with the bare `rsa` crate.
    let raw = bare_public_key(&server)
        .pkcs1v15_encrypt_with_rng(&mut rng, &[0xff, 0xfe, 0x41])
        .unwrap();
    let encrypted = EncryptedPassword::from_bytes(raw);
    assert_eq!(
        *server
            .decrypt_bytes(&mut rng, &encrypted, Scheme::Pkcs1v15)
            .unwrap(),
        [0xff, 0xfe, 0x41]
    );
    assert_eq!(
        server
            .decrypt(&mut rng, &encrypted, Scheme::Pkcs1v15)
            .unwrap_err(),
        Error::Decryption
    );
}

#[test]
fn ciphertexts_of_the_wrong_length_or_encoding_are_bad_requests() {
    let server = key_pair(2048);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    for len in [1usize, 255, 257, 512] {
        let err = server
            .decrypt(
                &mut rng,
                &EncryptedPassword::from_bytes(vec![1; len]),
                Scheme::Pkcs1v15,
            )
            .unwrap_err();
        assert_eq!(
            err.violations()[0].kind(),
            &ViolationKind::WrongLength {
                expected: 256,
                found: len
            }
        );
        assert_eq!(err.violations()[0].field(), "encryptedPassword");
    }
    for text in ["not base64!", "AAAA=", "AAA", "QUJD\n", "QUJD RA==", "-_-_"] {
        let err = text.parse::<EncryptedPassword>().unwrap_err();
        assert_eq!(err.violations()[0].field(), "encryptedPassword", "{text:?}");
    }
    assert_eq!(
        "".parse::<EncryptedPassword>().unwrap_err().violations()[0].kind(),
        &ViolationKind::Blank
    );
    // The seed's example ciphertext is well-formed base64 of 256 bytes.
    let seed = "XzN+YwKgr2C+InkMYFMBG3UtjMEw5ZIql/XFlXo8cJNeslmkplx6vn4kd4/43IF9STBk5RnzR6XmjpEO+FwHDoiBwYZAkAZK/Iswxk4OdybG6Y4MStJCOCiK8osKr35IMMSV/mbO4wAeltoCk7daTWzTGLiI6UaT5tf+F2EgdjJZ7YqM8W8r7aUWsm3p2Xt01Y46ZRx0QaM91QruiIx2rECFT2pUO0wr+7oQ77jypATyGWRtADsu3YcvCk/6U5MqCnXMzKBcRas7NnZdSL/d5H1GglVGz3VLPMaivG4/oL4chOMmFCRl/zVsGxZ9RhN8rxsRGFFKn+rhExTi+bax3A==";
    let parsed: EncryptedPassword = seed.parse().unwrap();
    assert_eq!(parsed.as_bytes().len(), 256);
    assert_eq!(parsed.to_string(), seed);
}

fn key_error(result: Result<PasswordEncryptor, Error>) -> KeyError {
    match result.unwrap_err() {
        Error::Key(e) => e,
        other => panic!("expected a key error, got {other:?}"),
    }
}

/// A DER TLV with a definite length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// An RSA `SubjectPublicKeyInfo` for a modulus and exponent (big-endian, positive).
fn spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    // DER INTEGER: a leading zero byte only when the high bit is set.
    let int = |v: &[u8]| {
        let mut c = if v[0] & 0x80 != 0 {
            vec![0u8]
        } else {
            Vec::new()
        };
        c.extend_from_slice(v);
        tlv(0x02, &c)
    };
    let rsa_key = tlv(0x30, &[int(n), int(e)].concat());
    let oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let algorithm = tlv(0x30, &[&oid[..], &[0x05, 0x00]].concat());
    let mut bits = vec![0u8];
    bits.extend(rsa_key);
    tlv(0x30, &[algorithm, tlv(0x03, &bits)].concat())
}

#[test]
fn public_keys_are_refused_with_the_reason() {
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_base64("not base64")),
        KeyError::Base64
    );
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_base64("AAAA")),
        KeyError::Malformed
    );
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_der(&[])),
        KeyError::Malformed
    );
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_base64(&data(
            "keys/ec-p256.spki.b64"
        ))),
        KeyError::NotRsa
    );
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_base64(&data(
            "keys/rsa1024.spki.b64"
        ))),
        KeyError::ModulusSize {
            bits: 1024,
            min: 2048,
            max: 8192
        }
    );
    // 8193 bits, odd: refused by size before any arithmetic.
    let mut n = vec![0x01];
    n.extend(std::iter::repeat_n(0xff, 1024));
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_der(&spki(&n, &[1, 0, 1]))),
        KeyError::ModulusSize {
            bits: 8193,
            min: 2048,
            max: 8192
        }
    );
    // e = 3 is refused unless allowed.
    let e3 = data("keys/rsa2048-e3.spki.b64");
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_base64(&e3)),
        KeyError::Exponent
    );
    let allowed =
        PasswordEncryptor::from_spki_base64_with(&e3, KeyPolicy::STRICT.allowing_any_exponent())
            .unwrap();
    assert_eq!(allowed.modulus_bits(), 2048);
    // An even or huge exponent is refused even then.
    let n2048 = vec![0xc5; 256];
    for e in [
        &[2u8][..],
        &[1, 0, 0],
        &[2, 0, 0, 0, 1],
        &[1, 0, 0, 0, 0, 1],
    ] {
        let any = KeyPolicy::STRICT.allowing_any_exponent();
        assert_eq!(
            key_error(PasswordEncryptor::from_spki_der_with(&spki(&n2048, e), any)),
            KeyError::Exponent
        );
    }
    // An even modulus passes the policy but not `rsa`'s own checks.
    let mut even = vec![0xc5; 256];
    even[255] = 0xc4;
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_der(&spki(&even, &[1, 0, 1]))),
        KeyError::Malformed
    );
    // PEM: the right label only.
    assert!(PasswordEncryptor::from_spki_pem(&data("keys/rsa2048.spki.pem")).is_ok());
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_pem(&data(
            "keys/rsa2048.pkcs1-public.pem"
        ))),
        KeyError::Pem
    );
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_pem(&data(
            "keys/rsa2048.pk8.pem"
        ))),
        KeyError::Pem
    );
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_pem("garbage")),
        KeyError::Pem
    );
    // Key errors are internal faults, and their messages say what to fix.
    let err = PasswordEncryptor::from_spki_base64(&data("keys/rsa1024.spki.b64")).unwrap_err();
    assert_eq!(err.detail_code().http_status(), 500);
    assert_eq!(
        err.to_string(),
        "RSA key refused: the modulus has 1024 bits; it must have from 2048 to 8192"
    );
}

#[test]
fn private_keys_are_refused_with_the_reason() {
    let err = |r: Result<PasswordKeyPair, Error>| match r.unwrap_err() {
        Error::Key(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        err(PasswordKeyPair::from_pkcs8_pem(&data(
            "keys/ed25519.pk8.pem"
        ))),
        KeyError::NotRsa
    );
    assert_eq!(
        err(PasswordKeyPair::from_pkcs8_pem(&data(
            "keys/rsa2048.pkcs1-private.pem"
        ))),
        KeyError::Pem
    );
    assert_eq!(
        err(PasswordKeyPair::from_pkcs8_pem(&data(
            "keys/rsa2048.spki.pem"
        ))),
        KeyError::Pem
    );
    assert_eq!(
        err(PasswordKeyPair::from_pkcs8_der(b"\x30\x03\x02\x01\x00")),
        KeyError::Malformed
    );
    let e3 = data("keys/rsa2048-e3.pk8.pem");
    assert_eq!(
        err(PasswordKeyPair::from_pkcs8_pem(&e3)),
        KeyError::Exponent
    );
    assert!(
        PasswordKeyPair::from_pkcs8_pem_with(&e3, KeyPolicy::STRICT.allowing_any_exponent())
            .is_ok()
    );
    // Corrupt the private exponent: the parts no longer agree.
    let good = key_pair(2048).to_pkcs8_der().unwrap();
    let mut bad = good.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    assert_eq!(
        err(PasswordKeyPair::from_pkcs8_der(&bad)),
        KeyError::Malformed
    );
}

#[test]
fn key_pairs_export_and_reimport() {
    let server = key_pair(2048);
    let der = server.to_pkcs8_der().unwrap();
    let pem = server.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(
        PasswordKeyPair::from_pkcs8_der(&der)
            .unwrap()
            .public_key_id(),
        server.public_key_id()
    );
    assert_eq!(
        PasswordKeyPair::from_pkcs8_pem(&pem)
            .unwrap()
            .public_key_id(),
        server.public_key_id()
    );
    // The published key is the same as openssl's SPKI for it.
    assert_eq!(
        server.public_key_base64(),
        data("keys/rsa2048.spki.b64").trim()
    );
}

#[test]
fn generated_key_pairs_work() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let server = PasswordKeyPair::generate(&mut rng, 2048).unwrap();
    assert_eq!(server.encryptor().modulus_bits(), 2048);
    let client = PasswordEncryptor::from_spki_base64(&server.public_key_base64()).unwrap();
    let encrypted = client
        .encrypt(&mut rng, "new password", Scheme::OaepSha256)
        .unwrap();
    assert_eq!(
        server
            .decrypt(&mut rng, &encrypted, Scheme::OaepSha256)
            .unwrap()
            .as_str(),
        "new password"
    );
    for bits in [0u32, 1024, 2047, 8193, u32::MAX] {
        let err = PasswordKeyPair::generate(&mut rng, bits).unwrap_err();
        assert_eq!(
            err.violations()[0].kind(),
            &ViolationKind::OutOfRange {
                min: 2048,
                max: 8192,
                found: bits.into()
            }
        );
    }
}

#[test]
fn key_ids_are_rfc_7638_thumbprints() {
    // RFC 7638, section 3.1: the example RSA key and its thumbprint.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let n = base64url(n);
    let client = PasswordEncryptor::from_spki_der(&spki(&n, &[1, 0, 1])).unwrap();
    assert_eq!(
        client.public_key_id().to_string(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    let parsed: PublicKeyId = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        .parse()
        .unwrap();
    assert_eq!(parsed, client.public_key_id());
    // Different keys, different ids; the same key from any encoding, the same id.
    let ids: Vec<_> = [2048, 3072, 4096]
        .map(|b| key_pair(b).public_key_id())
        .into();
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    let from_pem = PasswordEncryptor::from_spki_pem(&data("keys/rsa2048.spki.pem")).unwrap();
    assert_eq!(from_pem.public_key_id(), ids[0]);
    // Malformed ids are refused; the seed's opaque example id is not a thumbprint.
    for bad in [
        "",
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X",
        "NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs",
        "YWQ2NjQ4MTItZjY0NC00MWExLWFjMjktOGNmMzU3Y2VlNjk2",
    ] {
        let err = bad.parse::<PublicKeyId>().unwrap_err();
        assert_eq!(err.violations()[0].field(), "publicKeyId", "{bad}");
    }
}

/// Base64url without padding, decoded by hand (the test must not trust the crate's codec).
fn base64url(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c}"),
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn debug_output_shows_no_key_material() {
    let server = key_pair(2048);
    let debug = format!("{server:?}");
    assert_eq!(
        debug,
        format!(
            "PasswordKeyPair {{ public_key_id: {:?}, modulus_bits: 2048, .. }}",
            server.public_key_id()
        )
    );
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let encrypted = server
        .encryptor()
        .encrypt(&mut rng, "hunter2", Scheme::Pkcs1v15)
        .unwrap();
    assert_eq!(
        format!("{encrypted:?}"),
        "EncryptedPassword { bytes: 256, .. }"
    );
}

#[test]
fn encryption_and_decryption_draw_from_the_callers_rng() {
    // A failing RNG fails both: decryption is blinded with it, never unblinded.
    let server = key_pair(2048);
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for scheme in SCHEMES {
        let encrypted = server
            .encryptor()
            .encrypt(&mut rng, "secret", scheme)
            .unwrap();
        assert_eq!(
            server
                .decrypt(&mut fixtures::Failing, &encrypted, scheme)
                .unwrap_err(),
            Error::Rng(RngError::Failed)
        );
        assert_eq!(
            server
                .encryptor()
                .encrypt(&mut fixtures::Failing, "secret", scheme)
                .unwrap_err(),
            Error::Rng(RngError::Failed)
        );
    }
}

#[test]
fn base64_and_der_are_strict() {
    let good = data("keys/rsa3072.spki.b64").trim().to_owned();
    assert!(good.ends_with('='), "the 3072-bit key's base64 is padded");
    assert!(PasswordEncryptor::from_spki_base64(&good).is_ok());
    let spaced = format!("{} {}", &good[..40], &good[40..]);
    let url_safe = good.replace('+', "-").replace('/', "_");
    assert_ne!(url_safe, good);
    let unpadded = good.trim_end_matches('=').to_owned();
    for bad in [
        spaced,
        url_safe,
        unpadded,
        format!("{}\n{}", &good[..64], &good[64..]),
    ] {
        assert_eq!(
            key_error(PasswordEncryptor::from_spki_base64(&bad)),
            KeyError::Base64
        );
    }
    // Trailing bytes after the DER structure.
    let mut der = key_pair(2048).encryptor().spki_der().to_vec();
    der.push(0);
    assert_eq!(
        key_error(PasswordEncryptor::from_spki_der(&der)),
        KeyError::Malformed
    );
}

#[test]
fn limits_for_a_modulus_of_2049_bits() {
    // k = 257 bytes: 246 for PKCS#1 v1.5, 191 for OAEP-SHA256.
    let server = PasswordKeyPair::from_pkcs8_pem(&data("cfrg-rsa-guidance/k2049.pem")).unwrap();
    assert_eq!(server.encryptor().modulus_bits(), 2049);
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    for (scheme, max) in [(Scheme::Pkcs1v15, 246), (Scheme::OaepSha256, 191)] {
        assert_eq!(server.encryptor().max_password_len(scheme), max);
        let longest = "z".repeat(max);
        let encrypted = server
            .encryptor()
            .encrypt(&mut rng, &longest, scheme)
            .unwrap();
        assert_eq!(encrypted.as_bytes().len(), 257);
        assert_eq!(
            server
                .decrypt(&mut rng, &encrypted, scheme)
                .unwrap()
                .as_str(),
            longest
        );
        assert!(
            server
                .encryptor()
                .encrypt(&mut rng, &format!("{longest}z"), scheme)
                .is_err()
        );
    }
}
