//! The whole digit-token flow, as a help desk would run it:
//! configure the org, issue a token for a user, check a wrong and then the right code.
//!
//! Run with `cargo run --example password_reset`. The token and key are fresh on every run
//! (the operating system's RNG); the clock is read here, by the application, never by the
//! library.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "a few minutes after a real clock's now is far inside time's range"
)]

use core::error::Error;

use password_mgmt::getrandom::SysRng;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    DigitTokenRequest, IssuedToken, PasswordOrgConfig, PasswordOrgConfigInput, TokenKey, issue,
};

fn main() -> Result<(), Box<dyn Error>> {
    // In production the key comes from your secret store, the same on every node.
    let key = TokenKey::from_os_rng()?;
    let now = UtcDateTime::now();

    // 1. The org admin enables 8-digit tokens that live 10 minutes.
    let org = PasswordOrgConfig::new(&PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        digit_token_length: Some(8),
        digit_token_duration_minutes: Some(10),
        ..Default::default()
    })?;
    println!("org config:  {org:?}");

    // 2. A help-desk agent requests a token for a user, taking the org's defaults.
    let request = DigitTokenRequest {
        user_id: "Abby.Smith",
        length: None,
        duration_minutes: None,
    };
    let params = request.resolve(&org)?;

    // 3. Issue it: the token goes to the user, the record to the store.
    let issued = issue(&mut SysRng, &key, request.user_id, &params, now)?;
    let stored = issued.record.encode();
    println!("request id:  {}", issued.request_id);
    println!(
        "token:       {} (deliver to {}; never store it)",
        issued.token.as_str(),
        request.user_id
    );
    println!("valid until: {}", issued.record.expires_at());
    println!("record:      {} bytes: {}", stored.len(), hex(&stored));

    // 4. The user types a wrong code first, then the right one.
    let wrong = if issued.token.as_str() == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let attempts = [
        (wrong, now + Duration::seconds(40)),
        (issued.token.as_str(), now + Duration::seconds(75)),
    ];
    let mut stored = stored.to_vec();
    for (candidate, at) in attempts {
        let record = IssuedToken::decode(&stored)?;
        let check = record.verify(&key, request.user_id, candidate, at)?;
        println!("typed {candidate}: {:?}", check.outcome);
        if check.outcome.changes_record() {
            // A real service writes with a compare-and-set against the bytes it read.
            stored = check.record.encode().to_vec();
        }
    }

    // 5. The token is single-use.
    let record = IssuedToken::decode(&stored)?;
    let again = record.verify(
        &key,
        request.user_id,
        issued.token.as_str(),
        now + Duration::minutes(2),
    )?;
    println!("typed it again: {:?}", again.outcome);
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
