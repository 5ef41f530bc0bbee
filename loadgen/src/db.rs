//! The database of one run, and what is read from it afterwards.

use std::time::{Duration, Instant};

use sqlx::Connection as _;

use crate::{Args, Backend, Fixture};

/// The database of one run: a fresh SQLite file or PostgreSQL schema.
pub(crate) struct Database {
    pub(crate) url: String,
    pub(crate) schema: Option<String>,
    pub(crate) admin_url: String,
}

impl Database {
    pub(crate) async fn create(
        args: &Args,
        fixture: &Fixture,
        backend: Backend,
    ) -> Result<Self, String> {
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

    pub(crate) async fn drop_schema(&self) {
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
pub(crate) struct PgCounters {
    pub(crate) commits: i64,
    pub(crate) next_xid: i64,
    pub(crate) wal_syncs: i64,
}

pub(crate) async fn pg_counters(url: &str) -> Result<PgCounters, String> {
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

/// The password changes by state, and the credential rows (as `credentials`), in one
/// statement both backends speak.
const COUNTS: &str = "SELECT state, COUNT(*) FROM password_changes GROUP BY state \
                      UNION ALL SELECT 'credentials', COUNT(*) FROM credentials";

impl Database {
    /// [`COUNTS`].
    pub(crate) async fn counts(&self) -> Result<Vec<(String, i64)>, String> {
        let rows = if self.schema.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_as(COUNTS).fetch_all(&mut conn).await
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_as(COUNTS).fetch_all(&mut conn).await
        };
        rows.map_err(|e| e.to_string())
    }

    /// Waits (at most 60 s) until no change is `IN_PROGRESS`; how long that took.
    pub(crate) async fn drain(&self) -> Result<Duration, String> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if !self.counts().await?.iter().any(|(s, _)| s == "IN_PROGRESS") {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("changes still IN_PROGRESS 60 s after the run".into())
    }

    /// After a run: every change recorded is `FINISHED` (none stuck, none failed), and as
    /// many as `expected` (checked only when no request failed: a failed one may have
    /// been recorded). A line saying so.
    pub(crate) async fn verify(&self, expected: usize, failed: u64) -> Result<String, String> {
        let counts = self.counts().await?;
        let count = |name: &str| {
            counts
                .iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| *n)
        };
        let finished = count("FINISHED");
        let text = format!(
            "{finished} changes FINISHED (expected {expected}, warm-up included), {} credential rows",
            count("credentials")
        );
        let (in_progress, failed_changes) = (count("IN_PROGRESS"), count("FAILED"));
        if in_progress + failed_changes > 0 {
            return Err(format!(
                "{text}; and {in_progress} IN_PROGRESS, {failed_changes} FAILED"
            ));
        }
        if failed == 0 && usize::try_from(finished).ok() != Some(expected) {
            return Err(format!("a change lost or applied twice: {text}"));
        }
        Ok(text)
    }
}
