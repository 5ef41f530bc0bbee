//! The client's whole set-password flow over the API's JSON:
//! password info JSON -> policy check -> encrypt -> set-password JSON -> server decrypts.
//!
//! ```sh
//! cargo run --example client_flow --features serde
//! ```
//! The "server" here is a key ring of two key pairs from `tests/data/keys`, one per scheme
//! it serves: the API's PKCS#1 v1.5 and the identity-binding OAEP. The client here is one
//! of "ours", so it uses the bound scheme; the example also shows the other end
//! decrypting what the client sent, by the `publicKeyId` and `identityId` of the request.

use core::error::Error;

use password_mgmt::getrandom::SysRng;
use password_mgmt::wire::{PasswordChangeRequest, PasswordInfo};
use password_mgmt::{NewPassword, PasswordKeyPair, PasswordKeyRing, Scheme};

fn main() -> Result<(), Box<dyn Error>> {
    let mut ring = PasswordKeyRing::new(PasswordKeyPair::from_pkcs8_pem(
        include_str!("../tests/data/keys/rsa2048.pk8.pem"),
        Scheme::Pkcs1v15,
    )?);
    ring.add(PasswordKeyPair::from_pkcs8_pem(
        include_str!("../tests/data/keys/rsa3072.pk8.pem"),
        Scheme::OaepSha256Bound,
    )?)?;
    // The server publishes the key of the scheme this client is known to use.
    let scheme = Scheme::OaepSha256Bound;
    let published = ring.current(scheme).ok_or("no key for the scheme")?;

    // 1. The response of "query password info", as it arrives.
    let info_json = format!(
        r#"{{"identityId":"2c918085744fec4301746f9a5bce4605","sourceId":"2c918083746f642c01746f990884012a",
            "publicKeyId":"{}","publicKey":"{}",
            "accounts":[{{"accountId":"CN=Abby Smith,OU=Austin,DC=acme,DC=com","accountName":"Abby.Smith"}}],
            "policies":["passwordRepeatedChar is 3","passwordMinAlpha is 1","passwordMinLength is 5","passwordMinNumeric is 1"]}}"#,
        published.public_key_id(),
        published.public_key_base64()
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

    // 3. Encrypt it under the published key, for the identity, and build the request body.
    let identity_id = info.identity_id.as_deref().ok_or("no identityId")?;
    let new = NewPassword {
        identity_id,
        password: "Correct-Horse-7",
    };
    let encrypted = info.encryptor(scheme)?.encrypt(&mut SysRng, &new)?;
    let account = info.accounts.as_ref().and_then(|a| a.first());
    let body = PasswordChangeRequest {
        identity_id: info.identity_id.clone(),
        encrypted_password: Some(encrypted.to_string()),
        public_key_id: info.public_key_id.clone(),
        account_id: account.and_then(|a| a.account_id.clone()),
        source_id: info.source_id.clone(),
    };
    let body_json = serde_json::to_string_pretty(&body)?;
    println!("POST /set-password ({scheme})\n{body_json}");

    // 4. The server's end: parse, pick the key the request names, decrypt for its identity.
    let arrived: PasswordChangeRequest = serde_json::from_str(&body_json)?;
    let key_id = arrived.public_key_id.as_deref().unwrap_or_default();
    let identity_id = arrived.identity_id.as_deref().unwrap_or_default();
    let decrypted = ring.decrypt(
        &mut SysRng,
        key_id,
        &arrived.encrypted_password()?,
        identity_id,
    )?;
    println!("server decrypted {} characters", decrypted.chars().count());

    // The same body with another identityId does not decrypt: the ciphertext is bound.
    let replayed = ring.decrypt(
        &mut SysRng,
        key_id,
        &arrived.encrypted_password()?,
        "2c918085744fec4301746f9a5bce4606",
    );
    match replayed {
        Ok(_) => return Err("a bound ciphertext decrypted for another identity".into()),
        Err(e) => println!("replayed for another identity: {e}"),
    }
    Ok(())
}
