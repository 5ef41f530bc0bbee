//! `password-mgmt-server demo`: a working server on the embedded default (SQLite in a
//! temporary directory), fresh keys, the sample directory and a demo OAuth client whose
//! secret is printed once, with curl lines that work as printed.

use std::path::Path;
use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};

use crate::clock::SystemClock;
use crate::config::{OAuthClient, Settings};
use crate::entropy::Entropy;
use crate::{Application, build_state};

/// The sample directory, shipped with the server.
pub const SAMPLE_DIRECTORY: &str = include_str!("../directory.sample.toml");

/// The demo client's id.
pub const DEMO_CLIENT_ID: &str = "demo-client";

/// The curl lines for a server at `base` and the demo client's `secret`: configure the
/// org, read it, query the password info, issue a digit token for Abby Smith, then redeem
/// it as a reset page does (the new password encrypted with `openssl` under the served
/// key, whose PEM goes to `dir`).
#[must_use]
pub fn curl_lines(base: &str, secret: &str, dir: &Path) -> String {
    let auth = "-H \"Authorization: Bearer $TOKEN\"";
    let json = "-H 'Content-Type: application/json'";
    // Single-quoted for the shell, whatever the temporary directory's name.
    let pem = format!(
        "'{}'",
        dir.join("public.pem")
            .display()
            .to_string()
            .replace('\'', r"'\''")
    );
    format!(
        "TOKEN=$(curl -s {base}/oauth/token -d grant_type=client_credentials -d client_id={DEMO_CLIENT_ID} -d client_secret={secret} | sed -E 's/.*\"access_token\":\"([^\"]*)\".*/\\1/')\n\
         curl -s -X PUT {base}/v2025/password-org-config {auth} {json} -d '{{\"digitTokenEnabled\":true,\"digitTokenLength\":8}}'; echo\n\
         curl -s {base}/v2025/password-org-config {auth}; echo\n\
         curl -s -X POST {base}/v2025/query-password-info {auth} {json} -d '{{\"userName\":\"Abby.Smith\",\"sourceName\":\"My-AD\"}}'; echo\n\
         CODE=$(curl -s -X POST {base}/v2025/generate-password-reset-token/digit {auth} {json} -d '{{\"userId\":\"Abby.Smith\"}}' | sed -E 's/.*\"digitToken\":\"([0-9]*)\".*/\\1/'); echo \"code: $CODE\"\n\
         KEY=$(curl -s {base}/reset-password/v1/public-key); KEY_ID=$(echo \"$KEY\" | sed -E 's/.*\"publicKeyId\":\"([^\"]*)\".*/\\1/')\n\
         echo \"$KEY\" | sed -E 's/.*\"publicKey\":\"([^\"]*)\".*/\\1/' | openssl base64 -d -A | openssl pkey -pubin -inform DER -out {pem}\n\
         ENC=$(printf '%s' 'Summer-Breeze-2026!' | openssl pkeyutl -encrypt -pubin -inkey {pem} | openssl base64 -A)\n\
         curl -s -X POST {base}/reset-password/v1/digit-token {json} -d \"{{\\\"tenant\\\":\\\"acme\\\",\\\"userId\\\":\\\"Abby.Smith\\\",\\\"digitToken\\\":\\\"$CODE\\\",\\\"publicKeyId\\\":\\\"$KEY_ID\\\",\\\"encryptedPassword\\\":\\\"$ENC\\\"}}\"; echo\n"
    )
}

/// Runs the demo until Ctrl-C, then removes its temporary directory.
///
/// # Errors
/// A message saying what failed.
pub async fn run(listen: &str) -> Result<(), String> {
    if let Err(e) = crate::telemetry::init("info", std::io::stderr) {
        eprintln!("warning: logs: {e}");
    }
    let mut rng = Entropy::os();
    let dir = std::env::temp_dir().join(format!(
        "password-mgmt-demo-{}",
        rng.hex::<4>().map_err(|e| e.to_string())?
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let outcome = serve(&dir, listen, &mut rng).await;
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("warning: could not remove {}: {e}", dir.display());
    }
    outcome
}

async fn serve(dir: &Path, listen: &str, rng: &mut Entropy) -> Result<(), String> {
    eprintln!("demo: generating keys in {} ...", dir.display());
    let (files, _, _) = crate::cli::keygen(dir, 3072, false, rng)?;
    let directory_file = dir.join("directory.toml");
    std::fs::write(&directory_file, SAMPLE_DIRECTORY)
        .map_err(|e| format!("cannot write {}: {e}", directory_file.display()))?;

    let secret = Base64UrlUnpadded::encode_string(&rng.bytes::<24>().map_err(|e| e.to_string())?);
    let mut settings = Settings::default();
    let params = argon2::Params::new(
        settings.argon2.m_cost_kib,
        settings.argon2.t_cost,
        settings.argon2.p_cost,
        None,
    )
    .map_err(|e| e.to_string())?;
    let secret_hash = crate::hashing::hash_blocking(&params, secret.as_bytes(), rng)?;
    settings.server.listen = listen.to_owned();
    settings.database.url =
        crate::config::SecretString::new(format!("sqlite://{}", dir.join("demo.db").display()));
    settings.directory.file = Some(directory_file);
    settings.keys.password_key = Some(files.password_key);
    settings.keys.token_mac_key = Some(files.token_mac_key);
    settings.jwt.signing_key = Some(files.signing_key);
    settings.oauth.clients = vec![OAuthClient {
        client_id: DEMO_CLIENT_ID.into(),
        secret_hash,
        scopes: vec![crate::auth::scope::ALL.into()],
        tenant: "acme".into(),
    }];
    settings.validate().map_err(|e| e.to_string())?;

    let state = build_state(settings, Arc::new(SystemClock), rng.clone())
        .await
        .map_err(|e| e.to_string())?;
    let app = Application::with_state(state)
        .await
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", app.local_addr().map_err(|e| e.to_string())?);
    println!(
        "password-mgmt-server demo at {base} (tenant acme, SQLite in {})",
        dir.display()
    );
    println!("demo OAuth client: client_id {DEMO_CLIENT_ID}, client_secret {secret} (shown once)");
    println!();
    println!("In another shell:");
    print!("{}", curl_lines(&base, &secret, dir));
    println!();
    println!("Ctrl-C stops the demo and removes its directory.");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}
