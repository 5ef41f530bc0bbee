//! The whole digit-token flow, as a help desk would run it: configure the org, issue a
//! token for a user, check a wrong and then the right code; then an attacker spending the
//! user's guess budget, and a rotation of the token key.
//!
//! Run with `cargo run --example password_reset`. Tokens and keys are fresh on every run
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
    DigitTokenRequest, GuessBudget, GuessLimits, IssuedToken, Outcome, PasswordOrgConfig,
    PasswordOrgConfigInput, TokenKey, TokenKeyRing, issue,
};

fn main() -> Result<(), Box<dyn Error>> {
    // In production the keys come from your secret store, the same on every node.
    let mut keys = TokenKeyRing::new(TokenKey::from_os_rng()?);
    let limits = GuessLimits::default();
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
    let user = "Abby.Smith";
    let request = DigitTokenRequest {
        user_id: user,
        length: None,
        duration_minutes: None,
    };
    let params = request.resolve(&org)?;

    // 3. Issue it: the token goes to the user, the record to the store, beside the user's
    //    guess budget.
    let issued = issue(&mut SysRng, keys.current(), user, &params, now)?;
    let mut stored_record = issued.record.encode().to_vec();
    let mut stored_budget = GuessBudget::new().encode().to_vec();
    println!("request id:  {}", issued.request_id);
    println!(
        "token:       {} (deliver to {user}; never store it)",
        issued.token.as_str()
    );
    println!("valid until: {}", issued.record.expires_at());
    println!(
        "stored:      record {} bytes, budget {} bytes",
        stored_record.len(),
        stored_budget.len()
    );

    // 4. The user types a wrong code first, then the right one.
    let wrong = if issued.token.as_str() == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for (candidate, at) in [
        (wrong, now + Duration::seconds(40)),
        (issued.token.as_str(), now + Duration::seconds(75)),
    ] {
        let record = IssuedToken::decode(&stored_record)?;
        let budget = GuessBudget::decode(&stored_budget)?;
        let check = record.verify_with_budget(
            keys.key_for(&record)?,
            &budget,
            &limits,
            user,
            candidate,
            at,
        )?;
        println!("typed {candidate}: {:?}", check.outcome);
        // A real service writes both with one compare-and-set against the bytes it read.
        stored_record = check.record.encode().to_vec();
        stored_budget = check.budget.encode().to_vec();
    }

    // 5. An attacker asks for token after token and guesses, as fast as allowed. The
    //    budget (10 failures an hour, 100 a day) stops it, whatever the tokens.
    let mut budget = GuessBudget::decode(&stored_budget)?;
    let mut at = now + Duration::minutes(2);
    let mut guesses = 0;
    loop {
        let record = issue(&mut SysRng, keys.current(), user, &params, at)?.record;
        let check =
            record.verify_with_budget(keys.current(), &budget, &limits, user, "12345678", at)?;
        budget = check.budget;
        if let Outcome::BudgetExhausted { retry_after } = check.outcome {
            println!(
                "attacker:    {guesses} wrong guesses, then BudgetExhausted (retry after {retry_after})"
            );
            break;
        }
        guesses += 1;
        at += Duration::SECOND;
    }

    // 6. Rotate the token key: new tokens use the new key, a record made a moment ago
    //    under the old one still verifies, and after the longest token lifetime the old
    //    key is retired; then its records are a clear error, not a wrong guess.
    let before_rotation = issue(&mut SysRng, keys.current(), user, &params, at)?;
    let old_key = keys.rotate(TokenKey::from_os_rng()?);
    let record = &before_rotation.record;
    let check = record.verify(
        keys.key_for(record)?,
        user,
        before_rotation.token.as_str(),
        at,
    )?;
    println!(
        "rotated:     key {old_key} -> {}; old record: {:?}",
        keys.current().id(),
        check.outcome
    );
    keys.retire(old_key);
    match keys.key_for(record) {
        Ok(_) => println!("retired:     unexpectedly still accepted"),
        Err(e) => println!("retired:     {e}"),
    }
    Ok(())
}
