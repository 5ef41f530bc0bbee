//! The database going away and coming back, a slow request body, and a second node that
//! serves the directory another node imported.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failed expectation is a failed test"
)]

mod common;

use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use common::*;
use password_mgmt_server::entropy::Entropy;
use password_mgmt_server::store::{PgStore, SqliteStore, Store};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// A TCP proxy to PostgreSQL that can cut every connection and refuse new ones (a
/// database outage), then let them through again.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: (String, u16)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (flag, list) = (Arc::clone(&up), Arc::clone(&connections));
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                list.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self {
            port,
            up,
            connections,
        }
    }

    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.connections.lock().await.drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn postgres_outage_is_503_and_the_pool_recovers() {
    let Some(url) = postgres_url() else { return };
    // A schema of its own, made through the direct connection.
    let direct = store(&Backend::Postgres(url.clone()), &mut Entropy::os()).await;
    drop(direct);
    let options = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
    let upstream = (options.get_host().to_owned(), options.get_port());
    let proxy = Proxy::start(upstream).await;
    let schema = format!(
        "pmt_{}_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        Entropy::os().hex::<8>().unwrap()
    );
    {
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
    }
    let options = options
        .port(proxy.port)
        .host("127.0.0.1")
        .options([("search_path", schema.as_str())]);
    let pg: Arc<dyn Store> = Arc::new(
        PgStore::connect_with(options, 4, Duration::from_secs(2))
            .await
            .unwrap(),
    );
    let app = spawn_app_with(&Backend::Postgres(url), Some(pg), |_| {}).await;
    let token = app.admin("acme");
    let path = "/v2025/password-org-config";
    assert_eq!(
        app.json("PUT", path, &token, &json!({"digitTokenEnabled": true}))
            .await
            .status,
        StatusCode::OK
    );

    proxy.cut().await;
    let r = app.get(path, &token).await;
    api_error(&r, 503, "503 Service Unavailable");
    assert!(
        r.body.get("causes").is_none(),
        "nothing internal in the body: {}",
        r.text
    );
    let ready = app.call("GET", "/readyz", None, None, Body::empty()).await;
    api_error(&ready, 503, "503 Service Unavailable");

    proxy.restore();
    let mut recovered = false;
    for _ in 0..50 {
        let r = app.get(path, &token).await;
        if r.status == StatusCode::OK {
            assert_eq!(r.body["digitTokenEnabled"], true);
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "the pool reconnects by itself, without a restart"
    );
    assert_eq!(
        app.call("GET", "/readyz", None, None, Body::empty())
            .await
            .status,
        StatusCode::OK
    );
    assert_logs_clean();
}

#[tokio::test]
async fn a_closed_sqlite_pool_is_503_with_the_api_body() {
    let sqlite = SqliteStore::connect("sqlite::memory:", 1, Duration::from_secs(1))
        .await
        .unwrap();
    let app = spawn_app_with(
        &Backend::SqliteMemory,
        Some(Arc::new(sqlite.clone())),
        |_| {},
    )
    .await;
    let token = app.admin("acme");
    assert_eq!(
        app.get("/v2025/password-org-config", &token).await.status,
        StatusCode::OK
    );
    sqlite.pool().close().await;
    let r = app
        .json(
            "PUT",
            "/v2025/password-org-config",
            &token,
            &json!({"digitTokenLength": 8}),
        )
        .await;
    api_error(&r, 503, "503 Service Unavailable");
    api_error(
        &app.call("GET", "/readyz", None, None, Body::empty()).await,
        503,
        "503 Service Unavailable",
    );
}

#[tokio::test]
async fn a_body_that_never_arrives_is_408() {
    let app = spawn_app_with(&Backend::SqliteMemory, None, |s| {
        s.server.request_body_timeout_seconds = 1
    })
    .await;
    let token = app.admin("acme");
    let server = password_mgmt_server::Application::with_state(app.state.clone())
        .await
        .unwrap();
    let port = server.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "PUT /v2025/password-org-config HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"digitToken"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the server answers before the client sends the rest")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("408 Request Timeout"), "{answer}");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_second_node_serves_the_imported_directory() {
    for backend in backends() {
        let first = spawn_app(&backend).await;
        // A node with no directory file, on the same store: it serves what the first imported.
        let second = spawn_app_with(&backend, Some(Arc::clone(first.state.store())), |s| {
            s.directory.file = None
        })
        .await;
        let tenant = second.state.directory().tenant("acme").unwrap();
        assert!(
            tenant.identity_by_user_name("Abby.Smith").is_some(),
            "{}",
            backend.name()
        );
        let r = second
            .json(
                "POST",
                "/v2025/query-password-info",
                &second.admin("acme"),
                &json!({"userName": "Abby.Smith", "sourceName": "My-AD"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        // Both nodes see one org config.
        let token = first.admin("acme");
        first
            .json(
                "PUT",
                "/v2025/password-org-config",
                &token,
                &json!({"digitTokenLength": 11}),
            )
            .await;
        assert_eq!(
            second.get("/v2025/password-org-config", &token).await.body["digitTokenLength"],
            11
        );
    }
}
