//! Decryption of arbitrary ciphertexts under the repository's fixed 2048-bit key, both
//! schemes, from raw bytes and from base64 text.
//!
//! Input: byte 0 picks the scheme (bit 0: OAEP-SHA256), the form (bit 1: the rest is
//! base64 text, else raw ciphertext bytes) and whether to check `decrypt` and the
//! re-encryption too (bit 2; they cost up to three more private-key operations).
//!
//! Properties: decryption is total; a ciphertext not as long as the modulus is refused as
//! invalid input naming `encryptedPassword`; PKCS#1 v1.5 (implicit rejection) answers every
//! ciphertext below the modulus with a message and refuses only those at or above it; the
//! result does not depend on the blinding RNG; plaintexts fit the scheme's limit; `decrypt`
//! agrees with `decrypt_bytes` plus a UTF-8 check; a decrypted password encrypts and
//! decrypts back to itself.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use password_mgmt::rsa::pkcs8::DecodePublicKey;
use password_mgmt::rsa::traits::PublicKeyParts;
use password_mgmt::{EncryptedPassword, Error, Scheme};
use password_mgmt_fuzz::{KEY_PAIR, rng};

/// The modulus, big-endian, 256 bytes.
static MODULUS: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let key = password_mgmt::rsa::PublicKey::from_public_key_der(KEY_PAIR.encryptor().spki_der())
        .unwrap();
    key.n_bytes().to_vec()
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let scheme = if mode & 1 == 1 {
        Scheme::OaepSha256
    } else {
        Scheme::Pkcs1v15
    };
    let encrypted = if mode & 2 == 2 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        match EncryptedPassword::from_base64(text) {
            Ok(encrypted) => encrypted,
            Err(e) => {
                assert_eq!(e.violations()[0].field(), "encryptedPassword");
                return;
            }
        }
    } else {
        EncryptedPassword::from_bytes(rest.to_vec())
    };
    let pair = &*KEY_PAIR;
    let modulus = &*MODULUS;
    assert_eq!(modulus.len(), 256);

    let bytes = pair.decrypt_bytes(&mut rng(1), &encrypted, scheme);
    let ciphertext = encrypted.as_bytes();
    if ciphertext.len() != 256 {
        let err = bytes.unwrap_err();
        assert!(matches!(&err, Error::Invalid(_)), "{err}");
        assert_eq!(err.violations()[0].field(), "encryptedPassword");
        return;
    }
    let below_modulus = ciphertext < modulus.as_slice();
    match (&bytes, scheme) {
        (Ok(plain), _) => {
            assert!(
                below_modulus,
                "a ciphertext at or above the modulus was decrypted"
            );
            assert!(plain.len() <= pair.encryptor().max_password_len(scheme));
        }
        (Err(Error::Decryption), Scheme::Pkcs1v15) => {
            assert!(
                !below_modulus,
                "implicit rejection must answer every ciphertext below n"
            );
        }
        (Err(Error::Decryption), _) => {}
        (Err(other), _) => panic!("unexpected error {other}"),
    }

    // Blinding does not change the answer.
    let again = pair.decrypt_bytes(&mut rng(2), &encrypted, scheme);
    assert_eq!(
        again.as_ref().map(|b| b.as_slice()),
        bytes.as_ref().map(|b| b.as_slice()),
        "the result depends on the blinding RNG"
    );

    // Private-key operations are slow under the sanitizer: the rest only when asked for.
    if mode & 4 == 0 {
        return;
    }
    let text = pair.decrypt(&mut rng(3), &encrypted, scheme);
    match &bytes {
        Ok(plain) => match std::str::from_utf8(plain) {
            Ok(expected) => {
                assert_eq!(text.as_deref().map(String::as_str), Ok(expected));
                // The password goes back through the scheme unchanged.
                let encryptor = pair.encryptor();
                let re = encryptor.encrypt(&mut rng(4), expected, scheme).unwrap();
                let back = pair.decrypt(&mut rng(5), &re, scheme).unwrap();
                assert_eq!(back.as_str(), expected);
            }
            Err(_) => assert_eq!(text, Err(Error::Decryption)),
        },
        Err(e) => assert_eq!(text.as_ref().map(|_| ()), Err(e)),
    }
});
