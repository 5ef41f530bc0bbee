//! The client's side of "set password", the seed's Java recipe in Rust: encrypt a password
//! under the `publicKey` that "query password info" returned.
//!
//! ```sh
//! cargo run --example client_encrypt -- "$(cat tests/data/keys/rsa2048.spki.b64)" 'new password'
//! cargo run --example client_encrypt -- "$(cat tests/data/keys/rsa2048.spki.b64)" 'new password' \
//!     --scheme oaep-sha256-bound --identity 2c918085744fec4301746f9a5bce4605
//! ```
//! Arguments: the `publicKey`, then the password, then options:
//! * `--scheme NAME`: the scheme the server's key serves, `pkcs1v15` (the API's recipe, the
//!   default), `oaep-sha256` or `oaep-sha256-bound`;
//! * `--identity ID`: the `identityId` the password is for (bound into the ciphertext under
//!   `oaep-sha256-bound`, so required there; only checked under the other schemes, where
//!   it defaults to a placeholder).
//!
//! Without the password argument (or with `-` in its place) it reads the password from
//! standard input (safer: the command line is visible to other users of the machine; and
//! the way to give a password that is itself `-`, `--scheme`, `--identity` or `--help`).

use core::error::Error;
use std::io::BufRead;
use std::process::ExitCode;

use password_mgmt::getrandom::SysRng;
use password_mgmt::zeroize::Zeroizing;
use password_mgmt::{NewPassword, PasswordEncryptor, Scheme};

const USAGE: &str = "usage: client_encrypt <publicKey> [password|-] [--scheme pkcs1v15|oaep-sha256|oaep-sha256-bound] [--identity <identityId>]";

/// The identity used when none is given and the scheme does not bind it (the encryptor
/// still checks that there is one).
const NO_IDENTITY: &str = "unbound";

/// Runs [`run`], printing an error as text (not as `Debug`) and failing the process.
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client_encrypt: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let public_key = args.next().ok_or(USAGE)?;
    let mut password_arg = None;
    let mut scheme = Scheme::Pkcs1v15;
    let mut identity = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scheme" => scheme = args.next().ok_or(USAGE)?.parse()?,
            "--identity" => identity = Some(args.next().ok_or(USAGE)?),
            "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            // Any other first argument is the password, as before the options existed.
            _ if password_arg.is_none() => {
                password_arg = Some(Zeroizing::new(arg));
            }
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}").into()),
        }
    }
    if identity.is_none() && scheme.binds_identity() {
        return Err(format!("{scheme} binds the identity: give --identity\n{USAGE}").into());
    }
    let identity_id = identity.as_deref().unwrap_or(NO_IDENTITY);
    let password = match password_arg {
        Some(p) if p.as_str() != "-" => p,
        _ => {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin().lock().read_line(&mut line)?;
            Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    };

    // Parse once; the encryptor can be kept and reused for any number of passwords.
    let encryptor = PasswordEncryptor::from_spki_base64(&public_key, scheme)?;
    let new = NewPassword {
        identity_id,
        password: &password,
    };
    let encrypted = encryptor.encrypt(&mut SysRng, &new)?;

    println!("scheme:            {scheme}");
    match &identity {
        Some(id) => println!("identityId:        {id}"),
        None => println!("identityId:        (none given; {scheme} does not bind it)"),
    }
    println!("publicKeyId:       {}", encryptor.public_key_id());
    println!("encryptedPassword: {encrypted}");
    Ok(())
}
