//! Password encryption under all three schemes: round trips, limits, key parsing, key ids,
//! the identity-binding OAEP label (pinned by an independent computation), left-padded
//! short ciphertexts, plaintext checks, and PKCS#1 v1.5 implicit rejection proven with the
//! draft's known-answer vectors.

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

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use password_mgmt::rsa::pkcs8::{DecodePrivateKey, SubjectPublicKeyInfoRef};
use password_mgmt::rsa::sha2::Sha256;
use password_mgmt::rsa::traits::PublicKeyParts;
use password_mgmt::rsa::{
    Oaep, Pkcs1v15Encrypt, PrivateKey as BarePrivateKey, PublicKey as BareRsaKey,
};
use password_mgmt::{
    EncryptedPassword, Error, KeyError, KeyPolicy, NewPassword, PasswordEncryptor, PasswordKeyPair,
    PublicKeyId, RngError, Scheme, ViolationKind,
};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

fn data(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn key_pair(bits: u32, scheme: Scheme) -> PasswordKeyPair {
    PasswordKeyPair::from_pkcs8_pem(&data(&format!("keys/rsa{bits}.pk8.pem")), scheme).unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

const SCHEMES: [Scheme; 3] = [
    Scheme::Pkcs1v15,
    Scheme::OaepSha256,
    Scheme::OaepSha256Bound,
];

/// The identity of most tests (the API's example `identityId`).
const IDENTITY: &str = "2c918085744fec4301746f9a5bce4605";

/// A new password for [`IDENTITY`].
fn new(password: &str) -> NewPassword<'_> {
    NewPassword {
        identity_id: IDENTITY,
        password,
    }
}

/// The server's public key as a bare `rsa` key, for checks that go around this crate.
fn bare_public_key(server: &PasswordKeyPair) -> BareRsaKey {
    let spki = SubjectPublicKeyInfoRef::try_from(server.encryptor().spki_der()).unwrap();
    spki.try_into().unwrap()
}

/// The server's private key as a bare `rsa` key.
fn bare_private_key(server: &PasswordKeyPair) -> BarePrivateKey {
    BarePrivateKey::from_pkcs8_der(&server.to_pkcs8_der().unwrap()).unwrap()
}

/// The RFC 7638 thumbprint of an RSA public key, computed here from its parts with `sha2`
/// and `base64ct` (not with the crate's code): base64url of SHA-256 over
/// `{"e":"…","kty":"RSA","n":"…"}`.
fn thumbprint(key: &BareRsaKey) -> String {
    use password_mgmt::rsa::sha2::Digest;
    let jwk = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        Base64UrlUnpadded::encode_string(&key.e_bytes()),
        Base64UrlUnpadded::encode_string(&key.n_bytes()),
    );
    Base64UrlUnpadded::encode_string(&Sha256::digest(jwk.as_bytes()))
}

/// The label of `oaep-sha256-bound`, from the documented recipe:
/// `"password-mgmt/v1 oaep-label\0" ‖ publicKeyId (43 base64url characters) ‖ identityId`.
fn bound_label(key: &BareRsaKey, identity_id: &str) -> Vec<u8> {
    let id = thumbprint(key);
    assert_eq!(id.len(), 43);
    [
        b"password-mgmt/v1 oaep-label\0".as_slice(),
        id.as_bytes(),
        identity_id.as_bytes(),
    ]
    .concat()
}

/// Encrypts raw bytes under `key` with the bare `rsa` crate, as a client of `scheme` for
/// `identity_id` would (the label computed by [`bound_label`]), bypassing every check of
/// this crate's encryptor.
fn raw_encrypt(
    rng: &mut ChaCha20Rng,
    key: &BareRsaKey,
    scheme: Scheme,
    identity_id: &str,
    message: &[u8],
) -> EncryptedPassword {
    let ciphertext = match scheme {
        Scheme::Pkcs1v15 => key.encrypt(rng, Pkcs1v15Encrypt, message),
        Scheme::OaepSha256 => key.encrypt(rng, Oaep::<Sha256>::new(), message),
        Scheme::OaepSha256Bound => key.encrypt(
            rng,
            Oaep::<Sha256>::new_with_label(bound_label(key, identity_id)),
            message,
        ),
        other => panic!("a scheme this test does not know: {other}"),
    };
    EncryptedPassword::from_bytes(ciphertext.unwrap())
}

#[test]
fn passwords_round_trip_for_every_size_and_scheme() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for bits in [2048u32, 3072, 4096] {
        for scheme in SCHEMES {
            let server = key_pair(bits, scheme);
            let client = PasswordEncryptor::from_spki_base64(
                &data(&format!("keys/rsa{bits}.spki.b64")),
                scheme,
            )
            .unwrap();
            assert_eq!(client.public_key_id(), server.public_key_id());
            assert_eq!((client.scheme(), server.scheme()), (scheme, scheme));
            assert_eq!(client.modulus_bits(), bits);
            let k = bits as usize / 8;
            assert_eq!(client.ciphertext_len(), k);
            let max = client.max_password_len();
            assert_eq!(
                max,
                if scheme == Scheme::Pkcs1v15 {
                    k - 11
                } else {
                    k - 66
                }
            );
            let longest = "p".repeat(max);
            for password in ["correct horse battery staple", "Pässwörd-密码-🔑", &longest] {
                let encrypted = client.encrypt(&mut rng, &new(password)).unwrap();
                assert_eq!(encrypted.as_bytes().len(), k);
                // Through the wire form.
                let arrived: EncryptedPassword = encrypted.to_string().parse().unwrap();
                let decrypted = server.decrypt(&mut rng, &arrived, IDENTITY).unwrap();
                assert_eq!(decrypted.as_str(), password, "{bits} {scheme}");
            }
            // One byte more is refused with the limit, never truncated.
            let err = client
                .encrypt(&mut rng, &new(&format!("{longest}p")))
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
fn empty_passwords_are_refused_before_encryption() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    for scheme in SCHEMES {
        let client = key_pair(2048, scheme).encryptor().clone();
        let err = client.encrypt(&mut rng, &new("")).unwrap_err();
        assert_eq!(err.violations().len(), 1, "{scheme}");
        assert_eq!(err.violations()[0].field(), "password");
        assert_eq!(err.violations()[0].kind(), &ViolationKind::Empty);
        assert_eq!(err.to_string(), "invalid input: password must not be empty");
        assert_eq!(err.detail_code().http_status(), 400);
        // A single space is not empty: only the empty password is refused.
        assert!(client.encrypt(&mut rng, &new(" ")).is_ok());
    }
}

#[test]
fn identity_ids_are_checked_under_every_scheme() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let longest = "i".repeat(256);
    let too_long = "i".repeat(257);
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let client = server.encryptor();
        let good = client.encrypt(&mut rng, &new("secret")).unwrap();
        for (identity_id, kind) in [
            ("", ViolationKind::Blank),
            (" \t\u{2003}", ViolationKind::Blank),
            (
                too_long.as_str(),
                ViolationKind::TooLong {
                    max: 256,
                    found: 257,
                },
            ),
        ] {
            let what = format!("{scheme} {identity_id:?}");
            let err = client
                .encrypt(
                    &mut rng,
                    &NewPassword {
                        identity_id,
                        password: "secret",
                    },
                )
                .unwrap_err();
            assert_eq!(err.violations()[0].field(), "identityId", "{what}");
            assert_eq!(err.violations()[0].kind(), &kind, "{what}");
            for err in [
                server.decrypt(&mut rng, &good, identity_id).unwrap_err(),
                server
                    .decrypt_bytes(&mut rng, &good, identity_id)
                    .unwrap_err(),
            ] {
                assert_eq!(err.violations()[0].field(), "identityId", "{what}");
                assert_eq!(err.violations()[0].kind(), &kind, "{what}");
            }
        }
        // 256 bytes is allowed, multi-byte characters counted by their bytes.
        let wide = "密".repeat(85); // 255 bytes
        for identity_id in [longest.as_str(), wide.as_str(), "a"] {
            let encrypted = client
                .encrypt(
                    &mut rng,
                    &NewPassword {
                        identity_id,
                        password: "secret",
                    },
                )
                .unwrap();
            let password = server.decrypt(&mut rng, &encrypted, identity_id).unwrap();
            assert_eq!(password.as_str(), "secret", "{scheme}");
        }
    }
}

#[test]
fn limits_for_2048_bits_are_245_and_190() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for (scheme, max) in [
        (Scheme::Pkcs1v15, 245),
        (Scheme::OaepSha256, 190),
        (Scheme::OaepSha256Bound, 190),
    ] {
        let client = key_pair(2048, scheme).encryptor().clone();
        assert_eq!(client.max_password_len(), max);
        // A multi-byte character counts by its bytes.
        let fits = "🔑".repeat(max / 4);
        let over = "🔑".repeat(max / 4 + 1);
        assert!(client.encrypt(&mut rng, &new(&fits)).is_ok());
        let err = client.encrypt(&mut rng, &new(&over)).unwrap_err();
        assert_eq!(
            err.violations()[0].kind(),
            &ViolationKind::TooLong {
                max,
                found: over.len()
            }
        );
    }
}

#[test]
fn encryption_is_randomized() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for scheme in SCHEMES {
        let client = key_pair(2048, scheme).encryptor().clone();
        let a = client.encrypt(&mut rng, &new("same")).unwrap();
        let b = client.encrypt(&mut rng, &new("same")).unwrap();
        assert_ne!(a, b, "{scheme}");
    }
}

/// (e) The same RSA key loaded for one scheme never opens another scheme's ciphertext to
/// the password: under OAEP it is an error, under PKCS#1 v1.5 (implicit rejection) some
/// other message.
#[test]
fn a_key_of_one_scheme_never_decrypts_another_schemes_ciphertext() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let password = "correct horse battery staple";
    for server_scheme in SCHEMES {
        let server = key_pair(2048, server_scheme);
        for client_scheme in SCHEMES {
            // A client that encrypts under the published key with the wrong scheme.
            let client = server.encryptor().with_scheme(client_scheme);
            assert_eq!(client.scheme(), client_scheme);
            assert_eq!(client.public_key_id(), server.public_key_id());
            assert_eq!(server.encryptor().scheme(), server_scheme, "unchanged");
            let encrypted = client.encrypt(&mut rng, &new(password)).unwrap();
            let what = format!("{client_scheme} ciphertext, {server_scheme} key");
            let bytes = server.decrypt_bytes(&mut rng, &encrypted, IDENTITY);
            let text = server.decrypt(&mut rng, &encrypted, IDENTITY);
            if client_scheme == server_scheme {
                assert_eq!(text.unwrap().as_str(), password, "{what}");
                continue;
            }
            match server_scheme {
                Scheme::Pkcs1v15 => {
                    // Implicit rejection: a synthetic message, never the password; `decrypt`
                    // returns it only if it looks like one (it is not this password).
                    let bytes = bytes.unwrap();
                    assert_ne!(bytes.as_slice(), password.as_bytes(), "{what}");
                    assert_eq!(
                        text.as_deref().map(String::as_str).ok(),
                        password_like(&bytes),
                        "{what}"
                    );
                }
                _ => {
                    assert_eq!(bytes.unwrap_err(), Error::Decryption, "{what}");
                    assert_eq!(text.unwrap_err(), Error::Decryption, "{what}");
                }
            }
        }
    }
}

/// The synthetic messages of draft-irtf-cfrg-rsa-guidance-10 Appendix B, through this
/// crate's own API. Source and licence: `tests/data/README.md`.
#[test]
fn implicit_rejection_known_answers_pass_through_decrypt() {
    let mut checked = 0;
    let mut invalid_checked = 0;
    for (group, server, case) in known_answers() {
        let id = &case.id;
        // The result must not depend on the blinding randomness.
        for seed in [1u64, 2] {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let got = server
                .decrypt_bytes(&mut rng, &case.ciphertext, IDENTITY)
                .unwrap();
            assert_eq!(*got, case.expected, "{group} {id}");
        }
        // And through the string API: a non-empty UTF-8 message without control characters
        // comes back, anything else is Decryption.
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        match (
            password_like(&case.expected),
            server.decrypt(&mut rng, &case.ciphertext, IDENTITY),
        ) {
            (Some(text), Ok(password)) => assert_eq!(password.as_str(), text, "{id}"),
            (None, Err(Error::Decryption)) => {}
            (expected, other) => panic!("{id}: {expected:?} vs {other:?}"),
        }
        checked += 1;
        if !case.valid {
            invalid_checked += 1;
        }
    }
    assert_eq!(checked, 48, "all four groups of the appendix");
    assert_eq!(invalid_checked, 36);
}

/// What `decrypt` must return for plaintext bytes: the text when it is non-empty UTF-8
/// without control characters, else nothing (an `Error::Decryption`).
fn password_like(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
}

struct KnownAnswer {
    id: String,
    valid: bool,
    ciphertext: EncryptedPassword,
    expected: Vec<u8>,
}

/// Every case of `cfrg-rsa-guidance/test_cases.json`, with its group and key (loaded for
/// PKCS#1 v1.5).
fn known_answers() -> Vec<(String, std::rc::Rc<PasswordKeyPair>, KnownAnswer)> {
    let cases: serde_json::Value =
        serde_json::from_str(&data("cfrg-rsa-guidance/test_cases.json")).unwrap();
    let mut out = Vec::new();
    for (group, body) in cases.as_object().unwrap() {
        let pem = data(&format!(
            "cfrg-rsa-guidance/{}",
            body["key_pem"].as_str().unwrap()
        ));
        let server =
            std::rc::Rc::new(PasswordKeyPair::from_pkcs8_pem(&pem, Scheme::Pkcs1v15).unwrap());
        for case in body["cases"].as_array().unwrap() {
            let id = case["id"].as_str().unwrap().to_owned();
            let expect = &case["expect"];
            let expected: Vec<u8> = if let Some(text) = expect.get("ascii") {
                text.as_str().unwrap().as_bytes().to_vec()
            } else if let Some(h) = expect.get("hex") {
                hex(h.as_str().unwrap())
            } else {
                assert_eq!(expect["empty"], true, "{id}");
                Vec::new()
            };
            let answer = KnownAnswer {
                ciphertext: EncryptedPassword::from_bytes(hex(case["ciphertext_hex"]
                    .as_str()
                    .unwrap())),
                valid: case["valid"] != false,
                id,
                expected,
            };
            out.push((group.clone(), server.clone(), answer));
        }
    }
    out
}

/// (a) Some clients strip a ciphertext's leading zero bytes. Every known-answer ciphertext
/// that starts with zeros decrypts, stripped, exactly as in full: the same message, valid
/// or synthetic (a wrong padding would give another synthetic message, not an error).
#[test]
fn known_answers_stripped_of_leading_zeros_decrypt_the_same() {
    let mut stripped_cases = Vec::new();
    for (group, server, case) in known_answers() {
        let full = case.ciphertext.as_bytes();
        assert_eq!(
            full.len(),
            server.encryptor().ciphertext_len(),
            "{}",
            case.id
        );
        let zeros = full.iter().take_while(|&&b| b == 0).count();
        if zeros == 0 {
            continue;
        }
        for strip in 1..=zeros {
            let short = EncryptedPassword::from_bytes(full[strip..].to_vec());
            let mut rng = ChaCha20Rng::seed_from_u64(21);
            let got = server.decrypt_bytes(&mut rng, &short, IDENTITY).unwrap();
            assert_eq!(
                *got, case.expected,
                "{group} {} without {strip} zeros",
                case.id
            );
            let text = server.decrypt(&mut rng, &short, IDENTITY);
            assert_eq!(
                text.as_deref().map(String::as_str).ok(),
                password_like(&case.expected),
                "{}",
                case.id
            );
        }
        stripped_cases.push(case.id);
    }
    // Valid and invalid cases of all four keys (B.2's 2049-bit modulus among them).
    assert_eq!(
        stripped_cases,
        [
            "B.1.4", "B.1.7", "B.1.11", "B.2.3", "B.2.4", "B.2.7", "B.2.9", "B.2.10", "B.3.4",
            "B.3.7", "B.4.4", "B.4.7"
        ]
    );
}

/// (a) The crate's own ciphertexts that start with a zero byte (about one in 256, found
/// with a seeded RNG) decrypt, stripped, to the same password under every scheme; one byte
/// more than the modulus is refused as too long, even when that byte is zero.
#[test]
fn short_ciphertexts_are_left_padded_and_long_ones_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let client = server.encryptor();
        let password = "Pässwörd-密码-🔑";
        let mut tries = 0;
        let encrypted = loop {
            tries += 1;
            assert!(tries < 5000, "{scheme}: no ciphertext with a leading zero");
            let encrypted = client.encrypt(&mut rng, &new(password)).unwrap();
            if encrypted.as_bytes()[0] == 0 {
                break encrypted;
            }
        };
        let full = encrypted.as_bytes();
        assert_eq!(full.len(), 256);
        let zeros = full.iter().take_while(|&&b| b == 0).count();
        let short = EncryptedPassword::from_bytes(full[zeros..].to_vec());
        assert!(short.as_bytes().len() < 256);
        // Through the wire form too: the short ciphertext's base64 is what such a client sends.
        let short: EncryptedPassword = short.to_string().parse().unwrap();
        assert_eq!(
            server.decrypt(&mut rng, &short, IDENTITY).unwrap().as_str(),
            password,
            "{scheme}, {tries} tries"
        );

        // Longer than the modulus: a bad request naming the field, whatever the bytes.
        for long in [
            [&[0u8][..], full].concat(),
            [full, &[0u8][..]].concat(),
            vec![1; 512],
        ] {
            let found = long.len();
            for err in [
                server
                    .decrypt(
                        &mut rng,
                        &EncryptedPassword::from_bytes(long.clone()),
                        IDENTITY,
                    )
                    .unwrap_err(),
                server
                    .decrypt_bytes(
                        &mut rng,
                        &EncryptedPassword::from_bytes(long.clone()),
                        IDENTITY,
                    )
                    .unwrap_err(),
            ] {
                assert_eq!(err.violations()[0].field(), "encryptedPassword");
                assert_eq!(
                    err.violations()[0].kind(),
                    &ViolationKind::TooLong { max: 256, found }
                );
                assert_eq!(err.detail_code().http_status(), 400);
            }
        }
    }
}

/// (a) Left-padding is exactly zero-padding: any short ciphertext decrypts like the full
/// one with zeros in front, including synthetic PKCS#1 v1.5 messages (which depend on
/// every byte of the ciphertext) and the degenerate empty and one-byte ciphertexts.
#[test]
fn short_ciphertexts_decrypt_like_their_zero_padded_form() {
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let mut random = [0u8; 256];
        for (i, b) in random.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        for short in [
            random[3..].to_vec(),
            random[1..].to_vec(),
            random[200..].to_vec(),
            vec![0x42],
        ] {
            let padded = [vec![0u8; 256 - short.len()], short.clone()].concat();
            let short_result = server
                .decrypt_bytes(
                    &mut rng,
                    &EncryptedPassword::from_bytes(short.clone()),
                    IDENTITY,
                )
                .map(|b| b.to_vec());
            let padded_result = server
                .decrypt_bytes(&mut rng, &EncryptedPassword::from_bytes(padded), IDENTITY)
                .map(|b| b.to_vec());
            assert_eq!(
                short_result,
                padded_result,
                "{scheme}, {} bytes",
                short.len()
            );
            if scheme == Scheme::Pkcs1v15 {
                // Implicit rejection answers every ciphertext below the modulus.
                assert!(short_result.is_ok(), "{} bytes", short.len());
            }
        }
        // An empty ciphertext is no ciphertext, not a zero one.
        let empty = server.decrypt_bytes(
            &mut rng,
            &EncryptedPassword::from_bytes(Vec::new()),
            IDENTITY,
        );
        assert_eq!(
            empty.unwrap_err().violations()[0].kind(),
            &ViolationKind::Blank,
            "{scheme}"
        );
    }
}

/// (b) An empty plaintext (a valid ciphertext of the empty message, which this crate's
/// encryptor refuses to make) is returned by `decrypt_bytes` and refused by `decrypt`.
#[test]
fn empty_plaintexts_are_a_decryption_error() {
    let mut rng = ChaCha20Rng::seed_from_u64(24);
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let encrypted = raw_encrypt(&mut rng, &bare_public_key(&server), scheme, IDENTITY, b"");
        assert!(
            server
                .decrypt_bytes(&mut rng, &encrypted, IDENTITY)
                .unwrap()
                .is_empty(),
            "{scheme}"
        );
        assert_eq!(
            server.decrypt(&mut rng, &encrypted, IDENTITY).unwrap_err(),
            Error::Decryption,
            "{scheme}"
        );
    }
}

/// (c) A control character anywhere in the plaintext (C0, DEL or C1) makes `decrypt`
/// refuse it; `decrypt_bytes` returns it unchanged. Characters next to those ranges pass.
#[test]
fn control_characters_are_refused_by_decrypt_only() {
    let mut rng = ChaCha20Rng::seed_from_u64(25);
    let refused = [
        "\0",
        "pass\0word",
        "tab\there",
        "line\n",
        "\r\nx",
        "esc\u{1b}[0m",
        "\u{1f}",
        "del\u{7f}",
        "next line\u{85}",
        "\u{9f}end",
    ];
    let accepted = [
        " ",
        "~",
        "\u{a0}",
        "a\u{a0}b",
        "zero\u{200b}width",
        "\u{2028}",
    ];
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let public = bare_public_key(&server);
        for text in refused.iter().chain(&accepted) {
            let encrypted = raw_encrypt(&mut rng, &public, scheme, IDENTITY, text.as_bytes());
            assert_eq!(
                server
                    .decrypt_bytes(&mut rng, &encrypted, IDENTITY)
                    .unwrap()
                    .as_slice(),
                text.as_bytes(),
                "{scheme} {text:?}"
            );
            let result = server.decrypt(&mut rng, &encrypted, IDENTITY);
            if refused.contains(text) {
                assert_eq!(result.unwrap_err(), Error::Decryption, "{scheme} {text:?}");
            } else {
                assert_eq!(result.unwrap().as_str(), *text, "{scheme} {text:?}");
            }
        }
    }
}

/// What the crate's encryptor accepts, the crate's `decrypt` returns: a password with a
/// control character, which `decrypt` always refuses, should be refused by `encrypt` with a
/// violation naming `password`, not sent to fail as an undecryptable ciphertext.
#[test]
fn the_encryptor_refuses_what_decrypt_would_refuse() {
    let mut rng = ChaCha20Rng::seed_from_u64(29);
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        for password in ["tab\there", "pass\0word", "line\n", "del\u{7f}", "\u{85}"] {
            match server.encryptor().encrypt(&mut rng, &new(password)) {
                Ok(encrypted) => panic!(
                    "{scheme} {password:?}: encrypted, then decrypt gives {:?}",
                    server.decrypt(&mut rng, &encrypted, IDENTITY).map(|_| ())
                ),
                Err(err) => {
                    assert_eq!(err.violations()[0].field(), "password");
                    assert_eq!(err.violations()[0].kind(), &ViolationKind::ControlCharacter);
                }
            }
        }
    }
}

#[test]
fn a_plaintext_that_is_not_utf8_is_a_decryption_error() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let public = bare_public_key(&server);
        for raw in [
            &[0xff, 0xfe, 0x41][..],
            b"abc\xc3",
            b"\xed\xa0\x80",
            b"\xc0\xaf",
        ] {
            let encrypted = raw_encrypt(&mut rng, &public, scheme, IDENTITY, raw);
            assert_eq!(
                *server
                    .decrypt_bytes(&mut rng, &encrypted, IDENTITY)
                    .unwrap(),
                raw,
                "{scheme}"
            );
            assert_eq!(
                server.decrypt(&mut rng, &encrypted, IDENTITY).unwrap_err(),
                Error::Decryption,
                "{scheme} {raw:?}"
            );
        }
    }
}

/// (d) The label recipe, pinned: the label computed here from the documented recipe (with
/// a thumbprint computed here too) opens the crate's `oaep-sha256-bound` ciphertexts with
/// the bare `rsa` crate, and the crate opens ciphertexts made with it. An empty label, or
/// the label of another identity, does not.
#[test]
fn the_bound_label_follows_the_documented_recipe() {
    let mut rng = ChaCha20Rng::seed_from_u64(26);
    for bits in [2048u32, 3072] {
        let server = key_pair(bits, Scheme::OaepSha256Bound);
        let public = bare_public_key(&server);
        let private = bare_private_key(&server);
        assert_eq!(thumbprint(&public), server.public_key_id().to_string());
        for identity_id in [IDENTITY, "Ábby.Smith-密码", "x"] {
            let label = bound_label(&public, identity_id);
            let password = "Pässwörd-密码-🔑";
            let new = NewPassword {
                identity_id,
                password,
            };
            let encrypted = server.encryptor().encrypt(&mut rng, &new).unwrap();
            let opened = private
                .decrypt_blinded(
                    &mut rng,
                    Oaep::<Sha256>::new_with_label(label.clone()),
                    encrypted.as_bytes(),
                )
                .unwrap();
            assert_eq!(opened, password.as_bytes(), "{bits} {identity_id}");
            for wrong in [
                Oaep::<Sha256>::new(),
                Oaep::<Sha256>::new_with_label(bound_label(&public, "someone else")),
                Oaep::<Sha256>::new_with_label(label[..label.len() - 1].to_vec()),
            ] {
                assert!(
                    private
                        .decrypt_blinded(&mut rng, wrong, encrypted.as_bytes())
                        .is_err()
                );
            }
            // The other direction: a ciphertext made with the bare crate and the recipe.
            let made = raw_encrypt(
                &mut rng,
                &public,
                Scheme::OaepSha256Bound,
                identity_id,
                password.as_bytes(),
            );
            assert_eq!(
                server
                    .decrypt(&mut rng, &made, identity_id)
                    .unwrap()
                    .as_str(),
                password
            );
        }
    }
}

/// (d) A bound ciphertext is for one identity and one key: replayed for another identity
/// (however similar), or made under one key with another key's id in its label, it does
/// not decrypt. Under the unbound schemes the identity is not part of the ciphertext.
#[test]
fn bound_ciphertexts_do_not_cross_identities_or_keys() {
    let mut rng = ChaCha20Rng::seed_from_u64(27);
    let server = key_pair(2048, Scheme::OaepSha256Bound);
    let other = key_pair(3072, Scheme::OaepSha256Bound);
    let encrypted = server
        .encryptor()
        .encrypt(&mut rng, &new("secret"))
        .unwrap();
    assert_eq!(
        server
            .decrypt(&mut rng, &encrypted, IDENTITY)
            .unwrap()
            .as_str(),
        "secret"
    );
    let upper = IDENTITY.to_uppercase();
    let spaced = format!("{IDENTITY} ");
    let longer = format!("{IDENTITY}0");
    let others = [
        "2c918085744fec4301746f9a5bce4606",
        &IDENTITY[..31],
        &longer,
        &upper,
        &spaced,
        "Abby.Smith",
    ];
    for identity_id in others {
        for err in [
            server
                .decrypt(&mut rng, &encrypted, identity_id)
                .unwrap_err(),
            server
                .decrypt_bytes(&mut rng, &encrypted, identity_id)
                .unwrap_err(),
        ] {
            assert_eq!(err, Error::Decryption, "{identity_id:?}");
        }
    }
    // Another key, the same identity: the ciphertext is for the 2048-bit key only (to the
    // 3072-bit key it is a short ciphertext, left-padded, and fails OAEP's check).
    assert_eq!(
        other.decrypt(&mut rng, &encrypted, IDENTITY).unwrap_err(),
        Error::Decryption
    );
    // Made under this key's modulus but with the other key's id in the label: refused, so
    // the key id in the label is checked, not only the RSA operation.
    let public = bare_public_key(&server);
    let other_label = bound_label(&bare_public_key(&other), IDENTITY);
    let crossed = public
        .encrypt(
            &mut rng,
            Oaep::<Sha256>::new_with_label(other_label),
            b"secret",
        )
        .unwrap();
    assert_eq!(
        server
            .decrypt(&mut rng, &EncryptedPassword::from_bytes(crossed), IDENTITY)
            .unwrap_err(),
        Error::Decryption
    );
    // The unbound schemes do not bind: the same ciphertext decrypts for any identity.
    for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
        assert!(!scheme.binds_identity());
        let server = key_pair(2048, scheme);
        let encrypted = server
            .encryptor()
            .encrypt(&mut rng, &new("secret"))
            .unwrap();
        for identity_id in others {
            assert_eq!(
                server
                    .decrypt(&mut rng, &encrypted, identity_id)
                    .unwrap()
                    .as_str(),
                "secret"
            );
        }
    }
    assert!(Scheme::OaepSha256Bound.binds_identity());
}

#[test]
fn flipped_ciphertexts_never_give_a_padding_error() {
    let server = key_pair(2048, Scheme::Pkcs1v15);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let good = server
        .encryptor()
        .encrypt(&mut rng, &new("Pässwörd-密码-🔑"))
        .unwrap();
    let modulus = bare_public_key(&server).n_bytes().to_vec(); // for the range check below
    assert_eq!(modulus, server.encryptor().modulus());
    let mut outputs = std::collections::HashSet::new();
    for i in 0..good.as_bytes().len() {
        for bit in [0u8, 3, 7] {
            let mut bytes = good.as_bytes().to_vec();
            bytes[i] ^= 1 << bit;
            let at_or_above_n = bytes.as_slice() >= modulus.as_slice();
            let flipped = EncryptedPassword::from_bytes(bytes);
            match server.decrypt_bytes(&mut rng, &flipped, IDENTITY) {
                Ok(message) => {
                    assert!(!at_or_above_n);
                    // Deterministic: the same ciphertext always gives the same message.
                    let again = server.decrypt_bytes(&mut rng, &flipped, IDENTITY).unwrap();
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
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    for scheme in [Scheme::OaepSha256, Scheme::OaepSha256Bound] {
        let server = key_pair(2048, scheme);
        let good = server
            .encryptor()
            .encrypt(&mut rng, &new("secret"))
            .unwrap();
        let mut failures = Vec::new();
        for i in [0usize, 1, 100, 255] {
            let mut bytes = good.as_bytes().to_vec();
            bytes[i] ^= 0x40;
            failures.push(
                server
                    .decrypt(&mut rng, &EncryptedPassword::from_bytes(bytes), IDENTITY)
                    .unwrap_err(),
            );
        }
        // At or above the modulus, and (bound) the wrong identity: the same error.
        failures.push(
            server
                .decrypt(
                    &mut rng,
                    &EncryptedPassword::from_bytes(vec![0xff; 256]),
                    IDENTITY,
                )
                .unwrap_err(),
        );
        if scheme.binds_identity() {
            failures.push(server.decrypt(&mut rng, &good, "abby").unwrap_err());
        }
        for err in failures {
            assert_eq!(err, Error::Decryption, "{scheme}");
            assert_eq!(
                err.to_string(),
                "the encrypted password could not be decrypted"
            );
            assert_eq!(err.detail_code().http_status(), 400);
        }
    }
}

#[test]
fn ciphertext_encodings_are_strict() {
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

fn key_error<T: std::fmt::Debug>(result: Result<T, Error>) -> KeyError {
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
    for scheme in SCHEMES {
        let spki_b64 = |text: &str| PasswordEncryptor::from_spki_base64(text, scheme);
        let spki_der = |der: &[u8]| PasswordEncryptor::from_spki_der(der, scheme);
        let spki_pem = |pem: &str| PasswordEncryptor::from_spki_pem(pem, scheme);
        assert_eq!(key_error(spki_b64("not base64")), KeyError::Base64);
        assert_eq!(key_error(spki_b64("AAAA")), KeyError::Malformed);
        assert_eq!(key_error(spki_der(&[])), KeyError::Malformed);
        assert_eq!(
            key_error(spki_b64(&data("keys/ec-p256.spki.b64"))),
            KeyError::NotRsa
        );
        assert_eq!(
            key_error(spki_b64(&data("keys/rsa1024.spki.b64"))),
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
            key_error(spki_der(&spki(&n, &[1, 0, 1]))),
            KeyError::ModulusSize {
                bits: 8193,
                min: 2048,
                max: 8192
            }
        );
        // e = 3 is refused unless allowed.
        let e3 = data("keys/rsa2048-e3.spki.b64");
        assert_eq!(key_error(spki_b64(&e3)), KeyError::Exponent);
        let any = KeyPolicy::STRICT.allowing_any_exponent();
        let allowed = PasswordEncryptor::from_spki_base64_with(&e3, scheme, any).unwrap();
        assert_eq!(allowed.modulus_bits(), 2048);
        assert_eq!((allowed.public_exponent(), allowed.scheme()), (3, scheme));
        // An even or huge exponent is refused even then.
        let n2048 = vec![0xc5; 256];
        for e in [
            &[2u8][..],
            &[1, 0, 0],
            &[2, 0, 0, 0, 1],
            &[1, 0, 0, 0, 0, 1],
        ] {
            assert_eq!(
                key_error(PasswordEncryptor::from_spki_der_with(
                    &spki(&n2048, e),
                    scheme,
                    any
                )),
                KeyError::Exponent
            );
        }
        // An even modulus passes the policy but not `rsa`'s own checks.
        let mut even = vec![0xc5; 256];
        even[255] = 0xc4;
        assert_eq!(
            key_error(spki_der(&spki(&even, &[1, 0, 1]))),
            KeyError::Malformed
        );
        // PEM: the right label only.
        assert_eq!(
            spki_pem(&data("keys/rsa2048.spki.pem")).unwrap().scheme(),
            scheme
        );
        assert!(
            PasswordEncryptor::from_spki_pem_with(&data("keys/rsa2048.spki.pem"), scheme, any)
                .is_ok()
        );
        for not_spki in [
            data("keys/rsa2048.pkcs1-public.pem"),
            data("keys/rsa2048.pk8.pem"),
            "garbage".to_owned(),
        ] {
            assert_eq!(key_error(spki_pem(&not_spki)), KeyError::Pem);
        }
        // Key errors are internal faults, and their messages say what to fix.
        let err = spki_b64(&data("keys/rsa1024.spki.b64")).unwrap_err();
        assert_eq!(err.detail_code().http_status(), 500);
        assert_eq!(
            err.to_string(),
            "RSA key refused: the modulus has 1024 bits; it must have from 2048 to 8192"
        );
    }
}

#[test]
fn private_keys_are_refused_with_the_reason() {
    let scheme = Scheme::OaepSha256Bound;
    let pem = |text: &str| PasswordKeyPair::from_pkcs8_pem(text, scheme);
    assert_eq!(
        key_error(pem(&data("keys/ed25519.pk8.pem"))),
        KeyError::NotRsa
    );
    assert_eq!(
        key_error(pem(&data("keys/rsa2048.pkcs1-private.pem"))),
        KeyError::Pem
    );
    assert_eq!(
        key_error(pem(&data("keys/rsa2048.spki.pem"))),
        KeyError::Pem
    );
    assert_eq!(
        key_error(PasswordKeyPair::from_pkcs8_der(
            b"\x30\x03\x02\x01\x00",
            scheme
        )),
        KeyError::Malformed
    );
    let e3 = data("keys/rsa2048-e3.pk8.pem");
    assert_eq!(key_error(pem(&e3)), KeyError::Exponent);
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    let allowed = PasswordKeyPair::from_pkcs8_pem_with(&e3, scheme, any).unwrap();
    assert_eq!(allowed.encryptor().public_exponent(), 3);
    // Corrupt the private exponent: the parts no longer agree.
    let good = key_pair(2048, scheme).to_pkcs8_der().unwrap();
    let mut bad = good.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    assert_eq!(
        key_error(PasswordKeyPair::from_pkcs8_der(&bad, scheme)),
        KeyError::Malformed
    );
    assert_eq!(
        key_error(PasswordKeyPair::from_pkcs8_der_with(&bad, scheme, any)),
        KeyError::Malformed
    );
    // Base64 of PKCS#8: strict standard base64 of the DER, then the DER's checks.
    let b64 = |text: &str| PasswordKeyPair::from_pkcs8_base64(text, scheme);
    assert_eq!(key_error(b64("not base64")), KeyError::Base64);
    let good_b64 = Base64::encode_string(&good);
    assert_eq!(
        key_error(b64(&good_b64.replace('+', "-").replace('/', "_"))),
        KeyError::Base64
    );
    assert_eq!(
        key_error(b64(&Base64::encode_string(&bad))),
        KeyError::Malformed
    );
    assert_eq!(
        key_error(b64(&Base64::encode_string(b"\x30\x03\x02\x01\x00"))),
        KeyError::Malformed
    );
    let ed25519 = data("keys/ed25519.pk8.pem");
    let body: String = ed25519
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(key_error(b64(&body)), KeyError::NotRsa);
}

#[test]
fn key_pairs_export_and_reimport() {
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let der = server.to_pkcs8_der().unwrap();
        let pem = server.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // PKCS#8 carries no scheme: the importer names it.
        for other in SCHEMES {
            let from_der = PasswordKeyPair::from_pkcs8_der(&der, other).unwrap();
            assert_eq!(from_der.public_key_id(), server.public_key_id());
            assert_eq!(from_der.scheme(), other);
            let from_pem = PasswordKeyPair::from_pkcs8_pem(&pem, other).unwrap();
            assert_eq!(from_pem.public_key_id(), server.public_key_id());
        }
        // The published key is the same as openssl's SPKI for it.
        assert_eq!(
            server.public_key_base64(),
            data("keys/rsa2048.spki.b64").trim()
        );
    }
}

/// (f) `from_pkcs8_base64` reads what secret stores hold: the base64 of the PKCS#8 DER,
/// surrounding white space ignored, the same key as from PEM or DER.
#[test]
fn pkcs8_imports_from_base64() {
    let mut rng = ChaCha20Rng::seed_from_u64(28);
    for bits in [2048u32, 4096] {
        let from_pem = key_pair(bits, Scheme::OaepSha256Bound);
        let der = from_pem.to_pkcs8_der().unwrap();
        let b64 = Base64::encode_string(&der);
        for text in [b64.clone(), format!("  {b64}\n"), format!("\t{b64}\r\n")] {
            let pair = PasswordKeyPair::from_pkcs8_base64(&text, Scheme::OaepSha256Bound).unwrap();
            assert_eq!(pair.public_key_id(), from_pem.public_key_id());
            assert_eq!(pair.scheme(), Scheme::OaepSha256Bound);
            assert_eq!(*pair.to_pkcs8_der().unwrap(), *der);
            // It decrypts what the PEM-loaded key's public half encrypts.
            let encrypted = from_pem
                .encryptor()
                .encrypt(&mut rng, &new("from a secret store"))
                .unwrap();
            assert_eq!(
                pair.decrypt(&mut rng, &encrypted, IDENTITY)
                    .unwrap()
                    .as_str(),
                "from a secret store"
            );
        }
    }
}

/// (f) The public accessors agree with the bare `rsa` key and with the key's size.
#[test]
fn encryptor_accessors_describe_the_key() {
    for (path, bits, k) in [
        ("keys/rsa2048.pk8.pem", 2048u32, 256usize),
        ("keys/rsa3072.pk8.pem", 3072, 384),
        ("keys/rsa4096.pk8.pem", 4096, 512),
        ("cfrg-rsa-guidance/k2049.pem", 2049, 257),
    ] {
        for scheme in SCHEMES {
            let server = PasswordKeyPair::from_pkcs8_pem(&data(path), scheme).unwrap();
            let client = server.encryptor();
            let bare = bare_public_key(&server);
            assert_eq!(client.modulus_bits(), bits, "{path}");
            assert_eq!(client.ciphertext_len(), k, "{path}");
            assert_eq!(client.ciphertext_len(), bare.size());
            assert_eq!(client.modulus(), &*bare.n_bytes(), "{path}");
            assert_eq!(client.modulus().len(), k, "no leading zero bytes");
            assert_ne!(client.modulus()[0], 0);
            assert_eq!(client.public_exponent(), 65_537);
            assert_eq!(client.scheme(), scheme);
            assert_eq!(server.scheme(), scheme);
            let overhead = if scheme == Scheme::Pkcs1v15 { 11 } else { 66 };
            assert_eq!(client.max_password_len(), k - overhead);
            // The same accessors on a key parsed from its published form.
            let parsed =
                PasswordEncryptor::from_spki_base64(&server.public_key_base64(), scheme).unwrap();
            assert_eq!(parsed.modulus(), client.modulus());
            assert_eq!(parsed.public_exponent(), 65_537);
            assert_eq!(parsed.ciphertext_len(), k);
            assert_eq!(parsed.spki_der(), client.spki_der());
            assert_eq!(parsed.to_spki_base64(), server.public_key_base64());
        }
    }
    // The 2049-bit modulus starts with 0x01: one byte longer than 2048 bits, trimmed.
    let k2049 =
        PasswordKeyPair::from_pkcs8_pem(&data("cfrg-rsa-guidance/k2049.pem"), Scheme::Pkcs1v15)
            .unwrap();
    assert_eq!(k2049.encryptor().modulus()[0], 0x01);
    // `with_scheme` changes the scheme and its limit, nothing else.
    let pkcs1 = key_pair(2048, Scheme::Pkcs1v15).encryptor().clone();
    let oaep = pkcs1.with_scheme(Scheme::OaepSha256);
    assert_eq!(
        (pkcs1.scheme(), oaep.scheme()),
        (Scheme::Pkcs1v15, Scheme::OaepSha256)
    );
    assert_eq!(
        (pkcs1.max_password_len(), oaep.max_password_len()),
        (245, 190)
    );
    assert_eq!(oaep.public_key_id(), pkcs1.public_key_id());
    assert_eq!(oaep.modulus(), pkcs1.modulus());
    assert_eq!(oaep.spki_der(), pkcs1.spki_der());
}

#[test]
fn scheme_names_round_trip() {
    for (scheme, name) in [
        (Scheme::Pkcs1v15, "pkcs1v15"),
        (Scheme::OaepSha256, "oaep-sha256"),
        (Scheme::OaepSha256Bound, "oaep-sha256-bound"),
    ] {
        assert_eq!(scheme.as_str(), name);
        assert_eq!(scheme.to_string(), name);
        assert_eq!(name.parse::<Scheme>().unwrap(), scheme);
    }
    for bad in [
        "",
        "PKCS1V15",
        "oaep",
        "oaep-sha1",
        " pkcs1v15",
        "oaep-sha256-bound\n",
    ] {
        let err = bad.parse::<Scheme>().unwrap_err();
        assert_eq!(err.violations()[0].field(), "scheme", "{bad:?}");
        assert!(matches!(
            err.violations()[0].kind(),
            ViolationKind::Unknown { .. }
        ));
    }
}

#[test]
fn generated_key_pairs_work() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let server = PasswordKeyPair::generate(&mut rng, 2048, Scheme::OaepSha256Bound).unwrap();
    assert_eq!(server.encryptor().modulus_bits(), 2048);
    assert_eq!(server.scheme(), Scheme::OaepSha256Bound);
    assert_eq!(server.encryptor().public_exponent(), 65_537);
    let client =
        PasswordEncryptor::from_spki_base64(&server.public_key_base64(), Scheme::OaepSha256Bound)
            .unwrap();
    let encrypted = client.encrypt(&mut rng, &new("new password")).unwrap();
    assert_eq!(
        server
            .decrypt(&mut rng, &encrypted, IDENTITY)
            .unwrap()
            .as_str(),
        "new password"
    );
    // The generated key's label is the recipe's too.
    let opened = bare_private_key(&server)
        .decrypt_blinded(
            &mut rng,
            Oaep::<Sha256>::new_with_label(bound_label(&bare_public_key(&server), IDENTITY)),
            encrypted.as_bytes(),
        )
        .unwrap();
    assert_eq!(opened, b"new password");
    for bits in [0u32, 1024, 2047, 8193, u32::MAX] {
        let err = PasswordKeyPair::generate(&mut rng, bits, Scheme::Pkcs1v15).unwrap_err();
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
    let client = PasswordEncryptor::from_spki_der(&spki(&n, &[1, 0, 1]), Scheme::Pkcs1v15).unwrap();
    assert_eq!(
        client.public_key_id().to_string(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(client.modulus(), n.as_slice());
    let parsed: PublicKeyId = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        .parse()
        .unwrap();
    assert_eq!(parsed, client.public_key_id());
    // The id does not depend on the scheme the key serves.
    for scheme in SCHEMES {
        assert_eq!(
            client.with_scheme(scheme).public_key_id(),
            client.public_key_id()
        );
        assert_eq!(
            key_pair(2048, scheme).public_key_id(),
            key_pair(2048, Scheme::Pkcs1v15).public_key_id()
        );
    }
    // Different keys, different ids; the same key from any encoding, the same id.
    let ids: Vec<_> = [2048, 3072, 4096]
        .map(|b| key_pair(b, Scheme::Pkcs1v15).public_key_id())
        .into();
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    let from_pem =
        PasswordEncryptor::from_spki_pem(&data("keys/rsa2048.spki.pem"), Scheme::OaepSha256)
            .unwrap();
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
    let server = key_pair(2048, Scheme::OaepSha256Bound);
    let id = server.public_key_id();
    assert_eq!(
        format!("{server:?}"),
        format!(
            "PasswordKeyPair {{ public_key_id: {id:?}, scheme: OaepSha256Bound, modulus_bits: 2048, .. }}"
        )
    );
    assert_eq!(
        format!("{:?}", server.encryptor()),
        format!(
            "PasswordEncryptor {{ public_key_id: {id:?}, scheme: OaepSha256Bound, modulus_bits: 2048, .. }}"
        )
    );
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let new = new("hunter2");
    assert_eq!(
        format!("{new:?}"),
        format!("NewPassword {{ identity_id: {IDENTITY:?}, .. }}")
    );
    let encrypted = server.encryptor().encrypt(&mut rng, &new).unwrap();
    assert_eq!(
        format!("{encrypted:?}"),
        "EncryptedPassword { bytes: 256, .. }"
    );
}

#[test]
fn encryption_and_decryption_draw_from_the_callers_rng() {
    // A failing RNG fails both: decryption is blinded with it, never unblinded.
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for scheme in SCHEMES {
        let server = key_pair(2048, scheme);
        let encrypted = server
            .encryptor()
            .encrypt(&mut rng, &new("secret"))
            .unwrap();
        for err in [
            server
                .decrypt(&mut fixtures::Failing, &encrypted, IDENTITY)
                .unwrap_err(),
            server
                .decrypt_bytes(&mut fixtures::Failing, &encrypted, IDENTITY)
                .unwrap_err(),
            server
                .encryptor()
                .encrypt(&mut fixtures::Failing, &new("secret"))
                .unwrap_err(),
        ] {
            assert_eq!(err, Error::Rng(RngError::Failed), "{scheme}");
        }
        // A short ciphertext goes through the same blinded path.
        let short = EncryptedPassword::from_bytes(encrypted.as_bytes()[1..].to_vec());
        assert_eq!(
            server
                .decrypt_bytes(&mut fixtures::Failing, &short, IDENTITY)
                .unwrap_err(),
            Error::Rng(RngError::Failed)
        );
    }
    assert_eq!(
        PasswordKeyPair::generate(&mut fixtures::Failing, 2048, Scheme::Pkcs1v15).unwrap_err(),
        Error::Rng(RngError::Failed)
    );
}

#[test]
fn base64_and_der_are_strict() {
    let good = data("keys/rsa3072.spki.b64").trim().to_owned();
    assert!(good.ends_with('='), "the 3072-bit key's base64 is padded");
    for scheme in SCHEMES {
        assert!(PasswordEncryptor::from_spki_base64(&good, scheme).is_ok());
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
                key_error(PasswordEncryptor::from_spki_base64(&bad, scheme)),
                KeyError::Base64
            );
        }
        // Trailing bytes after the DER structure.
        let mut der = key_pair(2048, scheme).encryptor().spki_der().to_vec();
        der.push(0);
        assert_eq!(
            key_error(PasswordEncryptor::from_spki_der(&der, scheme)),
            KeyError::Malformed
        );
    }
}

#[test]
fn limits_for_a_modulus_of_2049_bits() {
    // k = 257 bytes: 246 for PKCS#1 v1.5, 191 for OAEP-SHA256.
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    for (scheme, max) in [
        (Scheme::Pkcs1v15, 246),
        (Scheme::OaepSha256, 191),
        (Scheme::OaepSha256Bound, 191),
    ] {
        let server =
            PasswordKeyPair::from_pkcs8_pem(&data("cfrg-rsa-guidance/k2049.pem"), scheme).unwrap();
        assert_eq!(server.encryptor().modulus_bits(), 2049);
        assert_eq!(server.encryptor().max_password_len(), max);
        let longest = "z".repeat(max);
        let encrypted = server
            .encryptor()
            .encrypt(&mut rng, &new(&longest))
            .unwrap();
        assert_eq!(encrypted.as_bytes().len(), 257);
        assert_eq!(
            server
                .decrypt(&mut rng, &encrypted, IDENTITY)
                .unwrap()
                .as_str(),
            longest
        );
        assert!(
            server
                .encryptor()
                .encrypt(&mut rng, &new(&format!("{longest}z")))
                .is_err()
        );
    }
}
