//! The Password Management API served on the `password-mgmt` crate, on SQLite or
//! PostgreSQL.
//!
//! The crate is the I/O-free core; this server owns every socket, clock, RNG, row and log
//! line. Mount [`router`] in your own axum application with an [`AppState`] of your own
//! (your store, your sink), or run [`Application`] (the `password-mgmt-server` binary).
//!
//! * [`config`]: settings from a TOML file and `PASSWORD_MGMT__...` variables.
//! * [`auth`]: bearer JWTs, scopes, token issuing. [`error`]: the API's error bodies.
//! * [`routes`]: one module per resource. [`store`]: compare-and-set storage.
//! * [`directory`]: identities, sources, accounts. [`sink`]: where new passwords go.
//! * [`worker`]: applies password changes, resumably.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod directory;
pub mod entropy;
pub mod error;
pub mod hashing;
pub mod json;
pub mod keys;
pub mod routes;
pub mod rows;
pub mod sink;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode, header};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

pub use crate::state::{AppState, Parts};

use crate::clock::{Clock, SystemClock, to_millis};
use crate::config::{ConfigError, Settings};
use crate::directory::Directory;
use crate::entropy::Entropy;
use crate::hashing::Hasher;
use crate::sink::CredentialsSink;
use crate::store::Store;

/// The request-id header, set when absent and echoed in the response.
pub const REQUEST_ID: &str = "x-request-id";

/// The API's router, with every middleware: request ids, the request span, the API's
/// error bodies, panic catching, timeouts and the body limit.
pub fn router(state: AppState) -> Router {
    let server = &state.settings().server;
    let request_id = HeaderName::from_static(REQUEST_ID);
    let middleware = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_request(())
                .on_response(telemetry::on_response)
                .on_failure(()),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::finalize,
        ))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(server.request_timeout_seconds),
        ))
        .layer(RequestBodyDeadlineLayer::new(Duration::from_secs(
            server.request_body_timeout_seconds,
        )))
        .layer(RequestBodyLimitLayer::new(server.body_limit_bytes));
    routes::routes()
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware)
        .with_state(state)
}

/// [`router`], by the name the design uses.
pub fn app(state: AppState) -> Router {
    router(state)
}

/// Why the server could not start.
#[derive(Debug)]
pub enum StartError {
    /// A setting is wrong (the message names it).
    Config(ConfigError),
    /// The database could not be opened or migrated.
    Store(store::StoreError),
    /// The listener could not be bound.
    Io(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "configuration: {e}"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Io(e) => write!(f, "cannot listen: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<ConfigError> for StartError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<store::StoreError> for StartError {
    fn from(e: store::StoreError) -> Self {
        Self::Store(e)
    }
}

/// Loads the directory: the configured file (imported into the store, so that every node
/// shares it), or else what the store holds from the last import.
///
/// # Errors
/// [`StartError`] for a bad file or an unreadable store.
pub async fn load_directory(
    settings: &Settings,
    store: &Arc<dyn Store>,
    now_millis: i64,
) -> Result<Directory, StartError> {
    if let Some(path) = &settings.directory.file {
        let directory =
            Directory::load(path).map_err(|e| ConfigError::new(format!("directory.file: {e}")))?;
        import_directory(store, &directory, now_millis).await?;
        return Ok(directory);
    }
    let mut documents = Vec::new();
    for (tenant, json) in store.directory().await? {
        let document = serde_json::from_str(&json)
            .map_err(|e| store::StoreError::Fault(format!("stored directory of {tenant}: {e}")))?;
        documents.push(document);
    }
    if documents.is_empty() {
        tracing::warn!("the directory is empty: set directory.file or run `import`");
    }
    Directory::from_documents(documents)
        .map_err(|e| StartError::Store(store::StoreError::Fault(format!("stored directory: {e}"))))
}

/// Stores every tenant of `directory` (replacing what was stored for those tenants).
///
/// # Errors
/// As the store.
pub async fn import_directory(
    store: &Arc<dyn Store>,
    directory: &Directory,
    now_millis: i64,
) -> Result<usize, store::StoreError> {
    let mut documents = Vec::new();
    for tenant in directory.tenants() {
        let json = serde_json::to_string(tenant.document())
            .map_err(|e| store::StoreError::Fault(format!("directory: {e}")))?;
        documents.push((tenant.name().to_owned(), json));
    }
    store.import_directory(&documents, now_millis).await?;
    Ok(documents.len())
}

/// Builds the whole state from settings: the store (migrated), keys, directory, sink.
///
/// # Errors
/// [`StartError`] naming what is wrong.
pub async fn build_state(
    settings: Settings,
    clock: Arc<dyn Clock>,
    rng: Entropy,
) -> Result<AppState, StartError> {
    let store = store::connect(
        settings.database.url.expose(),
        settings.database.max_connections,
        Duration::from_secs(settings.database.acquire_timeout_seconds),
    )
    .await?;
    build_state_on(settings, store, clock, rng).await
}

/// As [`build_state`], on a store already connected and migrated (`database.url` is not
/// read): for adopters with a store of their own, and for tests.
///
/// # Errors
/// [`StartError`] naming what is wrong.
pub async fn build_state_on(
    settings: Settings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mut rng: Entropy,
) -> Result<AppState, StartError> {
    let keys = &settings.keys;
    let password_key = keys.password_key.as_deref().ok_or_else(|| {
        ConfigError::new("keys.password_key (PASSWORD_MGMT__KEYS__PASSWORD_KEY) is required")
    })?;
    let token_key = keys.token_mac_key.as_deref().ok_or_else(|| {
        ConfigError::new("keys.token_mac_key (PASSWORD_MGMT__KEYS__TOKEN_MAC_KEY) is required")
    })?;
    let scheme = keys.password_scheme.into();
    let password_keys = keys::password_ring(password_key, &keys.password_previous, scheme)?;
    let token_keys = keys::token_ring(token_key, &keys.token_mac_previous)?;
    let auth = auth::Authenticator::new(&settings.jwt, &settings.oauth.clients)?;
    let hasher = Hasher::new(&settings.argon2, &mut rng).map_err(ConfigError::new)?;
    let directory = load_directory(&settings, &store, to_millis(clock.now())).await?;
    warn_of_transport_gaps(&directory, &password_keys, scheme);
    let sink = Arc::new(CredentialsSink::new(Arc::clone(&store)));
    Ok(AppState::new(Parts {
        store,
        directory,
        password_keys,
        scheme,
        token_keys,
        limits: settings.limits.parse()?,
        auth,
        hasher,
        sink,
        clock,
        rng,
        settings,
    }))
}

/// Warns, once per source at start, of a password policy that allows passwords the served
/// key cannot carry (the encryptor would refuse them: the user sees an error on a password
/// the policy allowed). See [`PasswordPolicy::transport_gap`](password_mgmt::PasswordPolicy::transport_gap).
fn warn_of_transport_gaps(
    directory: &Directory,
    keys: &password_mgmt::PasswordKeyRing,
    scheme: password_mgmt::Scheme,
) {
    let Some(key) = keys.current(scheme) else {
        return;
    };
    for tenant in directory.tenants() {
        for entry in tenant.sources().filter(|e| e.source.password_enabled) {
            if let Some(gap) = key.encryptor().transport_gap(&entry.policy) {
                tracing::warn!(
                    tenant = tenant.name(),
                    source = %entry.source.name,
                    %gap,
                    "a password this policy allows may not fit the served key"
                );
            }
        }
    }
}

/// A bound, ready-to-run server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Builds the state from `settings` (system clock, OS RNG) and binds
    /// `server.listen` (port 0: any free port; read it with [`port`](Self::port)).
    ///
    /// # Errors
    /// [`StartError`].
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let state = build_state(settings, Arc::new(SystemClock), Entropy::os()).await?;
        Self::with_state(state).await
    }

    /// Binds `server.listen` for an already built state.
    ///
    /// # Errors
    /// [`StartError`].
    pub async fn with_state(state: AppState) -> Result<Self, StartError> {
        let addr = state.settings().listen_addr()?;
        let listener = TcpListener::bind(addr).await.map_err(StartError::Io)?;
        Ok(Self { listener, state })
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket has no address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound port (0 if unknown).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The state.
    #[must_use]
    pub const fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, with the background worker, then finishes the
    /// requests in flight.
    ///
    /// HTTP/1.1 on hyper with a timer, so that a request head must arrive within
    /// `server.request_body_timeout_seconds` too (axum's `serve` sets no head timeout: a
    /// client trickling its head a byte at a time would hold its connection forever).
    /// On `shutdown`, the listener is closed (new connections are refused), idle
    /// connections are closed, and each request in flight is answered first.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use hyper_util::rt::{TokioIo, TokioTimer};
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(worker::run(self.state.clone(), stopped));
        let app = router(self.state.clone());
        let head_timeout =
            Duration::from_secs(self.state.settings().server.request_body_timeout_seconds);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(head_timeout);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tracing::info!(address = %self.local_addr()?, "listening");
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // As axum's `serve`: a failed accept (e.g. too many open files) is
                        // waited out, not fatal.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let app = app.clone();
            let service = hyper::service::service_fn(
                move |mut request: axum::http::Request<hyper::body::Incoming>| {
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    tower::Service::call(&mut app.clone(), request)
                },
            );
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection ended");
                }
            });
        }
        tracing::info!("shutting down: finishing requests in flight");
        drop(self.listener);
        graceful.shutdown().await;
        let _ = stop.send(true);
        let _ = worker.await;
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
