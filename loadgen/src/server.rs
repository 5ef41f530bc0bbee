//! The server as a child process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Fixture;

/// The server as a child process, its log in a file; SIGTERM on [`stop`](Self::stop),
/// SIGKILL on drop.
pub(crate) struct ServerProcess {
    child: tokio::process::Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
}

impl ServerProcess {
    pub(crate) async fn start(
        fixture: &Fixture,
        config: &Path,
        log: PathBuf,
    ) -> Result<Self, String> {
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

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, and waits (at most 30 s) for it to exit.
    pub(crate) async fn stop(mut self) -> Result<(), String> {
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
