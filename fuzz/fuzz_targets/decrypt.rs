//! Decryption of arbitrary ciphertexts, for arbitrary identities, under the repository's
//! fixed 2048-bit key loaded once for each of the three schemes; from raw bytes and from
//! base64 text.
//!
//! Input: byte 0 is the mode. Bits 0 and 3 pick the scheme (neither: PKCS#1 v1.5; bit 0:
//! OAEP-SHA256; bit 3: OAEP-SHA256 bound to the identity), bit 1 the form (the ciphertext
//! is base64 text, else raw bytes), bit 2 whether to check `decrypt` and re-encryption too
//! (they cost up to five more private-key operations), bit 4 whether an identity follows
//! (a length byte, then that many bytes read as lossy UTF-8; otherwise the API's example
//! identity). The rest is the ciphertext. (Seeds made before bits 3 and 4 keep their
//! meaning.)
//!
//! Properties: decryption is total; an identity that is blank or over 256 bytes is refused
//! as invalid input naming `identityId`, an empty ciphertext as blank and one longer than
//! the modulus as too long, both naming `encryptedPassword`; a shorter one decrypts exactly like its left-padded form
//! (the same message or the same error); PKCS#1 v1.5 (implicit rejection) answers every
//! ciphertext below the modulus with a message and refuses only those at or above it; the
//! result does not depend on the blinding RNG; plaintexts fit the scheme's limit; `decrypt`
//! agrees with `decrypt_bytes` plus its checks (not empty, UTF-8, no control character); a
//! decrypted password encrypts and decrypts back to itself, for its identity only under the
//! bound scheme, and never to itself under a key of another scheme.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use password_mgmt::{
    EncryptedPassword, Error, NewPassword, PasswordKeyPair, Scheme, ViolationKind,
};
use password_mgmt_fuzz::rng;

const SCHEMES: [Scheme; 3] = [
    Scheme::Pkcs1v15,
    Scheme::OaepSha256,
    Scheme::OaepSha256Bound,
];

/// The repository's 2048-bit test key, once per scheme (in the order of `SCHEMES`).
static PAIRS: LazyLock<[PasswordKeyPair; 3]> = LazyLock::new(|| {
    SCHEMES.map(|scheme| {
        PasswordKeyPair::from_pkcs8_pem(
            include_str!("../../tests/data/keys/rsa2048.pk8.pem"),
            scheme,
        )
        .unwrap()
    })
});

/// The identity when the input gives none (the API's example `identityId`).
const IDENTITY: &str = "2c918085744fec4301746f9a5bce4605";

/// An identity other than `identity`, valid.
fn someone_else(identity: &str) -> &'static str {
    if identity == IDENTITY {
        "2c918085744fec4301746f9a5bce4606"
    } else {
        IDENTITY
    }
}

fn pair(scheme: Scheme) -> &'static PasswordKeyPair {
    let pairs = &*PAIRS;
    &pairs[SCHEMES.iter().position(|s| *s == scheme).unwrap()]
}

/// What `decrypt` must make of plaintext bytes: the text when it is non-empty UTF-8 without
/// control characters.
fn password_like(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let scheme = match (mode & 1 == 1, mode & 8 == 8) {
        (false, false) => Scheme::Pkcs1v15,
        (true, false) => Scheme::OaepSha256,
        (_, true) => Scheme::OaepSha256Bound,
    };
    let identity = if mode & 16 == 16 {
        let Some((&len, tail)) = rest.split_first() else {
            return;
        };
        let (id, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        String::from_utf8_lossy(id).into_owned()
    } else {
        IDENTITY.to_owned()
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
    let pair = pair(scheme);
    assert_eq!(pair.scheme(), scheme);
    let modulus = pair.encryptor().modulus();
    let k = pair.encryptor().ciphertext_len();
    assert_eq!((modulus.len(), k), (256, 256));

    let bytes = pair.decrypt_bytes(&mut rng(1), &encrypted, &identity);
    if identity.len() > 256 || identity.trim().is_empty() {
        let err = bytes.unwrap_err();
        assert_eq!(err.violations()[0].field(), "identityId", "{err}");
        return;
    }
    let ciphertext = encrypted.as_bytes();
    if ciphertext.is_empty() {
        // No ciphertext at all is a missing field, not a forged one.
        let err = bytes.unwrap_err();
        assert_eq!(err.violations()[0].field(), "encryptedPassword", "{err}");
        assert_eq!(err.violations()[0].kind(), &ViolationKind::Blank, "{err}");
        return;
    }
    if ciphertext.len() > k {
        let err = bytes.unwrap_err();
        assert!(matches!(&err, Error::Invalid(_)), "{err}");
        assert_eq!(err.violations()[0].field(), "encryptedPassword");
        assert_eq!(
            err.violations()[0].kind(),
            &ViolationKind::TooLong {
                max: k,
                found: ciphertext.len()
            }
        );
        return;
    }
    let padded = [vec![0u8; k - ciphertext.len()], ciphertext.to_vec()].concat();
    let below_modulus = padded.as_slice() < modulus;
    match (&bytes, scheme) {
        (Ok(plain), _) => {
            assert!(
                below_modulus,
                "a ciphertext at or above the modulus was decrypted"
            );
            assert!(plain.len() <= pair.encryptor().max_password_len());
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

    // The left-padded form, with other blinding: the same answer. (For a ciphertext as long
    // as the modulus, this is the check that blinding does not change the answer.)
    let again = pair.decrypt_bytes(
        &mut rng(2),
        &EncryptedPassword::from_bytes(padded),
        &identity,
    );
    assert_eq!(
        again.as_ref().map(|b| b.as_slice()),
        bytes.as_ref().map(|b| b.as_slice()),
        "the result depends on the blinding RNG or on the leading zeros"
    );

    // Private-key operations are slow under the sanitizer: the rest only when asked for.
    if mode & 4 == 0 {
        return;
    }
    let text = pair.decrypt(&mut rng(3), &encrypted, &identity);
    let plain = match &bytes {
        Ok(plain) => plain,
        Err(e) => {
            assert_eq!(text.as_ref().map(|_| ()), Err(e));
            return;
        }
    };
    let Some(expected) = password_like(plain) else {
        assert_eq!(text, Err(Error::Decryption));
        return;
    };
    assert_eq!(text.as_deref().map(String::as_str), Ok(expected));
    let other = someone_else(&identity);
    if scheme == Scheme::OaepSha256Bound {
        assert_eq!(
            pair.decrypt_bytes(&mut rng(4), &encrypted, other)
                .map(|_| ()),
            Err(Error::Decryption),
            "a bound ciphertext decrypted for another identity"
        );
    }
    // The password goes back through the scheme unchanged, for its identity.
    let new = NewPassword {
        identity_id: &identity,
        password: expected,
    };
    let re = pair.encryptor().encrypt(&mut rng(5), &new).unwrap();
    let back = pair.decrypt(&mut rng(6), &re, &identity).unwrap();
    assert_eq!(back.as_str(), expected);
    if scheme == Scheme::OaepSha256Bound {
        assert_eq!(
            pair.decrypt(&mut rng(7), &re, other).map(|_| ()),
            Err(Error::Decryption),
            "a bound ciphertext decrypted for another identity"
        );
    }
    // The same key loaded for the next scheme never opens it to the password.
    let next = SCHEMES[(SCHEMES.iter().position(|s| *s == scheme).unwrap() + 1) % 3];
    let crossed = crate::pair(next).decrypt(&mut rng(8), &re, &identity);
    assert!(
        crossed.as_deref().map(String::as_str) != Ok(expected),
        "a {next} key decrypted a {scheme} ciphertext to its password"
    );
});
