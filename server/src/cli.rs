//! The command line: `serve`, `demo`, `keygen`, `import`, `unlock`, `hash-secret`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};
use password_mgmt::PasswordKeyPair;

use crate::clock::{Clock, SystemClock, to_millis};
use crate::config::{ConfigError, Settings, settings_help};
use crate::directory::Directory;
use crate::entropy::Entropy;
use crate::error::ApiError;
use crate::keys::{SigningKey, new_token_key_file};
use crate::{Application, StartError, import_directory};

/// The Password Management API server.
#[derive(Debug, Parser)]
#[command(name = "password-mgmt-server", version, about, after_long_help = settings_help())]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (settings from --config and PASSWORD_MGMT__SECTION__KEY variables).
    #[command(after_long_help = settings_help())]
    Serve {
        /// The TOML settings file.
        #[arg(long, short, env = "PASSWORD_MGMT_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Start a working demo: SQLite in a temporary directory, fresh keys, the sample
    /// directory, a demo OAuth client; prints curl lines that work as printed.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Write new keys: an RSA PKCS#8 PEM for passwords in transit, a token MAC key, and
    /// the server's Ed25519 JWT signing key. Private parts are never printed.
    Keygen {
        /// Where to write `password-rsa.pk8.pem`, `token-mac.key` and `jwt-ed25519.pk8.pem`.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// RSA modulus size (2048 to 8192).
        #[arg(long, default_value_t = 3072)]
        bits: u32,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Load a directory file (TOML) into the database, so that every node serves it.
    Import {
        /// The TOML settings file (for `database.url`).
        #[arg(long, short, env = "PASSWORD_MGMT_CONFIG")]
        config: Option<PathBuf>,
        /// The directory file.
        file: PathBuf,
    },
    /// Unlock a user locked out after too many wrong codes in a row (check who is asking
    /// first): resets the count and refills the guess budget; a live token stays live.
    Unlock {
        /// The TOML settings file (for `database.url`).
        #[arg(long, short, env = "PASSWORD_MGMT_CONFIG")]
        config: Option<PathBuf>,
        /// The org.
        #[arg(long)]
        tenant: String,
        /// The user name (the digit-token routes' `userId`).
        #[arg(long)]
        user: String,
    },
    /// Read a client secret from standard input and print its Argon2id PHC string, for
    /// `secret_hash` in `[[oauth.clients]]`.
    HashSecret {
        /// The TOML settings file (for the `[argon2]` costs).
        #[arg(long, short, env = "PASSWORD_MGMT_CONFIG")]
        config: Option<PathBuf>,
    },
}

/// Settings from `file` and the process environment.
///
/// # Errors
/// [`ConfigError`].
pub fn settings(file: Option<&Path>) -> Result<Settings, ConfigError> {
    Settings::load(file, std::env::vars())
}

/// Writes `contents` to a new file readable by its owner only; refuses to overwrite
/// unless `force`.
///
/// # Errors
/// A message naming the file.
pub fn write_private(path: &Path, contents: &[u8], force: bool) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} exists; use --force to overwrite it", path.display())
        } else {
            format!("cannot write {}: {e}", path.display())
        }
    })?;
    file.write_all(contents)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The files `keygen` writes in `dir`.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    /// The RSA key for passwords in transit.
    pub password_key: PathBuf,
    /// The token MAC key.
    pub token_mac_key: PathBuf,
    /// The JWT signing key.
    pub signing_key: PathBuf,
}

/// Generates and writes the three keys; returns the paths and the public ids.
///
/// # Errors
/// A message naming the file or the failure.
pub fn keygen(
    dir: &Path,
    bits: u32,
    force: bool,
    rng: &mut Entropy,
) -> Result<(KeyFiles, String, String), String> {
    let files = KeyFiles {
        password_key: dir.join("password-rsa.pk8.pem"),
        token_mac_key: dir.join("token-mac.key"),
        signing_key: dir.join("jwt-ed25519.pk8.pem"),
    };
    if !force {
        for path in [
            &files.password_key,
            &files.token_mac_key,
            &files.signing_key,
        ] {
            if path.exists() {
                return Err(format!(
                    "{} exists; use --force to overwrite it",
                    path.display()
                ));
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // The file holds the key alone; the scheme it serves is `keys.password_scheme`.
    let pair = PasswordKeyPair::generate(rng, bits, password_mgmt::Scheme::Pkcs1v15)
        .map_err(|e| format!("RSA key: {e}"))?;
    let pem = pair.to_pkcs8_pem().map_err(|e| format!("RSA key: {e}"))?;
    write_private(&files.password_key, pem.as_bytes(), force)?;
    let mac = new_token_key_file(rng).map_err(|e| e.to_string())?;
    write_private(&files.token_mac_key, mac.as_bytes(), force)?;
    let (signing, signing_pem) = SigningKey::generate(rng).map_err(|e| e.to_string())?;
    write_private(&files.signing_key, signing_pem.as_bytes(), force)?;
    Ok((
        files,
        pair.public_key_id().to_string(),
        signing.kid().to_owned(),
    ))
}

/// Runs the command line; the process's exit code.
pub async fn run(cli: Cli) -> std::process::ExitCode {
    let outcome = match cli.command {
        Command::Serve { config } => serve(config.as_deref()).await,
        Command::Demo { listen } => crate::demo::run(&listen).await,
        Command::Keygen { dir, bits, force } => {
            init_logs("warn");
            keygen(&dir, bits, force, &mut Entropy::os()).map(|(files, public_key_id, kid)| {
                println!(
                    "wrote {} (publicKeyId {public_key_id})",
                    files.password_key.display()
                );
                println!("wrote {}", files.token_mac_key.display());
                println!("wrote {} (kid {kid})", files.signing_key.display());
            })
        }
        Command::Import { config, file } => import(config.as_deref(), &file).await,
        Command::Unlock {
            config,
            tenant,
            user,
        } => unlock(config.as_deref(), &tenant, &user).await,
        Command::HashSecret { config } => hash_secret(config.as_deref()),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logs(filter: &str) {
    if let Err(e) = crate::telemetry::init(filter, std::io::stderr) {
        eprintln!("warning: logs: {e}");
    }
}

async fn serve(config: Option<&Path>) -> Result<(), String> {
    let settings = settings(config).map_err(|e| e.to_string())?;
    init_logs(&settings.log.filter);
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

/// The store of `database.url`, for a command.
async fn connect(settings: &Settings) -> Result<Arc<dyn crate::store::Store>, String> {
    crate::store::connect(
        settings.database.url.expose(),
        settings.database.max_connections,
        std::time::Duration::from_secs(settings.database.acquire_timeout_seconds),
    )
    .await
    .map_err(|e| StartError::Store(e).to_string())
}

async fn import(config: Option<&Path>, file: &Path) -> Result<(), String> {
    let settings = settings(config).map_err(|e| e.to_string())?;
    init_logs(&settings.log.filter);
    let directory = Directory::load(file).map_err(|e| e.to_string())?;
    let store = connect(&settings).await?;
    let count = import_directory(&store, &directory, to_millis(SystemClock.now()))
        .await
        .map_err(|e| e.to_string())?;
    println!("imported {count} tenant(s) from {}", file.display());
    Ok(())
}

async fn unlock(config: Option<&Path>, tenant: &str, user: &str) -> Result<(), String> {
    let settings = settings(config).map_err(|e| e.to_string())?;
    init_logs(&settings.log.filter);
    let store = connect(&settings).await?;
    let reset = crate::rows::unlock(&*store, &crate::store::KeyLocks::new(), tenant, user)
        .await
        .map_err(|e| match e {
            ApiError::Unavailable(detail) | ApiError::Internal(detail) => {
                format!("unlock failed: {detail}")
            }
            other => format!("unlock failed: {other:?}"),
        })?;
    match reset {
        Some(count) => {
            println!(
                "{tenant}/{user}: unlocked ({count} wrong codes in a row reset, guess budget refilled)"
            );
            Ok(())
        }
        None => Err(format!(
            "{tenant}/{user}: no state is stored for this user (never issued a code, or a typo): nothing to unlock"
        )),
    }
}

fn hash_secret(config: Option<&Path>) -> Result<(), String> {
    let settings = settings(config).map_err(|e| e.to_string())?;
    let mut secret = password_mgmt::zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut secret)
        .map_err(|e| format!("cannot read the secret: {e}"))?;
    let secret = secret.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        return Err("the secret on standard input is empty".into());
    }
    let params = argon2::Params::new(
        settings.argon2.m_cost_kib,
        settings.argon2.t_cost,
        settings.argon2.p_cost,
        None,
    )
    .map_err(|e| format!("argon2 settings: {e}"))?;
    let phc = crate::hashing::hash_blocking(&params, secret.as_bytes(), &mut Entropy::os())?;
    println!("{phc}");
    Ok(())
}

/// A clock for commands: the system's.
#[must_use]
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn key_files_are_private_and_never_overwritten_without_force() {
        let dir =
            std::env::temp_dir().join(format!("pm-cli-test-{}", Entropy::os().hex::<8>().unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        write_private(&path, b"one", false).unwrap();
        let e = write_private(&path, b"two", false).unwrap_err();
        assert!(e.contains("--force"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_private(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_help_lists_every_setting() {
        use clap::CommandFactory as _;
        let help = Cli::command()
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        for s in crate::config::SETTINGS {
            assert!(help.contains(s.key), "--help lacks {}", s.key);
        }
    }
}
