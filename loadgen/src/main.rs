//! `password-mgmt-loadgen`: drives a `password-mgmt-server` (the binary built beside this
//! one, so `cargo build --release` gives the release server) over loopback.
//!
//! For each backend and concurrency it starts a fresh server on a fresh database (a new
//! SQLite file, or a new PostgreSQL schema), then runs a fixed count of operations within
//! a time limit from one keep-alive connection per worker:
//! - `pairs`: generate a digit token (bearer token) and redeem it with a new password
//!   (encrypted before the clock starts), the reset flow;
//! - `generate`: the generate alone (no RSA, no Argon2: the server and its database);
//! - `set-password`: set-password (202) and one status read.
//!
//! It prints throughput and p50/p90/p99/max latency; on PostgreSQL also the commits and
//! WAL flushes per operation (the database's own counters, read after the server has
//! stopped so that every backend has reported), and `pgbench` running the same SQL as one
//! pair (or one generate) at the same concurrency on the same tables: the baseline that
//! bounds the server.
//! `--perf` profiles the server with `perf` during one run and attributes its CPU time.
//! Loopback only; every loop is bounded by a count and a time.

mod http;
mod pgbench;
mod stats;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hyper::{Method, StatusCode};
use password_mgmt_server::entropy::Entropy;
use sqlx::Connection as _;

use crate::http::Connection;
use crate::pgbench::{CLIENT_ID, TENANT};
use crate::stats::Series;

/// Drives password-mgmt-server over loopback and prints throughput and latency.
#[derive(Debug, Parser)]
#[command(name = "password-mgmt-loadgen", version, about)]
struct Args {
    /// The CI smoke run: both backends, every workload, 4 workers, 100 operations each,
    /// 15 s per run at most, and pgbench for 3 s; exits 1 on any failed request or any
    /// change lost, doubled or left unfinished.
    #[arg(long)]
    quick: bool,
    /// Backends, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [Backend::Postgres, Backend::Sqlite])]
    backends: Vec<Backend>,
    /// Workloads, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [Workload::Pairs, Workload::Generate, Workload::SetPassword])]
    workloads: Vec<Workload>,
    /// Concurrent workers (one connection each); several values make a sweep.
    #[arg(long, value_delimiter = ',', default_values_t = [8])]
    concurrency: Vec<usize>,
    /// Operations per run (a pair, or a set-password with its status read).
    #[arg(long, default_value_t = 4000)]
    ops: usize,
    /// Time limit per run, in seconds (the run stops early, and says so).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Users in the directory (operations go round them).
    #[arg(long, default_value_t = 2000)]
    users: usize,
    /// Argon2id costs of the stored password hashes.
    #[arg(long, value_enum, default_value_t = Costs::Owasp)]
    argon2: Costs,
    /// RSA modulus of the password-encryption key.
    #[arg(long, default_value_t = 3072)]
    rsa_bits: u32,
    /// PostgreSQL (each run in a schema of its own, dropped after).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    database_url: String,
    /// Run pgbench with the same SQL after each PostgreSQL pairs or generate run (as long,
    /// up to 20 s).
    #[arg(long)]
    pgbench: bool,
    /// Profile the server with `perf record` during each run and attribute its CPU.
    #[arg(long)]
    perf: bool,
    /// Append one CSV line per run to this file (a header first if it is new).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// The server binary (default: `password-mgmt-server` beside this program).
    #[arg(long)]
    server: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Pairs,
    Generate,
    SetPassword,
}

/// Argon2id costs: OWASP's (the server's default: 19 MiB, 2 passes), or the least Argon2
/// allows (8 KiB, 1 pass), which takes the hash out of the measurement so that what is
/// left is the server and its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Costs {
    Owasp,
    Minimal,
}

impl Costs {
    const fn params(self) -> (u32, u32) {
        match self {
            Self::Owasp => (19 * 1024, 2),
            Self::Minimal => (8, 1),
        }
    }
}

macro_rules! value_name {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let value = self.to_possible_value().ok_or(std::fmt::Error)?;
                f.write_str(value.get_name())
            }
        }
    )*};
}
value_name!(Backend, Workload, Costs);

const PASSWORD_PREFIX: &str = "load-generator password ";

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.quick {
        args.concurrency = vec![4];
        args.ops = 100;
        args.seconds = 15;
        args.users = 200;
        args.pgbench = true;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(failures) if failures == 0 || !args.quick => ExitCode::SUCCESS,
        Ok(failures) => {
            eprintln!("loadgen: {failures} requests failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything a run needs that does not change between runs.
struct Fixture {
    dir: PathBuf,
    server: PathBuf,
    config_common: String,
    secret: String,
    rng: Entropy,
}

async fn run(args: &Args) -> Result<u64, String> {
    let server = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("password-mgmt-server"),
    };
    if !server.exists() {
        return Err(format!(
            "{} is missing: build it with the same profile first (cargo build --release -p password-mgmt-server)",
            server.display()
        ));
    }
    let mut rng = Entropy::os();
    let dir = std::env::temp_dir().join(format!(
        "password-mgmt-loadgen-{}",
        rng.hex::<4>().map_err(|e| e.to_string())?
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let outcome = run_in(args, &dir, &server, rng).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn run_in(args: &Args, dir: &Path, server: &Path, mut rng: Entropy) -> Result<u64, String> {
    let started = Instant::now();
    let (files, _, _) =
        password_mgmt_server::cli::keygen(&dir.join("keys"), args.rsa_bits, false, &mut rng)?;
    let directory = dir.join("directory.toml");
    std::fs::write(&directory, pgbench::directory(args.users)).map_err(|e| e.to_string())?;
    let secret = rng.hex::<16>().map_err(|e| e.to_string())?;
    let (m_cost, t_cost) = args.argon2.params();
    let params = argon2::Params::new(m_cost, t_cost, 1, None).map_err(|e| e.to_string())?;
    let secret_hash =
        password_mgmt_server::hashing::hash_blocking(&params, secret.as_bytes(), &mut rng)?;
    let path = |p: &Path| toml(&p.display().to_string());
    let config_common = format!(
        "[directory]\nfile = {}\n\n\
         [keys]\npassword_key = {}\ntoken_mac_key = {}\n\n\
         [jwt]\nsigning_key = {}\n\n\
         [[oauth.clients]]\nclient_id = \"{CLIENT_ID}\"\nsecret_hash = {}\nscopes = [\"sp:scopes:all\"]\ntenant = \"{TENANT}\"\n\n\
         [argon2]\nm_cost_kib = {m_cost}\nt_cost = {t_cost}\np_cost = 1\n\n\
         [limits]\nuser = \"requests 1000/1h, failures 1000/1h 1000/1d, consecutive 100, clock tolerance 5s\"\n\
         digit_token_per_client = \"10000/1s\"\nredeem_per_address = \"10000/1s\"\n\n\
         [log]\nfilter = \"info\"\n",
        path(&directory),
        path(&files.password_key),
        path(&files.token_mac_key),
        path(&files.signing_key),
        toml(&secret_hash),
    );
    let fixture = Fixture {
        dir: dir.to_owned(),
        server: server.to_owned(),
        config_common,
        secret,
        rng,
    };
    println!(
        "password-mgmt-loadgen: {} cores, {} users, RSA-{}, Argon2id {m_cost} KiB t={t_cost}, \
         {} ops per run within {} s, server {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        args.users,
        args.rsa_bits,
        args.ops,
        args.seconds,
        server.display()
    );
    let mut failures = 0;
    for &backend in &args.backends {
        for &workload in &args.workloads {
            for &concurrency in &args.concurrency {
                let result = one_run(args, &fixture, backend, workload, concurrency).await?;
                failures += result.failures;
                print!("{}", result.report);
                if let Some(csv) = &args.csv {
                    append_csv(csv, &result.csv)?;
                }
            }
        }
    }
    println!(
        "password-mgmt-loadgen: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(failures)
}

fn toml(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

fn append_csv(path: &Path, line: &str) -> Result<(), String> {
    use std::io::Write as _;
    let new = !path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if new {
        writeln!(file, "{CSV_HEADER}").map_err(|e| e.to_string())?;
    }
    writeln!(file, "{line}").map_err(|e| e.to_string())
}

const CSV_HEADER: &str = "backend,workload,argon2,concurrency,ops,failures,seconds,ops_per_s,\
first_p50_ms,first_p90_ms,first_p99_ms,first_max_ms,second_p50_ms,second_p90_ms,second_p99_ms,second_max_ms,\
op_p50_ms,op_p90_ms,op_p99_ms,op_max_ms,commits_per_op,write_xacts_per_op,wal_syncs_per_op,pgbench_tps,ratio";

struct RunResult {
    report: String,
    csv: String,
    failures: u64,
}

/// The database of one run: a fresh SQLite file or PostgreSQL schema.
struct Database {
    url: String,
    schema: Option<String>,
    admin_url: String,
}

impl Database {
    async fn create(args: &Args, fixture: &Fixture, backend: Backend) -> Result<Self, String> {
        let tag = fixture.rng.clone().hex::<4>().map_err(|e| e.to_string())?;
        match backend {
            Backend::Sqlite => Ok(Self {
                url: format!(
                    "sqlite://{}",
                    fixture.dir.join(format!("load-{tag}.db")).display()
                ),
                schema: None,
                admin_url: String::new(),
            }),
            Backend::Postgres => {
                let schema = format!("loadgen_{tag}");
                let mut conn = sqlx::PgConnection::connect(&args.database_url)
                    .await
                    .map_err(|e| format!("PostgreSQL at DATABASE_URL: {e}"))?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let sep = if args.database_url.contains('?') {
                    '&'
                } else {
                    '?'
                };
                Ok(Self {
                    url: format!(
                        "{}{sep}options=-c%20search_path%3D{schema}",
                        args.database_url
                    ),
                    schema: Some(schema),
                    admin_url: args.database_url.clone(),
                })
            }
        }
    }

    async fn drop_schema(&self) {
        if let Some(schema) = &self.schema
            && let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut conn)
                .await;
        }
    }
}

/// PostgreSQL's counters for the database: committed transactions (read-only ones
/// included), transaction ids assigned (writing transactions, committed or not), WAL syncs.
#[derive(Debug, Clone, Copy)]
struct PgCounters {
    commits: i64,
    next_xid: i64,
    wal_syncs: i64,
}

async fn pg_counters(url: &str) -> Result<PgCounters, String> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let row: (i64, String, i64) = sqlx::query_as(
        "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), \
         pg_snapshot_xmax(pg_current_snapshot())::text, (SELECT wal_sync FROM pg_stat_wal)",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| format!("PostgreSQL counters: {e}"))?;
    Ok(PgCounters {
        commits: row.0,
        next_xid: row.1.parse().map_err(|e| format!("xid: {e}"))?,
        wal_syncs: row.2,
    })
}

/// The server as a child process, its log in a file; SIGTERM on [`stop`](Self::stop),
/// SIGKILL on drop.
struct ServerProcess {
    child: tokio::process::Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl ServerProcess {
    async fn start(fixture: &Fixture, config: &Path, log: PathBuf) -> Result<Self, String> {
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut command = tokio::process::Command::new(&fixture.server);
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true);
        for (name, _) in std::env::vars() {
            if name.starts_with("PASSWORD_MGMT") {
                command.env_remove(name);
            }
        }
        let child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", fixture.server.display()))?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            if let Some(addr) = text
                .lines()
                .filter(|l| l.contains("listening"))
                .find_map(|l| l.split("address=").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
            {
                server.addr = addr;
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("the server exited ({status}):\n{text}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("the server did not start within 60 s".into())
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, and waits (at most 30 s) for it to exit.
    async fn stop(mut self) -> Result<(), String> {
        if let Some(pid) = self.pid() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("the server exited with {status}")),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("the server did not stop within 30 s of SIGTERM".into()),
        }
    }
}

/// What a worker needs for every operation.
struct Plan {
    addr: SocketAddr,
    workload: Workload,
    bearer: String,
    public_key_id: String,
    /// One ciphertext per operation, made before the clock starts.
    ciphertexts: Vec<String>,
    users: usize,
    next: AtomicUsize,
    deadline: Instant,
}

/// One worker's measurements: the first and second request of each operation, and the
/// operation.
#[derive(Default)]
struct Measured {
    first: Series,
    second: Series,
    op: Series,
}

impl Measured {
    fn merge(&mut self, other: Self) {
        self.first.merge(other.first);
        self.second.merge(other.second);
        self.op.merge(other.op);
    }
}

async fn one_run(
    args: &Args,
    fixture: &Fixture,
    backend: Backend,
    workload: Workload,
    concurrency: usize,
) -> Result<RunResult, String> {
    let database = Database::create(args, fixture, backend).await?;
    let outcome = measure(args, fixture, &database, backend, workload, concurrency).await;
    database.drop_schema().await;
    outcome
}

#[expect(
    clippy::too_many_lines,
    reason = "one run, start to finish, read top to bottom"
)]
async fn measure(
    args: &Args,
    fixture: &Fixture,
    database: &Database,
    backend: Backend,
    workload: Workload,
    concurrency: usize,
) -> Result<RunResult, String> {
    let label = format!("{backend} {workload} c={concurrency}");
    let config = fixture.dir.join("server.toml");
    let pool = concurrency.clamp(4, 32);
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[database]\nurl = {}\nmax_connections = {pool}\n\n{}",
            toml(&database.url),
            fixture.config_common
        ),
    )
    .map_err(|e| e.to_string())?;
    let server = ServerProcess::start(
        fixture,
        &config,
        fixture
            .dir
            .join(format!("server-{backend}-{workload}-{concurrency}.log")),
    )
    .await?;
    let addr = server.addr;

    // Setup, unmeasured: a bearer token, digit tokens enabled, the public key, ciphertexts.
    let mut conn = Connection::new(addr);
    let form = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={}",
        fixture.secret
    );
    let token = conn
        .send(
            Method::POST,
            "/oauth/token",
            None,
            Some("application/x-www-form-urlencoded"),
            form,
        )
        .await?;
    let bearer = token.json()["access_token"]
        .as_str()
        .ok_or_else(|| format!("/oauth/token: {}", String::from_utf8_lossy(&token.body)))?
        .to_owned();
    let enabled = conn
        .send(
            Method::PUT,
            "/v2025/password-org-config",
            Some(&bearer),
            Some("application/json"),
            r#"{"digitTokenEnabled": true, "digitTokenLength": 8}"#.into(),
        )
        .await?;
    if enabled.status != StatusCode::OK {
        return Err(format!(
            "enabling digit tokens: {} {}",
            enabled.status,
            String::from_utf8_lossy(&enabled.body)
        ));
    }
    let key = conn
        .send(
            Method::GET,
            "/reset-password/v1/public-key",
            None,
            None,
            String::new(),
        )
        .await?
        .json();
    let (public_key_id, public_key) = match (key["publicKeyId"].as_str(), key["publicKey"].as_str())
    {
        (Some(id), Some(key)) => (id.to_owned(), key.to_owned()),
        _ => return Err(format!("public key: {key}")),
    };
    let encryptor = password_mgmt::PasswordEncryptor::from_spki_base64(
        &public_key,
        password_mgmt::Scheme::Pkcs1v15,
    )
    .map_err(|e| e.to_string())?;
    let warmup = concurrency * 4;
    let total = args.ops + warmup;
    let mut ciphertexts = Vec::with_capacity(total);
    let mut rng = fixture.rng.clone();
    for k in 0..total {
        let user = k % args.users;
        let password = format!("{PASSWORD_PREFIX}{k:08}");
        let identity = pgbench::identity_id(user);
        let new = password_mgmt::NewPassword {
            identity_id: &identity,
            password: &password,
        };
        ciphertexts.push(
            encryptor
                .encrypt(&mut rng, &new)
                .map_err(|e| e.to_string())?
                .to_string(),
        );
    }
    let plan = Arc::new(Plan {
        addr,
        workload,
        bearer,
        public_key_id,
        ciphertexts,
        users: args.users,
        next: AtomicUsize::new(0),
        deadline: Instant::now() + Duration::from_secs(args.seconds + 30),
    });

    // Warm-up (connections, the pool, caches), unmeasured, then the measured run.
    let warm = drive(&plan, concurrency, warmup).await;
    let warmup_failures = warm.first.failure_count() + warm.second.failure_count();
    // PostgreSQL's backends report their counters at most once a second: let the
    // warm-up's reach the statistics before the first reading.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = match backend {
        Backend::Postgres => Some(pg_counters(&database.admin_url).await?),
        Backend::Sqlite => None,
    };
    let profile = match (args.perf, server.pid()) {
        (true, Some(pid)) => Some(Profile::start(&fixture.dir, pid)?),
        _ => None,
    };
    let plan = Arc::new(Plan {
        deadline: Instant::now() + Duration::from_secs(args.seconds),
        next: AtomicUsize::new(warmup),
        ..Arc::into_inner(plan).ok_or("the warm-up kept the plan")?
    });
    let started = Instant::now();
    let measured = drive(&plan, concurrency, total).await;
    let elapsed = started.elapsed().as_secs_f64();
    let attribution = match profile {
        Some(p) => Some(p.finish().await?),
        None => None,
    };
    // Set-password changes are applied in the background: wait (at most 60 s) until none
    // is in progress, so that the counters below include applying them.
    let drained = match workload {
        Workload::SetPassword => Some(drain(database, backend).await?),
        Workload::Pairs | Workload::Generate => None,
    };
    let log = server.log.clone();
    server.stop().await?;
    let done = measured.op.count();
    let failures =
        warmup_failures + measured.first.failure_count() + measured.second.failure_count();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "\n{label}: {done} of {} ops in {elapsed:.2} s: {:.1} ops/s{}",
        args.ops,
        done as f64 / elapsed,
        if done + usize::try_from(failures).unwrap_or(0) < args.ops {
            " (stopped at the time limit)"
        } else {
            ""
        }
    );
    let (first, second) = match workload {
        Workload::Pairs => ("generate", "redeem"),
        Workload::Generate => ("generate", "-"),
        Workload::SetPassword => ("set-password", "status"),
    };
    for (name, series) in [
        (first, &measured.first),
        (second, &measured.second),
        ("op", &measured.op),
    ] {
        if series.count() == 0 && series.failures.is_empty() {
            continue;
        }
        let s = series.summary();
        let _ = writeln!(
            report,
            "  {name:<12} p50 {:7.2} ms  p90 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms{}",
            s.p50,
            s.p90,
            s.p99,
            s.max,
            if series.failures.is_empty() {
                String::new()
            } else {
                format!("  FAILED {:?}", series.failures)
            }
        );
    }

    if let Some(drained) = drained {
        let _ = writeln!(
            report,
            "  every change applied {:.2} s after the last 202",
            drained.as_secs_f64()
        );
    }
    if warmup_failures > 0 {
        let _ = writeln!(
            report,
            "  FAILED in the warm-up: {:?} {:?}",
            warm.first.failures, warm.second.failures
        );
    }

    // Afterwards: the database's counters (the server has stopped: every backend reported),
    // and what was stored.
    let mut per_op = (f64::NAN, f64::NAN, f64::NAN);
    if let Some(before) = before {
        let after = pg_counters(&database.admin_url).await?;
        let n = done.max(1) as f64;
        // Less the counter query's own transaction.
        per_op = (
            (after.commits - before.commits - 1) as f64 / n,
            (after.next_xid - before.next_xid) as f64 / n,
            (after.wal_syncs - before.wal_syncs) as f64 / n,
        );
        let _ = writeln!(
            report,
            "  PostgreSQL per op: {:.2} commits (read-only ones included), {:.2} writing transactions, {:.2} WAL syncs",
            per_op.0, per_op.1, per_op.2
        );
    }
    let stored = verify_stored(
        database,
        backend,
        workload,
        done + warm.op.count(),
        failures,
    )
    .await?;
    let _ = writeln!(report, "  stored: {stored}");
    let mut pgbench_tps = f64::NAN;
    if args.pgbench && backend == Backend::Postgres && workload != Workload::SetPassword {
        let seconds = if args.quick { 3 } else { args.seconds.min(20) };
        let schema = database.schema.as_deref().unwrap_or("public");
        pgbench_tps = pgbench::run(
            workload == Workload::Pairs,
            &fixture.dir,
            &database.admin_url,
            schema,
            args.users.min(done + warmup),
            concurrency,
            seconds,
        )
        .await?;
        let _ = writeln!(
            report,
            "  pgbench, the same SQL at {concurrency} clients: {pgbench_tps:.1} ops/s; the server: {:.2}x",
            done as f64 / elapsed / pgbench_tps
        );
    }
    if let Some(attribution) = attribution {
        report.push_str(&attribution);
    }
    if failures > 0 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let _ = writeln!(report, "  the server's last log lines:");
        for line in tail.iter().rev() {
            let _ = writeln!(report, "    {line}");
        }
    }
    let (a, b, o) = (
        measured.first.summary(),
        measured.second.summary(),
        measured.op.summary(),
    );
    let csv = format!(
        "{backend},{workload},{},{concurrency},{done},{failures},{elapsed:.3},{:.2},\
         {:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.2},{:.3}",
        args.argon2,
        done as f64 / elapsed,
        a.p50,
        a.p90,
        a.p99,
        a.max,
        b.p50,
        b.p90,
        b.p99,
        b.max,
        o.p50,
        o.p90,
        o.p99,
        o.max,
        per_op.0,
        per_op.1,
        per_op.2,
        pgbench_tps,
        done as f64 / elapsed / pgbench_tps,
    );
    Ok(RunResult {
        report,
        csv,
        failures,
    })
}

/// Runs workers until `total` operations were taken or the plan's deadline passed.
async fn drive(plan: &Arc<Plan>, concurrency: usize, total: usize) -> Measured {
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let plan = Arc::clone(plan);
        workers.push(tokio::spawn(async move { worker(&plan, total).await }));
    }
    let mut measured = Measured::default();
    for w in workers {
        match w.await {
            Ok(m) => measured.merge(m),
            Err(e) => measured.op.failed(format!("worker: {e}")),
        }
    }
    measured
}

async fn worker(plan: &Plan, total: usize) -> Measured {
    let mut conn = Connection::new(plan.addr);
    let mut m = Measured::default();
    loop {
        let k = plan.next.fetch_add(1, Ordering::Relaxed);
        if k >= total || Instant::now() >= plan.deadline {
            return m;
        }
        let user = k % plan.users;
        let Some(ciphertext) = plan.ciphertexts.get(k) else {
            return m;
        };
        let started = Instant::now();
        let ok = match plan.workload {
            Workload::Pairs => pair(plan, &mut conn, &mut m, user, ciphertext).await,
            Workload::Generate => generate(plan, &mut conn, &mut m.first, user)
                .await
                .is_some(),
            Workload::SetPassword => set_password(plan, &mut conn, &mut m, user, ciphertext).await,
        };
        if ok {
            m.op.ok(started.elapsed());
        }
    }
}

/// One request, timed into `series`; the answer if it had `expected` status.
async fn timed(
    conn: &mut Connection,
    series: &mut Series,
    expected: StatusCode,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: String,
) -> Option<serde_json::Value> {
    let started = Instant::now();
    let content_type = (!body.is_empty()).then_some("application/json");
    match conn.send(method, path, bearer, content_type, body).await {
        Ok(answer) if answer.status == expected => {
            series.ok(started.elapsed());
            Some(answer.json())
        }
        Ok(answer) => {
            let detail = answer.json();
            let cause = detail["messages"][0]["text"]
                .as_str()
                .or_else(|| detail["causes"][0].as_str())
                .unwrap_or("");
            series.failed(format!("{} {cause}", answer.status.as_u16()));
            None
        }
        Err(e) => {
            series.failed(e);
            None
        }
    }
}

/// A digit token for `user`, timed into `series`.
async fn generate(
    plan: &Plan,
    conn: &mut Connection,
    series: &mut Series,
    user: usize,
) -> Option<String> {
    let body = serde_json::json!({ "userId": pgbench::user_name(user) }).to_string();
    let generated = timed(
        conn,
        series,
        StatusCode::OK,
        Method::POST,
        "/v2025/generate-password-reset-token/digit",
        Some(&plan.bearer),
        body,
    )
    .await?;
    let code = generated["digitToken"].as_str().map(str::to_owned);
    if code.is_none() {
        series.failed("200 without a digitToken");
    }
    code
}

async fn pair(
    plan: &Plan,
    conn: &mut Connection,
    m: &mut Measured,
    user: usize,
    ciphertext: &str,
) -> bool {
    let Some(code) = generate(plan, conn, &mut m.first, user).await else {
        return false;
    };
    let user_name = pgbench::user_name(user);
    let body = serde_json::json!({
        "tenant": TENANT,
        "userId": user_name,
        "digitToken": code,
        "publicKeyId": plan.public_key_id,
        "encryptedPassword": ciphertext,
    })
    .to_string();
    match timed(
        conn,
        &mut m.second,
        StatusCode::OK,
        Method::POST,
        "/reset-password/v1/digit-token",
        None,
        body,
    )
    .await
    {
        Some(answer) if answer["state"] == "FINISHED" => true,
        Some(answer) => {
            m.second.failed(format!("200 but {}", answer["state"]));
            false
        }
        None => false,
    }
}

async fn set_password(
    plan: &Plan,
    conn: &mut Connection,
    m: &mut Measured,
    user: usize,
    ciphertext: &str,
) -> bool {
    let body = serde_json::json!({
        "identityId": pgbench::identity_id(user),
        "encryptedPassword": ciphertext,
        "publicKeyId": plan.public_key_id,
        "accountId": pgbench::account_id(user),
        "sourceId": pgbench::SOURCE,
    })
    .to_string();
    let Some(accepted) = timed(
        conn,
        &mut m.first,
        StatusCode::ACCEPTED,
        Method::POST,
        "/v2025/set-password",
        Some(&plan.bearer),
        body,
    )
    .await
    else {
        return false;
    };
    let Some(id) = accepted["requestId"].as_str() else {
        m.first.failed("202 without a requestId");
        return false;
    };
    let path = format!("/v2025/password-change-status/{id}");
    match timed(
        conn,
        &mut m.second,
        StatusCode::OK,
        Method::GET,
        &path,
        Some(&plan.bearer),
        String::new(),
    )
    .await
    {
        Some(status) if matches!(status["state"].as_str(), Some("IN_PROGRESS" | "FINISHED")) => {
            true
        }
        Some(status) => {
            m.second.failed(format!("status {}", status["state"]));
            false
        }
        None => false,
    }
}

/// The SQL of both backends for the state counts of the password changes.
const CHANGE_STATES: &str =
    "SELECT state, COUNT(*) FROM password_changes GROUP BY state ORDER BY state";

/// Counts the changes by state.
async fn change_states(
    database: &Database,
    backend: Backend,
) -> Result<Vec<(String, i64)>, String> {
    match backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&database.url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_as(CHANGE_STATES)
                .fetch_all(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&database.url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_as(CHANGE_STATES)
                .fetch_all(&mut conn)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// Waits (at most 60 s) until no change is `IN_PROGRESS`; how long that took.
async fn drain(database: &Database, backend: Backend) -> Result<Duration, String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let states = change_states(database, backend).await?;
        if !states.iter().any(|(s, _)| s == "IN_PROGRESS") {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("changes still IN_PROGRESS 60 s after the run".into())
}

/// After the run: every change recorded is `FINISHED` (none stuck, none failed), one for
/// each operation that succeeded (when none failed: a failed one may have been recorded).
async fn verify_stored(
    database: &Database,
    backend: Backend,
    workload: Workload,
    succeeded: usize,
    failed: u64,
) -> Result<String, String> {
    let states = change_states(database, backend).await?;
    let credentials = "SELECT COUNT(*) FROM credentials";
    let creds: i64 = match backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&database.url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_scalar(credentials)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?
        }
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&database.url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_scalar(credentials)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?
        }
    };
    let finished = states
        .iter()
        .find(|(s, _)| s == "FINISHED")
        .map_or(0, |(_, n)| *n);
    let others: Vec<String> = states
        .iter()
        .filter(|(s, _)| s != "FINISHED")
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let text = format!(
        "{finished} changes FINISHED for {succeeded} {workload} operations that succeeded (warm-up included){}, {creds} credential rows",
        if others.is_empty() {
            String::new()
        } else {
            format!(", and {}", others.join(", "))
        }
    );
    if !others.is_empty() {
        return Err(format!("changes left unfinished: {text}"));
    }
    let expected = match workload {
        Workload::Generate => 0,
        Workload::Pairs | Workload::SetPassword => succeeded,
    };
    if failed == 0 && usize::try_from(finished).ok() != Some(expected) {
        return Err(format!("a change lost or applied twice: {text}"));
    }
    Ok(text)
}

/// `perf record` on the server during the measured run.
struct Profile {
    child: tokio::process::Child,
    data: PathBuf,
}

impl Profile {
    fn start(dir: &Path, pid: u32) -> Result<Self, String> {
        let data = dir.join(format!("perf-{pid}.data"));
        let child = tokio::process::Command::new("perf")
            .args(["record", "-F", "1999", "-o"])
            .arg(&data)
            .args(["-p", &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("perf (Debian: linux-perf): {e}"))?;
        Ok(Self { child, data })
    }

    /// Stops the recording (SIGINT) and attributes the samples.
    async fn finish(mut self) -> Result<String, String> {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
        let output = tokio::process::Command::new("perf")
            .args([
                "report",
                "--no-children",
                "--sort",
                "dso,sym",
                "--stdio",
                "-i",
            ])
            .arg(&self.data)
            .output()
            .await
            .map_err(|e| format!("perf report: {e}"))?;
        Ok(attribute(&String::from_utf8_lossy(&output.stdout)))
    }
}

/// Where the server's CPU went, from `perf report --sort dso,sym` (self time per symbol),
/// by the crate that owns each symbol.
fn attribute(report: &str) -> String {
    const BUCKETS: &[(&str, &[&str])] = &[
        (
            "the crate (password_mgmt)",
            &["password_mgmt::", "<password_mgmt::"],
        ),
        (
            "RSA under the crate (rsa, crypto-bigint, crypto-primes)",
            &["rsa::", "crypto_bigint", "crypto_primes", "<rsa::"],
        ),
        (
            "hashes and MACs under the crate (sha2, hmac, subtle)",
            &["sha2::", "hmac::", "subtle::", "digest::", "block_buffer"],
        ),
        (
            "Argon2id (the server's password hash)",
            &["argon2", "blake2"],
        ),
        (
            "the server (password_mgmt_server)",
            &["password_mgmt_server"],
        ),
        (
            "sqlx and the database drivers",
            &["sqlx", "libsqlite3", "sqlite3"],
        ),
        (
            "HTTP and async runtime (hyper, axum, tower, tokio)",
            &["hyper", "axum", "tower", "tokio", "mio::", "http::"],
        ),
        (
            "JSON and JWT (serde, jsonwebtoken)",
            &["serde", "jsonwebtoken", "ed25519", "curve25519"],
        ),
        ("tracing", &["tracing"]),
        (
            "memory (malloc, memcpy)",
            &[
                "malloc", "free", "memcpy", "memmove", "memset", "realloc", "cfree",
            ],
        ),
        ("the kernel", &["[kernel", "[k]"]),
    ];
    let mut totals = vec![0.0_f64; BUCKETS.len() + 1];
    for line in report.lines() {
        let line = line.trim_start();
        let Some(percent) = line
            .split_whitespace()
            .next()
            .and_then(|p| p.strip_suffix('%'))
            .and_then(|p| p.parse::<f64>().ok())
        else {
            continue;
        };
        let slot = BUCKETS
            .iter()
            .position(|(_, needles)| needles.iter().any(|n| line.contains(n)))
            .unwrap_or(BUCKETS.len());
        if let Some(total) = totals.get_mut(slot) {
            *total += percent;
        }
    }
    let mut out = String::from("  the server's CPU (perf, self time):\n");
    for (i, total) in totals.iter().enumerate() {
        let name = BUCKETS.get(i).map_or("everything else", |(name, _)| name);
        let _ = writeln!(out, "    {total:5.1}%  {name}");
    }
    out
}
