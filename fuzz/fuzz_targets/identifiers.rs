//! The small text parsers: `RequestId`, `PublicKeyId`, `EncryptedPassword::from_base64`,
//! and `TokenKey::from_slice`.
//!
//! Properties: each parser is total; what it accepts prints back to the same text (lower
//! case for request ids, which accept either case), so there is one text per value; a
//! token key is accepted exactly when it has 32 bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::{EncryptedPassword, PublicKeyId, RequestId, TokenKey};

fuzz_target!(|data: &[u8]| {
    match TokenKey::from_slice(data) {
        Ok(key) => {
            assert_eq!(data.len(), TokenKey::LEN);
            let bytes: [u8; TokenKey::LEN] = data.try_into().unwrap();
            assert_eq!(key.id(), TokenKey::from_bytes(&bytes).id());
        }
        Err(_) => assert_ne!(data.len(), TokenKey::LEN),
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = text.parse::<RequestId>() {
        assert_eq!(id.to_string(), text.to_ascii_lowercase());
        assert_eq!(id.to_string().parse::<RequestId>().unwrap(), id);
    }
    if let Ok(id) = text.parse::<PublicKeyId>() {
        assert_eq!(id.to_string(), text, "a public key id has one text");
    }
    if let Ok(encrypted) = EncryptedPassword::from_base64(text) {
        assert!(!encrypted.as_bytes().is_empty());
        assert_eq!(
            encrypted.to_string(),
            text,
            "a ciphertext has one base64 text"
        );
        assert_eq!(text.parse::<EncryptedPassword>().unwrap(), encrypted);
    }
});
