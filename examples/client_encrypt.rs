//! The client's side of "set password", the seed's Java recipe in Rust: encrypt a password
//! under the `publicKey` that "query password info" returned.
//!
//! ```sh
//! cargo run --example client_encrypt -- "$(cat tests/data/keys/rsa2048.spki.b64)" 'new password'
//! ```
//! Without the password argument it reads the password from standard input (safer: the
//! command line is visible to other users of the machine).

use core::error::Error;
use std::io::BufRead;

use password_mgmt::getrandom::SysRng;
use password_mgmt::zeroize::Zeroizing;
use password_mgmt::{PasswordEncryptor, Scheme};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let public_key = args
        .next()
        .ok_or("usage: client_encrypt <publicKey> [password]")?;
    let password = match args.next() {
        Some(p) => Zeroizing::new(p),
        None => {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin().lock().read_line(&mut line)?;
            Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    };

    // Parse once; the encryptor can be kept and reused for any number of passwords.
    let encryptor = PasswordEncryptor::from_spki_base64(&public_key)?;
    let encrypted = encryptor.encrypt(&mut SysRng, &password, Scheme::Pkcs1v15)?;

    println!("publicKeyId:       {}", encryptor.public_key_id());
    println!("encryptedPassword: {encrypted}");
    Ok(())
}
