//! JSON deserialization of every wire type (`password_mgmt::wire`, feature `serde`).
//!
//! Every input is parsed as each type in turn.
//!
//! Properties: deserialization is total; whatever parses serializes and parses back to an
//! equal value, both through text and through `serde_json::Value`; a `digitToken` that
//! parses is 6 to 18 ASCII digits; a parsed token request resolves as its borrowed form
//! does; a parsed org config converts to the crate's type exactly when its values are in
//! range; the conversions to policies, keys and ciphertexts never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::wire::{
    DigitTokenRequest, DigitTokenResponse, ErrorMessage, ErrorResponse, LocaleOrigin,
    PasswordChangeRequest, PasswordChangeResponse, PasswordInfo, PasswordInfoAccount,
    PasswordInfoQuery, PasswordOrgConfig, PasswordState, PasswordStatus, TooManyRequests,
    Unauthorized,
};
use password_mgmt::{PasswordOrgConfigInput, TokenParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    if let Some(request) = round_trip::<DigitTokenRequest>(data) {
        let org = password_mgmt::PasswordOrgConfig::new(&PasswordOrgConfigInput {
            digit_token_enabled: Some(true),
            ..Default::default()
        })
        .unwrap();
        let borrowed: Result<TokenParams, _> = request.as_request().resolve(&org);
        assert_eq!(request.resolve(&org), borrowed);
    }
    if let Some(response) = round_trip::<DigitTokenResponse>(data) {
        if let Some(token) = &response.digit_token {
            let t = token.as_str();
            assert!((6..=18).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()));
        }
    }
    if let Some(config) = round_trip::<PasswordOrgConfig>(data) {
        let input: PasswordOrgConfigInput = config.into();
        let in_range = input
            .digit_token_duration_minutes
            .is_none_or(|m| (1..=60).contains(&m))
            && input
                .digit_token_length
                .is_none_or(|n| (6..=18).contains(&n));
        assert_eq!(
            password_mgmt::PasswordOrgConfig::new(&input).is_ok(),
            in_range
        );
    }
    round_trip::<PasswordInfoQuery>(data);
    if let Some(info) = round_trip::<PasswordInfo>(data) {
        let _ = info.policy();
        let _ = info.encryptor(password_mgmt::Scheme::Pkcs1v15);
    }
    round_trip::<PasswordInfoAccount>(data);
    if let Some(request) = round_trip::<PasswordChangeRequest>(data) {
        if let Ok(encrypted) = request.encrypted_password() {
            assert_eq!(Some(encrypted.to_string()), request.encrypted_password);
        }
    }
    round_trip::<PasswordChangeResponse>(data);
    round_trip::<PasswordStatus>(data);
    round_trip::<ErrorResponse>(data);
    round_trip::<ErrorMessage>(data);
    round_trip::<Unauthorized>(data);
    round_trip::<TooManyRequests>(data);
    round_trip::<PasswordState>(data);
    round_trip::<LocaleOrigin>(data);
});

/// Parses `data` as `T`; when it parses, checks that it round-trips, and returns it.
fn round_trip<T>(data: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_slice(data).ok()?;
    let text = serde_json::to_string(&value).expect("a parsed value serializes");
    let back: T =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text} does not parse back: {e}"));
    assert_eq!(back, value, "text round trip of {text}");
    let tree = serde_json::to_value(&value).expect("a parsed value serializes to a tree");
    let back: T = serde_json::from_value(tree).expect("the tree parses back");
    assert_eq!(back, value, "tree round trip");
    Some(value)
}
