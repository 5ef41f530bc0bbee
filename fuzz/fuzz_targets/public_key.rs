//! Public-key parsing: `PasswordEncryptor::from_spki_der`, `from_spki_base64` and
//! `from_spki_pem`, under the strict policy and with any exponent allowed, for a scheme.
//!
//! The input is tried as DER, as base64 text and as PEM text.
//!
//! Properties: parsing is total and does not depend on the scheme (the same key or the
//! same error for every scheme); an accepted key is within the policy (2048 to 8192 bits,
//! exponent 65537 under the strict policy, odd from 3 to `2^33 - 1` under the lenient one);
//! the strict policy accepts a subset of what the lenient one accepts, with the same id;
//! the DER, its base64 and its PEM armour give the same key; the re-encoded key parses to
//! the same id and re-encodes to itself; the accessors agree with the size (`modulus` has
//! `ciphertext_len` bytes and no leading zero, the limits are `k - 11` and `k - 66`);
//! encryption works under every scheme and gives a ciphertext as long as the modulus; an
//! empty password is refused.

#![no_main]

use base64ct::{Base64, Encoding};
use libfuzzer_sys::fuzz_target;
use password_mgmt::{Error, KeyPolicy, NewPassword, PasswordEncryptor, Scheme, ViolationKind};
use password_mgmt_fuzz::rng;

const SCHEMES: [Scheme; 3] = [
    Scheme::Pkcs1v15,
    Scheme::OaepSha256,
    Scheme::OaepSha256Bound,
];

fuzz_target!(|data: &[u8]| {
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    // The scheme is not part of parsing: each form is parsed for another scheme, and the
    // DER for all three.
    let strict = PasswordEncryptor::from_spki_der(data, Scheme::Pkcs1v15);
    for scheme in [Scheme::OaepSha256, Scheme::OaepSha256Bound] {
        let other = PasswordEncryptor::from_spki_der(data, scheme);
        assert_eq!(
            other.as_ref().map(PasswordEncryptor::public_key_id),
            strict.as_ref().map(PasswordEncryptor::public_key_id),
            "parsing depends on the scheme"
        );
    }
    let lenient = PasswordEncryptor::from_spki_der_with(data, Scheme::OaepSha256, any);
    check_pair(&strict, &lenient);
    if let Ok(key) = &lenient {
        // The same bytes as base64 and as PEM give the same key.
        let b64 = Base64::encode_string(data);
        let from_b64 = PasswordEncryptor::from_spki_base64_with(
            &format!(" {b64}\n"),
            Scheme::OaepSha256Bound,
            any,
        )
        .unwrap();
        assert_eq!(from_b64.public_key_id(), key.public_key_id());
        let pem = pem_armour("PUBLIC KEY", &b64);
        let from_pem = PasswordEncryptor::from_spki_pem_with(&pem, Scheme::Pkcs1v15, any).unwrap();
        assert_eq!(from_pem.public_key_id(), key.public_key_id());
        let wrong_label = pem_armour("RSA PUBLIC KEY", &b64);
        assert!(
            PasswordEncryptor::from_spki_pem_with(&wrong_label, Scheme::Pkcs1v15, any).is_err()
        );
    }

    let text = String::from_utf8_lossy(data);
    check_pair(
        &PasswordEncryptor::from_spki_base64(&text, Scheme::OaepSha256Bound),
        &PasswordEncryptor::from_spki_base64_with(&text, Scheme::Pkcs1v15, any),
    );
    check_pair(
        &PasswordEncryptor::from_spki_pem(&text, Scheme::OaepSha256),
        &PasswordEncryptor::from_spki_pem_with(&text, Scheme::OaepSha256Bound, any),
    );
});

fn check_pair(
    strict: &Result<PasswordEncryptor, Error>,
    lenient: &Result<PasswordEncryptor, Error>,
) {
    for (result, any_exponent) in [(strict, false), (lenient, true)] {
        match result {
            Ok(key) => check_key(key, any_exponent),
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

fn check_key(key: &PasswordEncryptor, any_exponent: bool) {
    let bits = key.modulus_bits();
    assert!((2048..=8192).contains(&bits), "{bits} bits accepted");
    let e = key.public_exponent();
    if any_exponent {
        assert!(
            e % 2 == 1 && (3..=KeyPolicy::MAX_EXPONENT).contains(&e),
            "e = {e}"
        );
    } else {
        assert_eq!(e, KeyPolicy::F4);
    }
    let any = KeyPolicy::STRICT.allowing_any_exponent();
    let again = PasswordEncryptor::from_spki_der_with(key.spki_der(), key.scheme(), any).unwrap();
    assert_eq!(again.public_key_id(), key.public_key_id());
    assert_eq!(again.spki_der(), key.spki_der());
    let from_b64 =
        PasswordEncryptor::from_spki_base64_with(&key.to_spki_base64(), key.scheme(), any).unwrap();
    assert_eq!(from_b64.public_key_id(), key.public_key_id());

    let k = usize::try_from(bits.div_ceil(8)).unwrap();
    assert_eq!(key.ciphertext_len(), k);
    let modulus = key.modulus();
    assert_eq!(modulus.len(), k);
    assert_ne!(modulus[0], 0, "the modulus has a leading zero");
    assert_eq!(
        8 * k - usize::try_from(modulus[0].leading_zeros()).unwrap(),
        usize::try_from(bits).unwrap()
    );
    let mut rng = rng(1);
    for scheme in SCHEMES {
        let key = key.with_scheme(scheme);
        assert_eq!(key.scheme(), scheme);
        let overhead = if scheme == Scheme::Pkcs1v15 { 11 } else { 66 };
        assert_eq!(key.max_password_len(), k - overhead);
        let new = |password| NewPassword {
            identity_id: "2c918085744fec4301746f9a5bce4605",
            password,
        };
        let encrypted = key.encrypt(&mut rng, &new("fuzz")).unwrap();
        assert_eq!(encrypted.as_bytes().len(), k);
        // What decryption would refuse, encryption refuses first.
        let err = key.encrypt(&mut rng, &new("")).unwrap_err();
        assert_eq!(err.violations()[0].kind(), &ViolationKind::Empty);
        let err = key.encrypt(&mut rng, &new("tab\there")).unwrap_err();
        assert_eq!(err.violations()[0].kind(), &ViolationKind::ControlCharacter);
    }
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
