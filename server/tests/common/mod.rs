//! The test harness: `spawn_app` on SQLite (memory) or PostgreSQL (`DATABASE_URL`, one
//! schema per test), a fixed clock, a seeded RNG, fixed test keys, tokens minted here
//! (RS256 and EdDSA) against a JWKS file written here, and logs captured for the whole
//! suite so that tests can assert no secret reaches them.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "a module of each test binary, each using part of it"
)]

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use password_mgmt::rsa::pkcs8::der::SecretDocument;
use password_mgmt::time::UtcDateTime;
use password_mgmt_server::auth::Claims;
use password_mgmt_server::clock::FixedClock;
use password_mgmt_server::config::{OAuthClient, Settings};
use password_mgmt_server::entropy::Entropy;
use password_mgmt_server::keys::SigningKey;
use password_mgmt_server::store::{PgStore, SqliteStore, Store};
use password_mgmt_server::{AppState, build_state_on, router};
use serde_json::Value;
use tower::ServiceExt as _;

/// The fixed instant tests start at.
pub const T0: i64 = 1_800_000_000;
pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "password-mgmt-test";
pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "s3cret-client-value-for-tests-0123456789";
pub const ABBY: &str = "2c918085744fec4301746f9a5bce4605";
pub const BRIAN: &str = "8a807d4c73c545510173c545f0a002ff";
pub const MY_AD: &str = "2c918083746f642c01746f990884012a";
pub const LEGACY: &str = "8a807d4c73c545510173c545d4b60246";
pub const HR_FEED: &str = "2c9180835d191a86015d28455b4a2329";
pub const ABBY_AD_ACCOUNT: &str =
    "CN=Abby Smith,OU=Austin,OU=Americas,OU=Demo,DC=seri,DC=acme,DC=com";

pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/keys")
}

pub fn read_key(name: &str) -> String {
    std::fs::read_to_string(keys_dir().join(name)).expect("test key")
}

/// A directory of its own under the system's temporary directory.
pub fn temp_dir(rng: &mut Entropy) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pm-server-test-{}", rng.hex::<8>().unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------- logs and secrets

#[derive(Clone, Copy)]
struct Capture;

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        *self
    }
}

/// Captures every log line of this test binary (once per process).
pub fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ =
            password_mgmt_server::telemetry::init("debug,sqlx=info,hyper=info,h2=info", Capture);
    });
}

/// Remembers a secret the logs must never contain.
pub fn secret(value: &str) {
    SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(value.to_owned());
}

/// Where `secret` occurs in `line` as itself: a code (all digits) only as a word of its
/// own, not inside a longer number or a request id's hex; anything else anywhere.
fn occurs(line: &str, secret: &str) -> bool {
    let word = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_digit()) {
        return line.contains(secret);
    }
    let bytes = line.as_bytes();
    line.match_indices(secret).any(|(at, _)| {
        !word(at.checked_sub(1).and_then(|i| bytes.get(i))) && !word(bytes.get(at + secret.len()))
    })
}

/// A log line's leading `2026-12-02T13:55:24.129894Z`.
fn is_timestamp(field: &str) -> bool {
    field.len() == 27
        && field.as_bytes().get(10) == Some(&b'T')
        && field.ends_with('Z')
        && field
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-T:.Z".contains(&b))
}

/// Whether `secret` occurs in the log `line` after its timestamp (if it has one).
fn leaks(line: &str, secret: &str) -> bool {
    let fields = match line.split_once(' ') {
        Some((stamp, rest)) if is_timestamp(stamp) => rest,
        _ => line,
    };
    occurs(fields, secret)
}

/// Asserts that no secret registered so far (by any test) appears in the logs so far.
pub fn assert_logs_clean() {
    let logs = logs();
    assert!(logs.contains("request finished"), "logs are captured");
    assert_no_secret_in("the logs", &logs);
}

/// Asserts that no secret registered so far appears in `text` (log lines: this process's
/// or a child's).
///
/// Each line is checked after its timestamp (the formatter's first field, which no request
/// can write): its six digits of microseconds would otherwise match a six-digit code about
/// once in a million lines per code, and the suites log thousands of lines and register
/// hundreds of codes. A failure shows the line with the secret masked, never the secret.
pub fn assert_no_secret_in(what: &str, text: &str) {
    let secrets = SECRETS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for line in text.lines() {
        for s in &secrets {
            assert!(
                !leaks(line, s),
                "a secret ({} characters) reached {what}: {}",
                s.len(),
                line.replace(s.as_str(), "<SECRET>")
            );
        }
    }
}

#[test]
fn the_secret_check_finds_a_code_written_out_and_not_one_inside_other_numbers() {
    let line = |rest: &str| format!("2026-12-02T13:55:24.129894Z  INFO {rest}");
    let found = leaks;
    for leaked in [
        "code=129894",
        "{\"digitToken\":\"129894\"}",
        "129894",
        "x 129894.",
    ] {
        assert!(found(&line(leaked), "129894"), "{leaked}");
    }
    for by_chance in [
        "request finished",
        "latency_ms=1298941",
        "request_id=3f2a1298-94b1 id=ab129894cd",
    ] {
        assert!(!found(&line(by_chance), "129894"), "{by_chance}");
    }
    assert!(found("129894 a line with no timestamp", "129894"));
    assert!(found(&line("bearer=eyJx.y.z"), "eyJx.y.z"));
}

/// `password` encrypted for `identity_id` under the served `public_key` (PKCS#1 v1.5, the
/// test settings' scheme), registered as a secret.
pub fn encrypt(public_key: &str, identity_id: &str, password: &str) -> String {
    secret(password);
    let mut rng = Entropy::seeded(7);
    let new = password_mgmt::NewPassword {
        identity_id,
        password,
    };
    password_mgmt::PasswordEncryptor::from_spki_base64(public_key, password_mgmt::Scheme::Pkcs1v15)
        .unwrap()
        .encrypt(&mut rng, &new)
        .unwrap()
        .to_string()
}

/// The captured logs.
pub fn logs() -> String {
    String::from_utf8_lossy(
        &LOGS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned()
}

// ---------------------------------------------------------------- backends

#[derive(Clone, Debug)]
pub enum Backend {
    SqliteMemory,
    SqliteFile,
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::SqliteMemory => "sqlite-memory",
            Self::SqliteFile => "sqlite-file",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// The PostgreSQL URL, or `None` with a printed reason; under `CI=true` its absence fails.
pub fn postgres_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but DATABASE_URL is not a postgres:// URL: the PostgreSQL tests must run in CI"
            );
            // Straight to the process's stderr, past the test harness's capture, once.
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED on PostgreSQL: DATABASE_URL is not set \
                     (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test); SQLite only"
                );
            });
            None
        }
    }
}

/// SQLite in memory, and PostgreSQL when `DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::SqliteMemory];
    out.extend(postgres_url().map(Backend::Postgres));
    out
}

/// A fresh, migrated store on `backend` (PostgreSQL: a schema of its own).
pub async fn store(backend: &Backend, rng: &mut Entropy) -> Arc<dyn Store> {
    store_with_schema(backend, rng).await.0
}

/// A new connection pool to the PostgreSQL schema `schema` (another node's).
pub async fn pg_store(url: &str, schema: &str) -> Arc<dyn Store> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema)]);
    Arc::new(
        PgStore::connect_with(options, 8, Duration::from_secs(10))
            .await
            .unwrap(),
    )
}

/// As [`store`], with the PostgreSQL schema's name.
pub async fn store_with_schema(
    backend: &Backend,
    rng: &mut Entropy,
) -> (Arc<dyn Store>, Option<String>) {
    let timeout = Duration::from_secs(10);
    match backend {
        Backend::SqliteMemory => (
            Arc::new(
                SqliteStore::connect("sqlite::memory:", 1, timeout)
                    .await
                    .unwrap(),
            ),
            None,
        ),
        Backend::SqliteFile => {
            let dir = temp_dir(rng);
            let url = format!("sqlite://{}", dir.join("test.db").display());
            (
                Arc::new(SqliteStore::connect(&url, 8, timeout).await.unwrap()),
                None,
            )
        }
        Backend::Postgres(url) => {
            // pmt_<unix seconds>_<random>: schemas of runs over an hour old are dropped.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let schema = format!("pmt_{now}_{}", rng.hex::<8>().unwrap());
            let admin = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .expect("PostgreSQL at DATABASE_URL");
            let old: Vec<String> = sqlx::query_scalar(
                "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'pmt\\_%'",
            )
            .fetch_all(&admin)
            .await
            .unwrap();
            for name in old {
                let born = name.split('_').nth(1).and_then(|t| t.parse::<u64>().ok());
                if born.is_none_or(|t| t + 3600 < now) {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .execute(&admin)
                    .await;
                }
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            (pg_store(url, &schema).await, Some(schema))
        }
    }
}

// ---------------------------------------------------------------- the app

/// A running app (no socket: requests go through `oneshot`).
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    pub backend: Backend,
    pub dir: PathBuf,
    /// The settings the app was built from (for a second node on the same database).
    pub settings: Settings,
    /// The PostgreSQL schema of the app's store, if on PostgreSQL.
    pub schema: Option<String>,
    own_key: SigningKey,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// The test's settings: small Argon2 costs, keys from `tests/data/keys`, a JWKS file
/// and a token MAC key written into `dir`.
pub fn settings(dir: &Path, own_key_path: &Path, client_hash: String) -> Settings {
    let mut s = Settings::default();
    s.server.listen = "127.0.0.1:0".into();
    s.server.body_limit_bytes = 4096;
    s.argon2.m_cost_kib = 256;
    s.argon2.t_cost = 1;
    s.argon2.p_cost = 1;
    s.keys.password_key = Some(keys_dir().join("rsa2048.pk8.pem"));
    s.keys.password_previous = vec![keys_dir().join("rsa3072.pk8.pem")];
    s.keys.token_mac_key = Some(dir.join("token-mac.key"));
    s.jwt.issuer = ISSUER.into();
    s.jwt.audience = AUDIENCE.into();
    s.jwt.jwks_file = Some(dir.join("jwks.json"));
    s.jwt.signing_key = Some(own_key_path.to_owned());
    s.jwt.clock_skew_seconds = 30;
    s.worker.lease_seconds = 30;
    s.oauth.clients = vec![
        OAuthClient {
            client_id: CLIENT_ID.into(),
            secret_hash: client_hash.clone(),
            scopes: vec!["sp:scopes:all".into()],
            tenant: "acme".into(),
        },
        OAuthClient {
            client_id: "narrow-client".into(),
            secret_hash: client_hash,
            scopes: vec!["idn:password-org-config:read".into()],
            tenant: "acme".into(),
        },
    ];
    s
}

/// The external issuer's keys: RSA 2048 (RS256, kid `ext-rsa`) and Ed25519 (EdDSA, kid
/// `ext-ed`).
pub fn rsa_key() -> EncodingKey {
    let (_, doc) = SecretDocument::from_pem(&read_key("rsa2048.pkcs1-private.pem")).unwrap();
    EncodingKey::from_rsa_der(doc.as_bytes())
}

pub fn ed_key() -> EncodingKey {
    let (_, doc) = SecretDocument::from_pem(&read_key("ed25519.pk8.pem")).unwrap();
    EncodingKey::from_ed_der(doc.as_bytes())
}

fn jwks() -> String {
    let mut rsa = Jwk::from_encoding_key(&rsa_key(), Algorithm::RS256).unwrap();
    rsa.common.key_id = Some("ext-rsa".into());
    let mut ed = Jwk::from_encoding_key(&ed_key(), Algorithm::EdDSA).unwrap();
    ed.common.key_id = Some("ext-ed".into());
    serde_json::to_string(&JwkSet {
        keys: vec![rsa, ed],
    })
    .unwrap()
}

pub async fn spawn_app(backend: &Backend) -> TestApp {
    spawn_app_with(backend, None, |_| {}).await
}

/// As [`spawn_app`], on `store` when given, with `tweak` applied to the settings.
pub async fn spawn_app_with(
    backend: &Backend,
    store_override: Option<Arc<dyn Store>>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    capture_logs();
    let mut rng = Entropy::seeded(0x5eed);
    // Per-app randomness for names; the app's own RNG stays seeded.
    let mut names = Entropy::os();
    let dir = temp_dir(&mut names);
    std::fs::write(dir.join("jwks.json"), jwks()).unwrap();
    std::fs::write(
        dir.join("token-mac.key"),
        password_mgmt_server::keys::new_token_key_file(&mut rng)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let (own_key, own_pem) = SigningKey::generate(&mut rng).unwrap();
    let own_path = dir.join("jwt-ed25519.pk8.pem");
    std::fs::write(&own_path, own_pem.as_bytes()).unwrap();
    let params = argon2::Params::new(256, 1, 1, None).unwrap();
    let client_hash =
        password_mgmt_server::hashing::hash_blocking(&params, CLIENT_SECRET.as_bytes(), &mut rng)
            .unwrap();
    secret(CLIENT_SECRET);

    let (store, schema) = match store_override {
        Some(store) => (store, None),
        None => store_with_schema(backend, &mut names).await,
    };
    let mut s = settings(&dir, &own_path, client_hash);
    let directory = dir.join("directory.toml");
    std::fs::write(&directory, password_mgmt_server::demo::SAMPLE_DIRECTORY).unwrap();
    s.directory.file = Some(directory);
    tweak(&mut s);
    let clock = Arc::new(FixedClock::new(
        UtcDateTime::from_unix_timestamp(T0).unwrap(),
    ));
    let state = build_state_on(s.clone(), store, clock.clone(), rng)
        .await
        .unwrap();
    TestApp {
        settings: s,
        schema,
        // Requests through `oneshot` have no socket: a fixed client address, as if from one.
        router: router(state.clone()).layer(axum::extract::connect_info::MockConnectInfo(
            std::net::SocketAddr::from(([127, 0, 0, 1], 40_000)),
        )),
        state,
        clock,
        backend: backend.clone(),
        dir,
        own_key,
    }
}

/// The claims of a normal token at `now` for `tenant` with `scope`.
pub fn claims(now: i64, tenant: &str, scope: &str) -> Claims {
    Claims {
        iss: Some(ISSUER.into()),
        aud: Some(Value::String(AUDIENCE.into())),
        sub: Some("tester".into()),
        exp: Some(now + 600),
        nbf: Some(now - 5),
        iat: Some(now - 5),
        jti: None,
        org: Some(tenant.into()),
        scope: Some(scope.into()),
        identity_id: None,
        client_id: Some("external".into()),
    }
}

/// A token signed by the external issuer's RSA key.
pub fn rs256(claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ext-rsa".into());
    let token = jsonwebtoken::encode(&header, claims, &rsa_key()).unwrap();
    secret(&token);
    token
}

/// A token signed by the external issuer's Ed25519 key.
pub fn eddsa(claims: &Claims) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("ext-ed".into());
    let token = jsonwebtoken::encode(&header, claims, &ed_key()).unwrap();
    secret(&token);
    token
}

/// A second node beside `first`: the same settings (keys, directory), its own clock (at
/// `first`'s instant plus `skew`) and RNG, and on PostgreSQL its own connection pool to the
/// same schema; on SQLite, the same store.
pub async fn second_node(first: &TestApp, skew: password_mgmt::time::Duration) -> TestApp {
    let store = match (&first.backend, &first.schema) {
        (Backend::Postgres(url), Some(schema)) => pg_store(url, schema).await,
        _ => Arc::clone(first.state.store()),
    };
    let clock = Arc::new(FixedClock::new(first.state.now() + skew));
    let state = build_state_on(
        first.settings.clone(),
        store,
        clock.clone(),
        Entropy::seeded(0xb0b),
    )
    .await
    .unwrap();
    TestApp {
        router: router(state.clone()).layer(axum::extract::connect_info::MockConnectInfo(
            std::net::SocketAddr::from(([127, 0, 0, 2], 40_000)),
        )),
        state,
        clock,
        backend: first.backend.clone(),
        dir: first.dir.clone(),
        settings: first.settings.clone(),
        schema: first.schema.clone(),
        own_key: SigningKey::load(first.settings.jwt.signing_key.as_deref().unwrap()).unwrap(),
    }
}

impl TestApp {
    pub fn now(&self) -> i64 {
        self.state.now().unix_timestamp()
    }

    /// A client-credentials-like token for `tenant` with every scope.
    pub fn admin(&self, tenant: &str) -> String {
        rs256(&claims(self.now(), tenant, "sp:scopes:all"))
    }

    /// A user's token (`identity_id`) with every scope.
    pub fn user(&self, tenant: &str, identity: &str) -> String {
        let mut c = claims(self.now(), tenant, "sp:scopes:all");
        c.identity_id = Some(identity.into());
        eddsa(&c)
    }

    pub fn own_kid(&self) -> &str {
        self.own_key.kid()
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        self.send(request.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.call("GET", path, Some(token), None, Body::empty())
            .await
    }

    pub async fn json(&self, method: &str, path: &str, token: &str, body: &Value) -> TestResponse {
        self.call(
            method,
            path,
            Some(token),
            Some("application/json"),
            body.to_string(),
        )
        .await
    }
}

/// Asserts the API's error body with `detail_code`, and returns its causes' texts.
pub fn api_error(response: &TestResponse, status: u16, detail_code: &str) -> Vec<String> {
    assert_eq!(response.status.as_u16(), status, "{}", response.text);
    assert_eq!(
        response.body["detailCode"], detail_code,
        "{}",
        response.text
    );
    let tracking = response.body["trackingId"].as_str().unwrap();
    assert_eq!(tracking.len(), 32, "{}", response.text);
    assert!(
        response.body["messages"][0]["text"].is_string(),
        "{}",
        response.text
    );
    response.body["causes"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|m| m["text"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 401 with the API's `{"error": ...}` body, and returns the message.
pub fn unauthorized(response: &TestResponse) -> String {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.text
    );
    assert!(response.headers.get(header::WWW_AUTHENTICATE).is_some());
    response.body["error"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- faults: sockets, processes, a cluster

/// An HTTP response read off a socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// The head (status line and headers), lower-cased.
    pub head: String,
    pub body: Value,
    pub text: String,
}

/// Parses one HTTP/1.1 response (`Content-Length`, chunked, or up to the end); `None` when
/// it is cut short (the server died mid-way).
pub fn parse_response(bytes: &[u8]) -> Option<RawResponse> {
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(bytes.get(..split)?).to_ascii_lowercase();
    let rest = bytes.get(split + 4..)?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let body = if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        let mut out = Vec::new();
        let mut at = rest;
        loop {
            let line_end = at.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(
                String::from_utf8_lossy(at.get(..line_end)?)
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            at = at.get(line_end + 2..)?;
            if size == 0 {
                break;
            }
            out.extend_from_slice(at.get(..size)?);
            at = at.get(size + 2..)?;
        }
        out
    } else if let Some(length) = header("content-length:") {
        rest.get(..length.parse::<usize>().ok()?)?.to_vec()
    } else {
        rest.to_vec()
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    Some(RawResponse {
        status,
        head,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        text,
    })
}

/// Reads a whole response (the request said `Connection: close`) within `within`.
pub async fn read_response(
    stream: &mut tokio::net::TcpStream,
    within: Duration,
) -> std::io::Result<RawResponse> {
    use tokio::io::AsyncReadExt as _;
    let mut out = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut out))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time"))??;
    parse_response(&out).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("no whole HTTP response ({} bytes)", out.len()),
        )
    })
}

/// One request over a fresh connection (`Connection: close`); an error when the server
/// is gone or dies before it answers.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<RawResponse> {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body.unwrap_or_default());
    stream.write_all(head.as_bytes()).await?;
    read_response(&mut stream, Duration::from_secs(30)).await
}

/// The current Unix time (for tokens a child process, on the system clock, accepts).
pub fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A TOML string (JSON's escapes are TOML's).
fn toml_string(value: &str) -> String {
    serde_json::to_string(value).unwrap()
}

/// A settings file for the `password-mgmt-server` binary with `app`'s settings (keys,
/// issuer, limits, timeouts, worker), on `database_url`, serving the directory stored
/// there (no `directory.file`), listening on any free port.
pub fn server_config(app: &TestApp, database_url: &str) -> PathBuf {
    let s = &app.settings;
    let path = |p: &Option<PathBuf>| toml_string(&p.as_ref().unwrap().display().to_string());
    let previous: Vec<String> = s
        .keys
        .password_previous
        .iter()
        .map(|p| toml_string(&p.display().to_string()))
        .collect();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout_seconds = {}\n\
         request_body_timeout_seconds = {}\nbody_limit_bytes = {}\n\n\
         [database]\nurl = {}\nmax_connections = 4\nacquire_timeout_seconds = 2\n\n\
         [keys]\npassword_key = {}\npassword_previous = [{}]\ntoken_mac_key = {}\n\n\
         [jwt]\nissuer = {}\naudience = {}\njwks_file = {}\nclock_skew_seconds = {}\n\n\
         [argon2]\nm_cost_kib = {}\nt_cost = {}\np_cost = {}\n\n\
         [limits]\nuser = {}\ndigit_token_per_client = {}\nredeem_per_address = {}\n\n\
         [worker]\nlease_seconds = {}\npoll_interval_seconds = {}\nmax_attempts = {}\n\n\
         [log]\nfilter = \"info\"\n",
        s.server.request_timeout_seconds,
        s.server.request_body_timeout_seconds,
        s.server.body_limit_bytes,
        toml_string(database_url),
        path(&s.keys.password_key),
        previous.join(", "),
        path(&s.keys.token_mac_key),
        toml_string(&s.jwt.issuer),
        toml_string(&s.jwt.audience),
        path(&s.jwt.jwks_file),
        s.jwt.clock_skew_seconds,
        s.argon2.m_cost_kib,
        s.argon2.t_cost,
        s.argon2.p_cost,
        toml_string(&s.limits.user),
        toml_string(&s.limits.digit_token_per_client),
        toml_string(&s.limits.redeem_per_address),
        s.worker.lease_seconds,
        s.worker.poll_interval_seconds,
        s.worker.max_attempts,
    );
    let file = app
        .dir
        .join(format!("server-{}.toml", Entropy::os().hex::<4>().unwrap()));
    std::fs::write(&file, text).unwrap();
    file
}

/// The PostgreSQL URL of `schema` in the database at `url` (for a child process).
pub fn url_with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// The `password-mgmt-server` binary serving `serve --config FILE` as a child process,
/// killed (SIGKILL) on drop if still running. Its standard error is kept for messages.
pub struct ServerProcess {
    child: std::process::Child,
    pub addr: std::net::SocketAddr,
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts it and waits (at most 30 s) for its "listening" line.
    pub fn start(config: &Path) -> Self {
        use std::io::BufRead as _;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_password-mgmt-server"));
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        // The file alone decides: no setting from this process's environment.
        for (name, _) in std::env::vars() {
            if name.starts_with("PASSWORD_MGMT") {
                command.env_remove(name);
            }
        }
        let mut child = command.spawn().expect("the server binary starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("listening")
                    && let Some(addr) = line.split("address=").nth(1)
                {
                    let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_owned());
                }
                let mut log = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr.parse().unwrap(),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the server did not start ({e}):\n{}",
                    log.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                );
            }
        };
        Self { child, addr, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (through `kill`: the tests use no unsafe code).
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status, if it exited within `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it wrote to standard error so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// A PostgreSQL cluster of a test's own (`initdb` in a temporary directory, on a free
/// loopback port), so that it can be stopped and started without touching the shared
/// one. Stopped (`-m immediate`) and removed on drop, even when the test fails.
pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

impl PgCluster {
    /// Makes one (not started), or `None` with a printed reason when PostgreSQL's server
    /// binaries are missing; under `CI=true` their absence fails.
    pub fn init() -> Option<Self> {
        let bin = std::env::var_os("PG_BIN").map_or_else(
            || PathBuf::from("/usr/lib/postgresql/15/bin"),
            PathBuf::from,
        );
        if !bin.join("initdb").exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {} has no initdb: the PostgreSQL restart test must run in CI",
                bin.display()
            );
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: the PostgreSQL restart test ({} has no initdb; set PG_BIN)",
                bin.display()
            );
            return None;
        }
        // PostgreSQL refuses to run as root: then as the `postgres` user.
        let uid = std::process::Command::new("id").arg("-u").output().unwrap();
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = std::env::temp_dir().join(format!(
            "pm-faults-pg-{}",
            Entropy::os().hex::<8>().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            port,
            dir,
            bin,
            as_postgres,
        };
        if as_postgres {
            let chown = std::process::Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .unwrap();
            assert!(chown.success(), "chown postgres {}", cluster.dir.display());
        }
        let data = cluster.dir.join("data");
        let made = cluster.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        assert!(made, "initdb failed (see above)");
        Some(cluster)
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let out = command
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!(
                "{tool} {args:?}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out.status.success()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts it and waits until it accepts connections.
    pub fn start(&self) {
        let data = self.dir.join("data").display().to_string();
        let log = self.dir.join("log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.display()
        );
        assert!(
            self.run(
                "pg_ctl",
                &[
                    "-D", &data, "-l", &log, "-w", "-t", "30", "-o", &options, "start"
                ]
            ),
            "pg_ctl start: {}",
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    /// Stops it (`fast`: sessions are terminated, transactions rolled back; `immediate`:
    /// as a crash).
    pub fn stop(&self, mode: &str) {
        let data = self.dir.join("data").display().to_string();
        assert!(
            self.run(
                "pg_ctl",
                &["-D", &data, "-m", mode, "-w", "-t", "30", "stop"]
            ),
            "pg_ctl stop"
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let data = data.display().to_string();
            let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A directory (TOML) of tenant `acme` with `n` identities `u00`, `u01`, ... each with one
/// account on `My-AD` (the PASSWORD feature, at least 15 characters), so that concurrent
/// tests have users of their own.
pub fn many_users_directory(n: usize) -> String {
    let mut text = format!(
        "[[tenants]]\nname = \"acme\"\n\n[[tenants.sources]]\nid = \"{MY_AD}\"\nname = \"My-AD\"\n\
         password_enabled = true\npolicies = [\"passwordMinLength is 15\", \"passwordMaxLength is 64\"]\n"
    );
    for i in 0..n {
        text.push_str(&format!(
            "\n[[tenants.identities]]\nid = \"{}\"\nuser_name = \"u{i:02}\"\ndisplay_name = \"User {i}\"\n\
             \n[[tenants.accounts]]\nidentity = \"{}\"\nsource = \"{MY_AD}\"\naccount_id = \"{}\"\naccount_name = \"u{i:02}\"\n",
            many_users_identity(i),
            many_users_identity(i),
            many_users_account(i)
        ));
    }
    text
}

/// The identity id of `u{i}` in [`many_users_directory`].
pub fn many_users_identity(i: usize) -> String {
    format!("{:032x}", 0xfa17_0000_usize + i)
}

/// The account id of `u{i}` in [`many_users_directory`].
pub fn many_users_account(i: usize) -> String {
    format!("uid=u{i:02},ou=people,dc=acme,dc=com")
}
