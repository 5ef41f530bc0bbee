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
    SECRETS.lock().unwrap().push(value.to_owned());
}

/// Asserts that no secret registered so far (by any test) appears in the logs so far.
pub fn assert_logs_clean() {
    let logs = String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned();
    assert!(logs.contains("request finished"), "logs are captured");
    for s in SECRETS.lock().unwrap().iter() {
        assert!(
            !logs.contains(s.as_str()),
            "a secret reached the logs: {}...",
            &s[..s.len().min(8)]
        );
    }
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
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
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
