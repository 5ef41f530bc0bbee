//! The client's whole set-password flow over the API's JSON:
//! password info JSON -> policy check -> encrypt -> set-password JSON.
//!
//! ```sh
//! cargo run --example client_flow --features serde
//! ```
//! The "server" here is a key pair from `tests/data/keys`, so that the example can also
//! show the other end decrypting what the client sent.

use core::error::Error;

use password_mgmt::getrandom::SysRng;
use password_mgmt::wire::{PasswordChangeRequest, PasswordInfo};
use password_mgmt::{PasswordKeyPair, Scheme};

fn main() -> Result<(), Box<dyn Error>> {
    let server =
        PasswordKeyPair::from_pkcs8_pem(include_str!("../tests/data/keys/rsa2048.pk8.pem"))?;

    // 1. The response of "query password info", as it arrives.
    let info_json = format!(
        r#"{{"identityId":"2c918085744fec4301746f9a5bce4605","sourceId":"2c918083746f642c01746f990884012a",
            "publicKeyId":"{}","publicKey":"{}",
            "accounts":[{{"accountId":"CN=Abby Smith,OU=Austin,DC=acme,DC=com","accountName":"Abby.Smith"}}],
            "policies":["passwordRepeatedChar is 3","passwordMinAlpha is 1","passwordMinLength is 5","passwordMinNumeric is 1"]}}"#,
        server.public_key_id(),
        server.public_key_base64()
    );
    let info: PasswordInfo = serde_json::from_str(&info_json)?;

    // 2. Check the new password against the policy before sending it: every problem at once.
    let policy = info.policy()?;
    for candidate in ["aaaa", "Correct-Horse-7"] {
        let report = policy.check(candidate);
        if report.is_ok() {
            println!(
                "{candidate:?} passes the policy (not checked here: {:?})",
                report.not_checked()
            );
        } else {
            for broken in report.broken() {
                println!("{candidate:?} breaks {broken}");
            }
        }
    }

    // 3. Encrypt it under the published key, and build the set-password body.
    let password = "Correct-Horse-7";
    let encrypted = info
        .encryptor()?
        .encrypt(&mut SysRng, password, Scheme::Pkcs1v15)?;
    let account = info.accounts.as_ref().and_then(|a| a.first());
    let body = PasswordChangeRequest {
        identity_id: info.identity_id.clone(),
        encrypted_password: Some(encrypted.to_string()),
        public_key_id: info.public_key_id.clone(),
        account_id: account.and_then(|a| a.account_id.clone()),
        source_id: info.source_id.clone(),
    };
    let body_json = serde_json::to_string_pretty(&body)?;
    println!("POST /set-password\n{body_json}");

    // 4. The server's end: parse, decrypt.
    let arrived: PasswordChangeRequest = serde_json::from_str(&body_json)?;
    let decrypted = server.decrypt(
        &mut SysRng,
        &arrived.encrypted_password()?,
        Scheme::Pkcs1v15,
    )?;
    println!("server decrypted {} characters", decrypted.chars().count());
    Ok(())
}
