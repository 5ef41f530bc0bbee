//! Where the server's CPU goes: `perf record` during a run, attributed by crate.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `perf record` on the server during the measured run.
pub(crate) struct Profile {
    child: tokio::process::Child,
    data: PathBuf,
}

impl Profile {
    pub(crate) fn start(dir: &Path, pid: u32) -> Result<Self, String> {
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
    pub(crate) async fn finish(mut self) -> Result<String, String> {
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
