//! The whole digit-token flow, as a help desk would run it: configure the org, issue a
//! token for a user, check a wrong and then the right code; then an attacker spending the
//! user's guess budget until the user is locked out, the help desk's unlock, and a rotation
//! of the token key. Every change to the user's state goes through a compare-and-set on a
//! simulated row, as it must in a service.
//!
//! Run with `cargo run --example password_reset`. Tokens and keys are fresh on every run
//! (the operating system's RNG); the clock is read here, by the application, never by the
//! library.

#![allow(
    clippy::arithmetic_side_effects,
    reason = "a few days after a real clock's now is far inside time's range"
)]

use core::error::Error;

use password_mgmt::getrandom::SysRng;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    Candidate, DigitTokenRequest, Outcome, PasswordOrgConfig, PasswordOrgConfigInput, Purpose,
    Subject, TokenKey, TokenKeyRing, UserLimits, UserState, UserStateUpdate,
};

/// One user's row in the store: the state's bytes, written only by compare-and-set.
struct Row(Option<[u8; UserState::ENCODED_LEN]>);

impl Row {
    /// The state as stored (a missing row is the fresh state).
    fn load(&self) -> Result<UserState, password_mgmt::Error> {
        self.0
            .as_ref()
            .map_or(Ok(UserState::new()), |bytes| UserState::decode(bytes))
    }

    /// `UPDATE users SET state = :replacement WHERE state = :expected` (or an insert when
    /// the row is missing): false when someone else wrote first.
    fn compare_and_set(&mut self, update: &UserStateUpdate) -> bool {
        let current = self.0.unwrap_or_else(|| UserState::new().encode());
        if current != *update.expected() {
            return false;
        }
        self.0 = Some(*update.replacement());
        true
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    // In production the keys come from your secret store, the same on every node.
    let mut keys = TokenKeyRing::new(TokenKey::from_os_rng()?);
    let limits = UserLimits::default();
    let now = UtcDateTime::now();
    let mut row = Row(None);

    // 1. The org admin enables 8-digit tokens that live 10 minutes.
    let org = PasswordOrgConfig::new(&PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        digit_token_length: Some(8),
        digit_token_duration_minutes: Some(10),
        ..Default::default()
    })?;
    println!("org config:  {org:?}");
    println!("limits:      {limits}");

    // 2. A help-desk agent requests a token for a user of tenant acme, taking the org's
    //    defaults.
    let request = DigitTokenRequest {
        user_id: "Abby.Smith",
        length: None,
        duration_minutes: None,
    };
    let params = request.resolve(&org)?;
    let subject = Subject {
        tenant: "acme",
        user: request.user_id,
        purpose: Purpose::PASSWORD_RESET,
    };

    // 3. Issue it: store the new state first, then deliver the token.
    let issuance = row
        .load()?
        .issue(&mut SysRng, &keys, &subject, &params, &limits, now)?;
    if let Some(update) = issuance.update() {
        assert!(row.compare_and_set(update), "no one else writes here");
    }
    let issued = issuance.stored()?;
    println!("request id:  {}", issued.request_id);
    println!(
        "token:       {} (deliver to {}; never store it)",
        issued.token.as_str(),
        subject.user
    );
    println!("valid until: {}", issued.expires_at);
    println!("stored:      {} bytes of state", UserState::ENCODED_LEN);

    // 4. The user types a wrong code first, then the right one. Each attempt: read,
    //    verify, compare-and-set, and only then the outcome.
    let wrong = if issued.token.as_str() == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for (typed, at) in [
        (wrong, now + Duration::seconds(40)),
        (issued.token.as_str(), now + Duration::seconds(75)),
    ] {
        let verification =
            row.load()?
                .verify(&keys, &subject, &Candidate::new(typed)?, &limits, at)?;
        if let Some(update) = verification.update() {
            assert!(row.compare_and_set(update), "no one else writes here");
        }
        println!("typed {typed}: {:?}", verification.stored());
    }

    // 5. An attacker asks for token after token and guesses, as fast as the limits allow.
    //    The budget (10 failures an hour, 100 a day) slows it down; after 100 failures in
    //    a row the user is locked out, whatever the tokens.
    let mut at = now + Duration::minutes(2);
    let (mut guesses, mut tokens) = (0, 0);
    loop {
        let state = row.load()?;
        let live = state
            .record()
            .is_some_and(|r| !r.is_locked() && !r.is_used() && at < r.expires_at());
        if !live {
            let issuance = match state.issue(&mut SysRng, &keys, &subject, &params, &limits, at) {
                Ok(issuance) => issuance,
                Err(password_mgmt::Error::UserLockedOut) => {
                    println!(
                        "attacker:    no more tokens: {}",
                        password_mgmt::Error::UserLockedOut
                    );
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(update) = issuance.update() {
                assert!(row.compare_and_set(update), "no one else writes here");
            }
            match issuance.stored() {
                Ok(_) => tokens += 1,
                Err(password_mgmt::Error::RateLimited { retry_after }) => {
                    at += retry_after.duration();
                }
                Err(e) => return Err(e.into()),
            }
            continue;
        }
        let verification =
            state.verify(&keys, &subject, &Candidate::new("12345678")?, &limits, at)?;
        if let Some(update) = verification.update() {
            assert!(row.compare_and_set(update), "no one else writes here");
        }
        match verification.stored() {
            Outcome::BudgetExhausted { retry_after } => at += retry_after.duration(),
            Outcome::UserLockedOut => {
                println!(
                    "attacker:    {guesses} wrong guesses over {tokens} tokens, then UserLockedOut"
                );
                break;
            }
            outcome if outcome.is_counted_failure() => {
                guesses += 1;
                at += Duration::SECOND;
            }
            outcome => println!("attacker:    {outcome:?}"),
        }
    }
    println!(
        "             {} after the first guess",
        at - (now + Duration::minutes(2))
    );

    // 6. The help desk checks who is asking, and unlocks the user.
    assert!(
        row.compare_and_set(&row.load()?.unlock()),
        "no one else writes here"
    );
    println!(
        "unlocked:    {} consecutive failures",
        row.load()?.consecutive_failures()
    );

    // 7. Rotate the token key: new tokens use the new key, a token issued a moment ago
    //    under the old one is still checked under it (a typo is counted against it), and
    //    after the longest token lifetime the old key is retired; then a live record under
    //    it is a clear error, not a wrong guess.
    //    (An hour later: the attacker spent the user's token requests too.)
    at += Duration::hours(1);
    let issuance = row
        .load()?
        .issue(&mut SysRng, &keys, &subject, &params, &limits, at)?;
    if let Some(update) = issuance.update() {
        assert!(row.compare_and_set(update), "no one else writes here");
    }
    let before_rotation = issuance.stored()?;
    let old_key = keys.rotate(TokenKey::from_os_rng()?);
    let typo = Candidate::new("1234567")?; // one digit short: counted, but the token lives
    let verification = row.load()?.verify(&keys, &subject, &typo, &limits, at)?;
    if let Some(update) = verification.update() {
        assert!(row.compare_and_set(update), "no one else writes here");
    }
    println!(
        "rotated:     key {old_key} -> {}; a typo of the token from before: {:?}",
        keys.current().id(),
        verification.stored()
    );
    keys.retire(old_key);
    let candidate = Candidate::new(before_rotation.token.as_str())?;
    match row.load()?.verify(&keys, &subject, &candidate, &limits, at) {
        Ok(_) => println!("retired:     unexpectedly verified"),
        Err(e) => println!("retired:     {e}"),
    }
    Ok(())
}
