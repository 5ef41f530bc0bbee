//! [`Store`] on SQLite: WAL mode, a busy timeout, and write transactions that start with
//! `BEGIN IMMEDIATE` (a deferred transaction that reads first and then writes can fail
//! with `SQLITE_BUSY` on the lock upgrade, without waiting, when another connection
//! writes meanwhile).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use super::{
    Batch, BoxFuture, ChangeState, Claim, Committed, Credential, PasswordChange, Settle, StateKey,
    Store, StoreError, StoreResult, errors_json, parse_errors,
};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "change order",
        include_str!("../../migrations/sqlite/0002_change_order.sql"),
    ),
];

/// The SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and runs the migrations.
    ///
    /// # Errors
    /// [`StoreError`] for a bad URL, a file that cannot be opened, or a failed migration.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Fault(format!("database.url: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut pool = SqlitePoolOptions::new().acquire_timeout(acquire_timeout);
        pool = if in_memory {
            // Every connection to `:memory:` is a database of its own: keep exactly one,
            // forever.
            pool.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool.max_connections(max_connections)
        };
        let pool = pool.connect_with(options).await?;
        super::migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self { pool })
    }

    /// The pool, for tools and tests.
    #[must_use]
    pub const fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn commit_batch(&self, batch: &Batch) -> StoreResult<Committed> {
        let mut tx = self.begin_write().await?;
        for write in &batch.writes {
            let key = &write.key;
            let done = match &write.expected {
                None => sqlx::query(
                    "INSERT INTO state (tenant, kind, key, value) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (tenant, kind, key) DO NOTHING",
                )
                .bind(&key.tenant)
                .bind(key.kind.as_str())
                .bind(&key.key)
                .bind(&write.new)
                .execute(&mut *tx)
                .await?,
                Some(old) => sqlx::query(
                    "UPDATE state SET value = ? WHERE tenant = ? AND kind = ? AND key = ? AND value = ?",
                )
                .bind(&write.new)
                .bind(&key.tenant)
                .bind(key.kind.as_str())
                .bind(&key.key)
                .bind(old)
                .execute(&mut *tx)
                .await?,
            };
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(Committed::Conflict);
            }
        }
        for change in &batch.changes {
            sqlx::query(
                "INSERT INTO password_changes (tenant, id, identity_id, source_id, account_id, state, \
                 errors, pending_hash, created_at, updated_at, lease_until, lease_version, attempts) \
                 VALUES (?, ?, ?, ?, ?, CASE WHEN ? IS NULL THEN 'FINISHED' ELSE 'IN_PROGRESS' END, '[]', ?, \
                 MAX(?, COALESCE((SELECT MAX(created_at) + 1 FROM password_changes \
                 WHERE tenant = ? AND source_id = ? AND account_id = ?), 0)), ?, ?, 0, 0)",
            )
            .bind(&change.tenant)
            .bind(&change.id)
            .bind(&change.identity_id)
            .bind(&change.source_id)
            .bind(&change.account_id)
            .bind(&change.pending_hash)
            .bind(&change.pending_hash)
            .bind(change.created_at)
            .bind(&change.tenant)
            .bind(&change.source_id)
            .bind(&change.account_id)
            .bind(change.created_at)
            .bind(change.lease_until)
            .execute(&mut *tx)
            .await?;
        }
        for c in &batch.credentials {
            sqlx::query(
                "INSERT INTO credentials (tenant, source_id, account_id, phc, change_id, change_created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, \
                 COALESCE((SELECT created_at FROM password_changes WHERE tenant = ? AND id = ?), ?), ?) \
                 ON CONFLICT (tenant, source_id, account_id) DO UPDATE SET \
                 phc = excluded.phc, change_id = excluded.change_id, \
                 change_created_at = excluded.change_created_at, updated_at = excluded.updated_at \
                 WHERE credentials.change_created_at <= excluded.change_created_at",
            )
            .bind(&c.tenant)
            .bind(&c.source_id)
            .bind(&c.account_id)
            .bind(&c.phc)
            .bind(&c.change_id)
            .bind(&c.tenant)
            .bind(&c.change_id)
            .bind(c.change_created_at)
            .bind(c.now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Committed::Applied)
    }
}

fn change_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<PasswordChange> {
    let state: String = row.try_get("state")?;
    let errors: String = row.try_get("errors")?;
    Ok(PasswordChange {
        tenant: row.try_get("tenant")?,
        id: row.try_get("id")?,
        identity_id: row.try_get("identity_id")?,
        source_id: row.try_get("source_id")?,
        account_id: row.try_get("account_id")?,
        state: ChangeState::parse(&state)?,
        errors: parse_errors(&errors)?,
        pending_hash: row.try_get("pending_hash")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        lease_until: row.try_get("lease_until")?,
        lease_version: row.try_get("lease_version")?,
        attempts: row.try_get("attempts")?,
    })
}

impl Store for SqliteStore {
    fn read<'a>(
        &'a self,
        keys: &'a [StateKey],
    ) -> BoxFuture<'a, StoreResult<Vec<Option<Vec<u8>>>>> {
        Box::pin(async move {
            // In-process: one connection, one statement per key, no network round trips.
            let mut conn = self.pool.acquire().await?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let value: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT value FROM state WHERE tenant = ? AND kind = ? AND key = ?",
                )
                .bind(&key.tenant)
                .bind(key.kind.as_str())
                .bind(&key.key)
                .fetch_optional(&mut *conn)
                .await?;
                out.push(value);
            }
            Ok(out)
        })
    }

    fn commit<'a>(&'a self, batch: &'a Batch) -> BoxFuture<'a, StoreResult<Committed>> {
        Box::pin(self.commit_batch(batch))
    }

    fn change<'a>(
        &'a self,
        tenant: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<PasswordChange>>> {
        Box::pin(async move {
            let row = sqlx::query(concat!(
                "SELECT ",
                change_columns!(),
                " FROM password_changes WHERE tenant = ? AND id = ?"
            ))
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(change_from_row).transpose()
        })
    }

    fn due_changes(&self, now: i64, limit: u32) -> BoxFuture<'_, StoreResult<Vec<PasswordChange>>> {
        Box::pin(async move {
            let rows = sqlx::query(concat!(
                "SELECT ",
                change_columns!(),
                " FROM password_changes \
                 WHERE state = 'IN_PROGRESS' AND lease_until <= ? ORDER BY lease_until LIMIT ?"
            ))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(change_from_row).collect()
        })
    }

    fn claim_change<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE password_changes SET lease_version = lease_version + 1, \
                 attempts = attempts + 1, lease_until = ?, updated_at = ? \
                 WHERE tenant = ? AND id = ? AND state = 'IN_PROGRESS' AND lease_version = ?",
            )
            .bind(claim.lease_until)
            .bind(claim.now)
            .bind(&claim.tenant)
            .bind(&claim.id)
            .bind(claim.lease_version)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn settle_change<'a>(&'a self, settle: &'a Settle) -> BoxFuture<'a, StoreResult<bool>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE password_changes SET state = ?, errors = ?, pending_hash = NULL, updated_at = ? \
                 WHERE tenant = ? AND id = ? AND state = 'IN_PROGRESS' AND lease_version = ?",
            )
            .bind(settle.state.as_str())
            .bind(errors_json(&settle.errors))
            .bind(settle.now)
            .bind(&settle.tenant)
            .bind(&settle.id)
            .bind(settle.lease_version)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn credential<'a>(
        &'a self,
        tenant: &'a str,
        source_id: &'a str,
        account_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Credential>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT phc, change_id, updated_at FROM credentials \
                 WHERE tenant = ? AND source_id = ? AND account_id = ?",
            )
            .bind(tenant)
            .bind(source_id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                Ok(Credential {
                    phc: r.try_get("phc")?,
                    change_id: r.try_get("change_id")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .transpose()
        })
    }

    fn import_directory<'a>(
        &'a self,
        documents: &'a [(String, String)],
        now: i64,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut tx = self.begin_write().await?;
            for (tenant, document) in documents {
                sqlx::query(
                    "INSERT INTO directory_tenants (tenant, document, imported_at) VALUES (?, ?, ?) \
                     ON CONFLICT (tenant) DO UPDATE SET document = excluded.document, \
                     imported_at = excluded.imported_at",
                )
                .bind(tenant)
                .bind(document)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn directory(&self) -> BoxFuture<'_, StoreResult<Vec<(String, String)>>> {
        Box::pin(async move {
            let rows =
                sqlx::query("SELECT tenant, document FROM directory_tenants ORDER BY tenant")
                    .fetch_all(&self.pool)
                    .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("tenant")?, r.try_get("document")?)))
                .collect()
        })
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
    }
}
