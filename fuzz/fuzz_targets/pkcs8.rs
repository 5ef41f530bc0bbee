//! Private-key import: `PasswordKeyPair::from_pkcs8_der`, `from_pkcs8_pem` and
//! `from_pkcs8_base64`, each for a scheme.
//!
//! The input is tried as DER (strict, and with any exponent), as PEM text and as base64
//! text, each import for another of the three schemes.
//!
//! Properties: import is total; an imported key is within the policy and serves the scheme
//! it was imported for; its accessors agree with its size; its published public key parses
//! to the same id; its PKCS#8 export (DER, PEM and base64) imports again to the same key,
//! for any scheme; and, since the docs promise "consistent parts", the key decrypts what
//! its public half encrypts under its scheme, and never decrypts to the password what was
//! encrypted under another scheme (a key with mismatched parts that slipped through would
//! fail here).

#![no_main]

use base64ct::{Base64, Encoding};
use libfuzzer_sys::fuzz_target;
use password_mgmt::{Error, KeyPolicy, NewPassword, PasswordEncryptor, PasswordKeyPair, Scheme};
use password_mgmt_fuzz::rng;

const SCHEMES: [Scheme; 3] = [
    Scheme::Pkcs1v15,
    Scheme::OaepSha256,
    Scheme::OaepSha256Bound,
];

fuzz_target!(|data: &[u8]| {
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    check(
        &PasswordKeyPair::from_pkcs8_der(data, Scheme::Pkcs1v15),
        Scheme::Pkcs1v15,
        false,
    );
    check(
        &PasswordKeyPair::from_pkcs8_der_with(data, Scheme::OaepSha256, any),
        Scheme::OaepSha256,
        true,
    );
    let text = String::from_utf8_lossy(data);
    check(
        &PasswordKeyPair::from_pkcs8_pem(&text, Scheme::OaepSha256Bound),
        Scheme::OaepSha256Bound,
        false,
    );
    check(
        &PasswordKeyPair::from_pkcs8_base64(&text, Scheme::Pkcs1v15),
        Scheme::Pkcs1v15,
        false,
    );
});

fn check(result: &Result<PasswordKeyPair, Error>, scheme: Scheme, any_exponent: bool) {
    let pair = match result {
        Ok(pair) => pair,
        Err(Error::Key(_)) => return,
        Err(other) => panic!("unexpected error {other}"),
    };
    assert_eq!(pair.scheme(), scheme);
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    let encryptor = pair.encryptor();
    let bits = encryptor.modulus_bits();
    assert!((2048..=8192).contains(&bits), "{bits} bits imported");
    let k = usize::try_from(bits.div_ceil(8)).unwrap();
    assert_eq!(encryptor.ciphertext_len(), k);
    assert_eq!(encryptor.modulus().len(), k);
    assert_ne!(encryptor.modulus()[0], 0, "the modulus has a leading zero");
    let e = encryptor.public_exponent();
    if any_exponent {
        assert!(
            e % 2 == 1 && (3..=KeyPolicy::MAX_EXPONENT).contains(&e),
            "e = {e}"
        );
    } else {
        assert_eq!(e, KeyPolicy::F4);
    }
    let public =
        PasswordEncryptor::from_spki_base64_with(&pair.public_key_base64(), scheme, any).unwrap();
    assert_eq!(public.public_key_id(), pair.public_key_id());
    assert_eq!(public.modulus(), encryptor.modulus());

    let der = pair.to_pkcs8_der().unwrap();
    for other in SCHEMES {
        let again = PasswordKeyPair::from_pkcs8_der_with(&der, other, any).unwrap();
        assert_eq!(again.public_key_id(), pair.public_key_id());
        assert_eq!(again.scheme(), other);
    }
    let again = PasswordKeyPair::from_pkcs8_der_with(&der, scheme, any).unwrap();
    assert_eq!(
        *again.to_pkcs8_der().unwrap(),
        *der,
        "export is not a fixed point"
    );
    let pem = pair.to_pkcs8_pem().unwrap();
    let from_pem = PasswordKeyPair::from_pkcs8_pem_with(&pem, scheme, any).unwrap();
    assert_eq!(from_pem.public_key_id(), pair.public_key_id());
    if !any_exponent {
        let from_b64 = PasswordKeyPair::from_pkcs8_base64(&Base64::encode_string(&der), scheme);
        assert_eq!(from_b64.unwrap().public_key_id(), pair.public_key_id());
    }

    let mut rng = rng(7);
    let new = NewPassword {
        identity_id: "2c918085744fec4301746f9a5bce4605",
        password: "correct horse",
    };
    for client_scheme in SCHEMES {
        let encrypted = public
            .with_scheme(client_scheme)
            .encrypt(&mut rng, &new)
            .unwrap();
        let decrypted = pair.decrypt(&mut rng, &encrypted, new.identity_id);
        let decrypted = decrypted.as_deref().map(String::as_str);
        if client_scheme == scheme {
            assert_eq!(
                decrypted,
                Ok("correct horse"),
                "an imported key does not decrypt what its public half encrypts ({scheme})"
            );
        } else {
            assert_ne!(
                decrypted,
                Ok("correct horse"),
                "a {scheme} key decrypted a {client_scheme} ciphertext"
            );
        }
    }
}
