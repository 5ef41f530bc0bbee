//! [`Store`] on PostgreSQL, for many server nodes on one database.
//!
//! Transactions run at `READ COMMITTED`, which is enough for compare-and-set: an `UPDATE
//! ... WHERE value = $old` that meets a concurrent update waits for it and then re-checks
//! its condition on the new row (and so matches nothing), and an `INSERT ... ON CONFLICT
//! DO NOTHING` that meets a concurrent insert of the same key waits and inserts nothing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};

use super::{
    Batch, BoxFuture, ChangeState, Claim, Committed, Credential, PasswordChange, Settle, StateKey,
    Store, StoreError, StoreResult, errors_json, parse_errors,
};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "change order",
        include_str!("../../migrations/postgres/0002_change_order.sql"),
    ),
];

/// The PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and runs the migrations.
    ///
    /// # Errors
    /// [`StoreError`] for a bad URL, an unreachable database, or a failed migration.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Fault(format!("database.url: {e}")))?;
        Self::connect_with(options, max_connections, acquire_timeout).await
    }

    /// Connects with `options` (e.g. with a `search_path` of its own, as the tests do) and
    /// runs the migrations.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await?;
        super::migrator(MIGRATIONS).run(&pool).await?;
        Ok(Self { pool })
    }

    /// The pool, for tools and tests.
    #[must_use]
    pub const fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn commit_batch(&self, batch: &Batch) -> StoreResult<Committed> {
        let mut tx: Transaction<'static, Postgres> = self.pool.begin().await?;
        for write in &batch.writes {
            let key = &write.key;
            let done = match &write.expected {
                None => {
                    sqlx::query(
                        "INSERT INTO state (tenant, kind, key, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant, kind, key) DO NOTHING",
                    )
                    .bind(&key.tenant)
                    .bind(key.kind.as_str())
                    .bind(&key.key)
                    .bind(&write.new)
                    .execute(&mut *tx)
                    .await?
                }
                Some(old) => {
                    sqlx::query(
                        "UPDATE state SET value = $1 \
                     WHERE tenant = $2 AND kind = $3 AND key = $4 AND value = $5",
                    )
                    .bind(&write.new)
                    .bind(&key.tenant)
                    .bind(key.kind.as_str())
                    .bind(&key.key)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?
                }
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
                 VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::TEXT IS NULL THEN 'FINISHED' ELSE 'IN_PROGRESS' END, '[]', $6, \
                 GREATEST($7, COALESCE((SELECT MAX(created_at) + 1 FROM password_changes \
                 WHERE tenant = $1 AND source_id = $4 AND account_id = $5), $7)), $7, $8, 0, 0)",
            )
            .bind(&change.tenant)
            .bind(&change.id)
            .bind(&change.identity_id)
            .bind(&change.source_id)
            .bind(&change.account_id)
            .bind(&change.pending_hash)
            .bind(change.created_at)
            .bind(change.lease_until)
            .execute(&mut *tx)
            .await?;
        }
        for c in &batch.credentials {
            sqlx::query(
                "INSERT INTO credentials (tenant, source_id, account_id, phc, change_id, change_created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, \
                 COALESCE((SELECT created_at FROM password_changes WHERE tenant = $1 AND id = $5), $6), $7) \
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
            .bind(c.change_created_at)
            .bind(c.now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Committed::Applied)
    }
}

fn change_from_row(row: &PgRow) -> StoreResult<PasswordChange> {
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

impl Store for PgStore {
    fn read<'a>(
        &'a self,
        keys: &'a [StateKey],
    ) -> BoxFuture<'a, StoreResult<Vec<Option<Vec<u8>>>>> {
        Box::pin(async move {
            // One statement for every key: the keys travel as three arrays, and the answer
            // comes back in the order asked (`ordinality`).
            let tenants: Vec<&str> = keys.iter().map(|k| k.tenant.as_str()).collect();
            let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
            let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
            let rows = sqlx::query(
                "SELECT k.i, s.value FROM UNNEST($1::text[], $2::text[], $3::text[]) \
                 WITH ORDINALITY AS k(tenant, kind, key, i) \
                 LEFT JOIN state s ON s.tenant = k.tenant AND s.kind = k.kind AND s.key = k.key \
                 ORDER BY k.i",
            )
            .bind(&tenants)
            .bind(&kinds)
            .bind(&names)
            .fetch_all(&self.pool)
            .await?;
            let mut out = vec![None; keys.len()];
            for row in rows {
                let i: i64 = row.try_get(0)?;
                let value: Option<Vec<u8>> = row.try_get(1)?;
                let slot = usize::try_from(i)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| out.get_mut(i))
                    .ok_or_else(|| StoreError::Fault("read: ordinality out of range".into()))?;
                *slot = value;
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
                " FROM password_changes WHERE tenant = $1 AND id = $2"
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
                 WHERE state = 'IN_PROGRESS' AND lease_until <= $1 ORDER BY lease_until LIMIT $2"
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
                 attempts = attempts + 1, lease_until = $1, updated_at = $2 \
                 WHERE tenant = $3 AND id = $4 AND state = 'IN_PROGRESS' AND lease_version = $5",
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
                "UPDATE password_changes SET state = $1, errors = $2, pending_hash = NULL, updated_at = $3 \
                 WHERE tenant = $4 AND id = $5 AND state = 'IN_PROGRESS' AND lease_version = $6",
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
                 WHERE tenant = $1 AND source_id = $2 AND account_id = $3",
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
            let mut tx = self.pool.begin().await?;
            for (tenant, document) in documents {
                sqlx::query(
                    "INSERT INTO directory_tenants (tenant, document, imported_at) VALUES ($1, $2, $3) \
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
