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

mod db;
mod directory;
mod http;
mod pgbench;
mod profile;
mod server;
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

use crate::db::{Database, pg_counters};
use crate::directory::TENANT;
use crate::http::Connection;
use crate::profile::Profile;
use crate::server::ServerProcess;
use crate::stats::Series;

/// Drives password-mgmt-server over loopback and prints throughput and latency.
#[derive(Debug, Parser)]
#[command(name = "password-mgmt-loadgen", version, about)]
struct Args {
    /// The CI smoke run: both backends, every workload, 4 workers, 100 operations each,
    /// 15 s per run at most, and pgbench for 3 s. Every run exits 1 on any failed
    /// request or any change lost, doubled or left unfinished.
    #[arg(long)]
    quick: bool,
    /// Backends, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [Backend::Postgres, Backend::Sqlite])]
    backends: Vec<Backend>,
    /// Workloads, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [Workload::Pairs, Workload::Generate, Workload::SetPassword])]
    workloads: Vec<Workload>,
    /// Concurrent workers (one connection each); several values make a sweep.
    #[arg(long, value_delimiter = ',', default_values_t = [8], value_parser = positive)]
    concurrency: Vec<usize>,
    /// Operations per run (a pair, or a set-password with its status read).
    #[arg(long, default_value_t = 4000, value_parser = positive)]
    ops: usize,
    /// Time limit per run, in seconds (the run stops early, and says so).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// OAuth clients the workers share out (worker i generates as client i mod N): 1, as
    /// for one reset portal, makes every generate update one client limiter row.
    #[arg(long, default_value_t = 1, value_parser = positive)]
    clients: usize,
    /// Users in the directory (operations go round them).
    #[arg(long, default_value_t = 2000, value_parser = positive)]
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

/// A count of at least one (zero workers, users or clients would measure nothing, or
/// divide by zero).
fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

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
        Ok(0) => ExitCode::SUCCESS,
        Ok(failures) => {
            eprintln!("error: {failures} requests failed (see above): the figures do not count");
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
    std::fs::write(&directory, directory::file(args.users)).map_err(|e| e.to_string())?;
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
         {}\
         [argon2]\nm_cost_kib = {m_cost}\nt_cost = {t_cost}\np_cost = 1\n\n\
         [limits]\nuser = \"requests 1000/1h, failures 1000/1h 1000/1d, consecutive 100, clock tolerance 5s\"\n\
         digit_token_per_client = \"10000/1s\"\nredeem_per_address = \"10000/1s\"\n\n\
         [log]\nfilter = \"info\"\n",
        path(&directory),
        path(&files.password_key),
        path(&files.token_mac_key),
        path(&files.signing_key),
        (0..args.clients)
            .map(|i| format!(
                "[[oauth.clients]]\nclient_id = \"{}\"\nsecret_hash = {}\n\
                 scopes = [\"sp:scopes:all\"]\ntenant = \"{TENANT}\"\n\n",
                directory::client_id(i),
                toml(&secret_hash)
            ))
            .collect::<String>(),
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

const CSV_HEADER: &str = "backend,workload,argon2,rsa_bits,clients,concurrency,ops,failures,seconds,ops_per_s,\
first_p50_ms,first_p90_ms,first_p99_ms,first_max_ms,second_p50_ms,second_p90_ms,second_p99_ms,second_max_ms,\
op_p50_ms,op_p90_ms,op_p99_ms,op_max_ms,commits_per_op,write_xacts_per_op,wal_syncs_per_op,pgbench_tps,ratio";

struct RunResult {
    report: String,
    csv: String,
    failures: u64,
}

/// What a worker needs for every operation.
struct Plan {
    addr: SocketAddr,
    workload: Workload,
    /// One bearer token per OAuth client; worker i uses token i mod their number.
    bearers: Vec<String>,
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
    let label = format!(
        "{backend} {workload} c={concurrency}{}",
        if args.clients > 1 {
            format!(" ({} OAuth clients)", args.clients)
        } else {
            String::new()
        }
    );
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

    // Setup, unmeasured: bearer tokens, digit tokens enabled, the public key, ciphertexts.
    let mut conn = Connection::new(addr);
    let mut bearers = Vec::new();
    for i in 0..args.clients {
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            directory::client_id(i),
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
        bearers.push(
            token.json()["access_token"]
                .as_str()
                .ok_or_else(|| format!("/oauth/token: {}", String::from_utf8_lossy(&token.body)))?
                .to_owned(),
        );
    }
    let bearer = bearers.first().cloned().unwrap_or_default();
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
        let identity = directory::identity_id(user);
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
        bearers,
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
        Workload::SetPassword => Some(database.drain().await?),
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
    let expected = match workload {
        Workload::Generate => 0,
        Workload::Pairs | Workload::SetPassword => done + warm.op.count(),
    };
    let stored = database.verify(expected, failures).await?;
    let _ = writeln!(report, "  stored: {stored}");
    let mut pgbench_tps = f64::NAN;
    if args.pgbench && backend == Backend::Postgres && workload != Workload::SetPassword {
        let seconds = if args.quick { 3 } else { args.seconds.min(20) };
        let schema = database.schema.as_deref().unwrap_or("public");
        pgbench_tps = pgbench::Baseline {
            pairs: workload == Workload::Pairs,
            dir: &fixture.dir,
            url: &database.admin_url,
            schema,
            users: args.users.min(done + warmup),
            oauth_clients: args.clients,
            clients: concurrency,
            seconds,
        }
        .tps()
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
        "{backend},{workload},{},{},{},{concurrency},{done},{failures},{elapsed:.3},{:.2},\
         {:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.2},{:.3}",
        args.argon2,
        args.rsa_bits,
        args.clients,
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
    for index in 0..concurrency {
        let plan = Arc::clone(plan);
        workers.push(tokio::spawn(
            async move { worker(&plan, index, total).await },
        ));
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

/// One worker: its connection, the bearer token of its OAuth client, its measurements.
struct Worker<'a> {
    plan: &'a Plan,
    bearer: &'a str,
    conn: Connection,
    m: Measured,
}

async fn worker(plan: &Plan, index: usize, total: usize) -> Measured {
    let Some(bearer) = index
        .checked_rem(plan.bearers.len())
        .and_then(|i| plan.bearers.get(i))
    else {
        let mut m = Measured::default();
        m.op.failed("no bearer token");
        return m;
    };
    let mut w = Worker {
        plan,
        bearer,
        conn: Connection::new(plan.addr),
        m: Measured::default(),
    };
    loop {
        let k = plan.next.fetch_add(1, Ordering::Relaxed);
        if k >= total || Instant::now() >= plan.deadline {
            return w.m;
        }
        let user = k % plan.users;
        let Some(ciphertext) = plan.ciphertexts.get(k) else {
            return w.m;
        };
        let started = Instant::now();
        let ok = match plan.workload {
            Workload::Pairs => w.pair(user, ciphertext).await,
            Workload::Generate => w.generate(user).await.is_some(),
            Workload::SetPassword => w.set_password(user, ciphertext).await,
        };
        if ok {
            w.m.op.ok(started.elapsed());
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

impl Worker<'_> {
    /// A digit token for `user` (the first request of a pair).
    async fn generate(&mut self, user: usize) -> Option<String> {
        let body = serde_json::json!({ "userId": directory::user_name(user) }).to_string();
        let generated = timed(
            &mut self.conn,
            &mut self.m.first,
            StatusCode::OK,
            Method::POST,
            "/v2025/generate-password-reset-token/digit",
            Some(self.bearer),
            body,
        )
        .await?;
        let code = generated["digitToken"].as_str().map(str::to_owned);
        if code.is_none() {
            self.m.first.failed("200 without a digitToken");
        }
        code
    }

    /// A digit token for `user`, redeemed with a new password.
    async fn pair(&mut self, user: usize, ciphertext: &str) -> bool {
        let Some(code) = self.generate(user).await else {
            return false;
        };
        let body = serde_json::json!({
            "tenant": TENANT,
            "userId": directory::user_name(user),
            "digitToken": code,
            "publicKeyId": self.plan.public_key_id,
            "encryptedPassword": ciphertext,
        })
        .to_string();
        match timed(
            &mut self.conn,
            &mut self.m.second,
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
                self.m.second.failed(format!("200 but {}", answer["state"]));
                false
            }
            None => false,
        }
    }

    /// A set-password for `user`, then its status.
    async fn set_password(&mut self, user: usize, ciphertext: &str) -> bool {
        let body = serde_json::json!({
            "identityId": directory::identity_id(user),
            "encryptedPassword": ciphertext,
            "publicKeyId": self.plan.public_key_id,
            "accountId": directory::account_id(user),
            "sourceId": directory::SOURCE,
        })
        .to_string();
        let Some(accepted) = timed(
            &mut self.conn,
            &mut self.m.first,
            StatusCode::ACCEPTED,
            Method::POST,
            "/v2025/set-password",
            Some(self.bearer),
            body,
        )
        .await
        else {
            return false;
        };
        let Some(id) = accepted["requestId"].as_str() else {
            self.m.first.failed("202 without a requestId");
            return false;
        };
        let path = format!("/v2025/password-change-status/{id}");
        match timed(
            &mut self.conn,
            &mut self.m.second,
            StatusCode::OK,
            Method::GET,
            &path,
            Some(self.bearer),
            String::new(),
        )
        .await
        {
            Some(status)
                if matches!(status["state"].as_str(), Some("IN_PROGRESS" | "FINISHED")) =>
            {
                true
            }
            Some(status) => {
                self.m.second.failed(format!("status {}", status["state"]));
                false
            }
            None => false,
        }
    }
}
