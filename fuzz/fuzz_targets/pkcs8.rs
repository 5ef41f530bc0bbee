//! Private-key import: `PasswordKeyPair::from_pkcs8_der` and `from_pkcs8_pem`.
//!
//! The input is tried as DER and as PEM text.
//!
//! Properties: import is total; an imported key is within the policy; its published public
//! key parses to the same id; its PKCS#8 export imports again to the same key; and, since
//! the docs promise "consistent parts", the key decrypts what its public half encrypts
//! under both schemes (a key with mismatched parts that slipped through would fail here).

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::{Error, KeyPolicy, PasswordEncryptor, PasswordKeyPair, Scheme};
use password_mgmt_fuzz::rng;

fuzz_target!(|data: &[u8]| {
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    check(&PasswordKeyPair::from_pkcs8_der(data));
    check(&PasswordKeyPair::from_pkcs8_der_with(data, any));
    let text = String::from_utf8_lossy(data);
    check(&PasswordKeyPair::from_pkcs8_pem(&text));
});

fn check(result: &Result<PasswordKeyPair, Error>) {
    let pair = match result {
        Ok(pair) => pair,
        Err(Error::Key(_)) => return,
        Err(other) => panic!("unexpected error {other}"),
    };
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    let bits = pair.encryptor().modulus_bits();
    assert!((2048..=8192).contains(&bits), "{bits} bits imported");
    let public = PasswordEncryptor::from_spki_base64_with(&pair.public_key_base64(), any).unwrap();
    assert_eq!(public.public_key_id(), pair.public_key_id());

    let der = pair.to_pkcs8_der().unwrap();
    let again = PasswordKeyPair::from_pkcs8_der_with(&der, any).unwrap();
    assert_eq!(again.public_key_id(), pair.public_key_id());
    assert_eq!(
        *again.to_pkcs8_der().unwrap(),
        *der,
        "export is not a fixed point"
    );
    let pem = pair.to_pkcs8_pem().unwrap();
    let from_pem = PasswordKeyPair::from_pkcs8_pem_with(&pem, any).unwrap();
    assert_eq!(from_pem.public_key_id(), pair.public_key_id());

    let mut rng = rng(7);
    for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
        let encrypted = public.encrypt(&mut rng, "correct horse", scheme).unwrap();
        let decrypted = pair.decrypt(&mut rng, &encrypted, scheme);
        assert_eq!(
            decrypted.as_deref().map(String::as_str),
            Ok("correct horse"),
            "an imported key does not decrypt what its public half encrypts ({scheme:?})"
        );
    }
}
