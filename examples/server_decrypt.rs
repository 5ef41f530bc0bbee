//! The server's side of "set password": hold a key pair for one scheme, publish its public
//! half, decrypt what clients send for an identity.
//!
//! ```sh
//! cargo run --example server_decrypt                          # a fresh 3072-bit key
//! cargo run --example server_decrypt -- tests/data/keys/rsa2048.pk8.pem
//! cargo run --example server_decrypt -- tests/data/keys/rsa2048.pk8.pem --scheme oaep-sha256-bound
//! ```
//! The scheme (`--scheme`, default `pkcs1v15`, the API's recipe) is fixed when the key is
//! loaded: the key decrypts that scheme's ciphertexts only.

use core::error::Error;
use std::process::ExitCode;

use password_mgmt::getrandom::SysRng;
use password_mgmt::zeroize::Zeroizing;
use password_mgmt::{EncryptedPassword, NewPassword, PasswordKeyPair, Scheme};

const USAGE: &str = "usage: server_decrypt [private key PKCS#8 PEM file] [--scheme pkcs1v15|oaep-sha256|oaep-sha256-bound]";

/// Runs [`run`], printing an error as text (not as `Debug`) and failing the process.
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server_decrypt: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (mut path, mut scheme) = (None, Scheme::Pkcs1v15);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scheme" => scheme = args.next().ok_or(USAGE)?.parse()?,
            _ if path.is_none() && !arg.starts_with("--") => path = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}").into()),
        }
    }
    let server = match path {
        // The PEM holds the private key: keep it in a buffer that is wiped when dropped.
        Some(path) => PasswordKeyPair::from_pkcs8_pem(
            &Zeroizing::new(std::fs::read_to_string(path)?),
            scheme,
        )?,
        None => PasswordKeyPair::generate(&mut SysRng, 3072, scheme)?,
    };
    // What "query password info" returns (the scheme is agreed out of band).
    println!("scheme:      {}", server.scheme());
    println!("publicKeyId: {}", server.public_key_id());
    println!("publicKey:   {}", server.public_key_base64());

    // A client encrypts (see examples/client_encrypt.rs) and sends `encryptedPassword`
    // with the `identityId` it is for.
    let identity_id = "2c918085744fec4301746f9a5bce4605";
    let new = NewPassword {
        identity_id,
        password: "Pässwörd-密码-🔑",
    };
    let sent = server.encryptor().encrypt(&mut SysRng, &new)?.to_string();

    // The server parses and decrypts it for the request's identity, blinded with its own RNG.
    let arrived: EncryptedPassword = sent.parse()?;
    let password = server.decrypt(&mut SysRng, &arrived, identity_id)?;
    println!(
        "decrypted:   {} bytes of UTF-8 (never log the password itself)",
        password.len()
    );

    // The same ciphertext replayed for another identity: only the bound scheme refuses it.
    match server.decrypt(&mut SysRng, &arrived, "2c918085744fec4301746f9a5bce4606") {
        Ok(_) => println!("replayed:    decrypts for another identity ({scheme} does not bind it)"),
        Err(e) => println!("replayed:    {e} ({})", e.detail_code()),
    }

    // A tampered ciphertext. Under PKCS#1 v1.5, implicit rejection gives garbage, not a
    // padding error; under OAEP, one error. Answer every failure (here, or later against
    // the password policy) the same way.
    let mut bytes = arrived.as_bytes().to_vec();
    if let Some(b) = bytes.get_mut(100) {
        *b ^= 1;
    }
    let tampered = EncryptedPassword::from_bytes(bytes);
    match server.decrypt(&mut SysRng, &tampered, identity_id) {
        Ok(garbage) => println!(
            "tampered:    decrypted to {} bytes of (garbage) UTF-8",
            garbage.len()
        ),
        Err(e) => println!("tampered:    {e} ({})", e.detail_code()),
    }
    Ok(())
}
