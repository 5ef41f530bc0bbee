//! Public-key parsing: `PasswordEncryptor::from_spki_der`, `from_spki_base64` and
//! `from_spki_pem`, under the strict policy and with any exponent allowed.
//!
//! The input is tried as DER, as base64 text and as PEM text.
//!
//! Properties: parsing is total; an accepted key is within the policy (2048 to 8192 bits);
//! the strict policy accepts a subset of what the lenient one accepts, with the same id;
//! the DER, its base64 and its PEM armour give the same key; the re-encoded key parses to
//! the same id and re-encodes to itself; encryption under it works and gives a ciphertext
//! as long as the modulus.

#![no_main]

use base64ct::{Base64, Encoding};
use libfuzzer_sys::fuzz_target;
use password_mgmt::{Error, KeyPolicy, PasswordEncryptor, Scheme};
use password_mgmt_fuzz::rng;

fuzz_target!(|data: &[u8]| {
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    let strict = PasswordEncryptor::from_spki_der(data);
    let lenient = PasswordEncryptor::from_spki_der_with(data, any);
    check_pair(&strict, &lenient);
    if let Ok(key) = &lenient {
        // The same bytes as base64 and as PEM give the same key.
        let b64 = Base64::encode_string(data);
        let from_b64 = PasswordEncryptor::from_spki_base64_with(&format!(" {b64}\n"), any).unwrap();
        assert_eq!(from_b64.public_key_id(), key.public_key_id());
        let pem = pem_armour("PUBLIC KEY", &b64);
        let from_pem = PasswordEncryptor::from_spki_pem_with(&pem, any).unwrap();
        assert_eq!(from_pem.public_key_id(), key.public_key_id());
        let wrong_label = pem_armour("RSA PUBLIC KEY", &b64);
        assert!(PasswordEncryptor::from_spki_pem_with(&wrong_label, any).is_err());
    }

    let text = String::from_utf8_lossy(data);
    check_pair(
        &PasswordEncryptor::from_spki_base64(&text),
        &PasswordEncryptor::from_spki_base64_with(&text, any),
    );
    check_pair(
        &PasswordEncryptor::from_spki_pem(&text),
        &PasswordEncryptor::from_spki_pem_with(&text, any),
    );
});

fn check_pair(
    strict: &Result<PasswordEncryptor, Error>,
    lenient: &Result<PasswordEncryptor, Error>,
) {
    for result in [strict, lenient] {
        match result {
            Ok(key) => check_key(key),
            Err(Error::Key(_)) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    if let Ok(key) = strict {
        let lenient = lenient
            .as_ref()
            .expect("strict accepted what lenient refused");
        assert_eq!(key.public_key_id(), lenient.public_key_id());
    }
}

fn check_key(key: &PasswordEncryptor) {
    let bits = key.modulus_bits();
    assert!((2048..=8192).contains(&bits), "{bits} bits accepted");
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    let again = PasswordEncryptor::from_spki_der_with(key.spki_der(), any).unwrap();
    assert_eq!(again.public_key_id(), key.public_key_id());
    assert_eq!(again.spki_der(), key.spki_der());
    let from_b64 = PasswordEncryptor::from_spki_base64_with(&key.to_spki_base64(), any).unwrap();
    assert_eq!(from_b64.public_key_id(), key.public_key_id());

    let modulus_len = usize::try_from(bits.div_ceil(8)).unwrap();
    assert_eq!(key.max_password_len(Scheme::Pkcs1v15), modulus_len - 11);
    assert_eq!(
        key.max_password_len(Scheme::OaepSha256),
        modulus_len.saturating_sub(66)
    );
    let encrypted = key.encrypt(&mut rng(1), "fuzz", Scheme::Pkcs1v15).unwrap();
    assert_eq!(encrypted.as_bytes().len(), modulus_len);
}

fn pem_armour(label: &str, b64: &str) -> String {
    let mut pem = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}
