//! The server's side of "set password": hold a key pair, publish its public half, decrypt
//! what clients send.
//!
//! ```sh
//! cargo run --example server_decrypt                          # a fresh 3072-bit key
//! cargo run --example server_decrypt -- tests/data/keys/rsa2048.pk8.pem
//! ```

use core::error::Error;

use password_mgmt::getrandom::SysRng;
use password_mgmt::zeroize::Zeroizing;
use password_mgmt::{EncryptedPassword, PasswordKeyPair, Scheme};

fn main() -> Result<(), Box<dyn Error>> {
    let server = match std::env::args().nth(1) {
        // The PEM holds the private key: keep it in a buffer that is wiped when dropped.
        Some(path) => {
            PasswordKeyPair::from_pkcs8_pem(&Zeroizing::new(std::fs::read_to_string(path)?))?
        }
        None => PasswordKeyPair::generate(&mut SysRng, 3072)?,
    };
    // What "query password info" returns.
    println!("publicKeyId: {}", server.public_key_id());
    println!("publicKey:   {}", server.public_key_base64());

    // A client encrypts (see examples/client_encrypt.rs) and sends `encryptedPassword`.
    let sent = server
        .encryptor()
        .encrypt(&mut SysRng, "Pässwörd-密码-🔑", Scheme::Pkcs1v15)?
        .to_string();

    // The server parses and decrypts it, blinded with its own RNG.
    let arrived: EncryptedPassword = sent.parse()?;
    let password = server.decrypt(&mut SysRng, &arrived, Scheme::Pkcs1v15)?;
    println!(
        "decrypted:   {} bytes of UTF-8 (never log the password itself)",
        password.len()
    );

    // A tampered ciphertext: PKCS#1 v1.5 implicit rejection gives garbage, not a padding
    // error. Answer every failure (here, or later against the password policy) the same way.
    let mut bytes = arrived.as_bytes().to_vec();
    if let Some(b) = bytes.get_mut(100) {
        *b ^= 1;
    }
    let tampered = EncryptedPassword::from_bytes(bytes);
    match server.decrypt(&mut SysRng, &tampered, Scheme::Pkcs1v15) {
        Ok(garbage) => println!(
            "tampered:    decrypted to {} bytes of (garbage) UTF-8",
            garbage.len()
        ),
        Err(e) => println!("tampered:    {e} ({})", e.detail_code()),
    }
    Ok(())
}
