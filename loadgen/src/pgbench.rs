//! The baseline: the SQL statements and transactions of one generate (or one generate +
//! redeem pair), as the server sends them to PostgreSQL (`server/src/store/postgres.rs`),
//! run by `pgbench` at the same concurrency on the same database and tables. It bounds
//! the server: an operation cannot be faster than its statements.
//!
//! Three differences, each making the baseline cheaper than the server (so the ratio is
//! conservative): a read of several keys answers one row (pgbench's `\gset` needs one)
//! instead of one per key; a compare-and-set writes back the value it read instead of a
//! new one of the same length; and a compare-and-set that finds the value changed writes
//! nothing and is not tried again (the server re-reads and retries).

use std::path::Path;

use crate::directory::{CLIENT_ID, SOURCE, TENANT};

/// The server's read of `keys` (tenant, kind, key expressions), one statement; as one row
/// of `names` for `\gset`.
fn read(keys: &[(&str, &str)], names: &[&str]) -> String {
    let list =
        |f: &dyn Fn(&(&str, &str)) -> String| keys.iter().map(f).collect::<Vec<_>>().join(", ");
    let tenants = list(&|_| format!("'{TENANT}'"));
    let kinds = list(&|(kind, _)| format!("'{kind}'"));
    let names_sql = list(&|(_, key)| (*key).to_owned());
    let columns = if names.is_empty() {
        "count(s.value)".to_owned()
    } else {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let at = i + 1;
                format!(
                    "(array_agg(s.value ORDER BY k.i))[{at}] AS {name}, \
                     (array_agg(s.value ORDER BY k.i))[{at}] AS {name}_new"
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT {columns} FROM UNNEST(ARRAY[{tenants}], ARRAY[{kinds}], ARRAY[{names_sql}]) \
         WITH ORDINALITY AS k(tenant, kind, key, i) LEFT JOIN state s \
         ON s.tenant = k.tenant AND s.kind = k.kind AND s.key = k.key{}",
        if names.is_empty() { ";" } else { " \\gset" }
    )
}

/// A compare-and-set of the value read into `:var` (its copy `:var_new` is written back:
/// pgbench binds a variable used twice in one statement wrongly).
fn cas(kind: &str, key: &str, var: &str) -> String {
    format!(
        "UPDATE state SET value = :{var}_new WHERE tenant = '{TENANT}' AND kind = '{kind}' \
         AND key = {key} AND value = :{var};"
    )
}

/// The pgbench script of a generate, or of a pair (a generate and a redeem), as one
/// pgbench transaction (variables `users`, `clients` and `address` come from `-D`).
pub(crate) fn script(pairs: bool) -> String {
    let user = "'u' || :u";
    let account = "'ac' || lpad(to_hex(:u::bigint), 30, '0')";
    let identity = "'1d' || lpad(to_hex(:u::bigint), 30, '0')";
    // pgbench would take `:loadgen` in a literal for a variable; pgbench client i
    // generates as OAuth client i mod `clients`, as the load generator's workers do.
    let client = format!("'client' || chr(58) || '{CLIENT_ID}-' || :k");
    let now = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
    // An Argon2id PHC string of the production costs' length (16-byte salt, 32-byte hash).
    let phc = format!(
        "'$argon2id$v=19$m=19456,t=2,p=1${}${}'",
        "s".repeat(22),
        "h".repeat(43)
    );
    let change = "'pgbench' || :client_id || '-' || :c";
    let mut s = String::new();
    let mut line = |text: &str| {
        s.push_str(text);
        s.push('\n');
    };
    line("\\set u random(0, :users - 1)");
    line("\\set c random(1, 1000000000000000)");
    line("\\set k :client_id % :clients");
    line(
        "-- generate: the user's state, the client's limiter and the org config in one read; one transaction",
    );
    line(&read(
        &[("user", user), ("client", &client), ("org_config", "'org'")],
        &["uv", "cv"],
    ));
    line("BEGIN;");
    line(&cas("client", &client, "cv"));
    line(&cas("user", user, "uv"));
    line("COMMIT;");
    if !pairs {
        return s;
    }
    line(
        "-- redeem: the look (state and address limiter), the read of the compare-and-set, one transaction",
    );
    line(&read(&[("user", user), ("address", ":address")], &[]));
    line(&read(
        &[("user", user), ("address", ":address")],
        &["uv", "av"],
    ));
    line("BEGIN;");
    line(&cas("address", ":address", "av"));
    line(&cas("user", user, "uv"));
    line(&format!(
        "INSERT INTO password_changes (tenant, id, identity_id, source_id, account_id, state, \
         errors, pending_hash, created_at, updated_at, lease_until, lease_version, attempts) \
         VALUES ('{TENANT}', {change}, {identity}, '{SOURCE}', {account}, \
         CASE WHEN NULL::TEXT IS NULL THEN 'FINISHED' ELSE 'IN_PROGRESS' END, '[]', NULL, \
         GREATEST({now}, COALESCE((SELECT MAX(created_at) + 1 FROM password_changes \
         WHERE tenant = '{TENANT}' AND source_id = '{SOURCE}' AND account_id = {account}), {now})), \
         {now}, {now}, 0, 0);"
    ));
    line(&format!(
        "INSERT INTO credentials (tenant, source_id, account_id, phc, change_id, change_created_at, updated_at) \
         VALUES ('{TENANT}', '{SOURCE}', {account}, {phc}, {change}, \
         COALESCE((SELECT created_at FROM password_changes WHERE tenant = '{TENANT}' AND id = {change}), {now}), {now}) \
         ON CONFLICT (tenant, source_id, account_id) DO UPDATE SET \
         phc = excluded.phc, change_id = excluded.change_id, \
         change_created_at = excluded.change_created_at, updated_at = excluded.updated_at \
         WHERE credentials.change_created_at <= excluded.change_created_at;"
    ));
    line("COMMIT;");
    s
}

/// One pgbench run.
#[derive(Debug)]
pub(crate) struct Baseline<'a> {
    /// A pair's SQL, or a generate's.
    pub(crate) pairs: bool,
    /// Where the script is written.
    pub(crate) dir: &'a Path,
    /// The database (without a search path).
    pub(crate) url: &'a str,
    /// The schema first on the search path (the server's run's).
    pub(crate) schema: &'a str,
    /// Users whose state rows exist.
    pub(crate) users: usize,
    /// OAuth clients (pgbench client i as client i mod this).
    pub(crate) oauth_clients: usize,
    /// Concurrent connections.
    pub(crate) clients: usize,
    /// How long.
    pub(crate) seconds: u64,
}

impl Baseline<'_> {
    /// Runs the script; answers its transactions (operations) per second.
    ///
    /// # Errors
    /// pgbench missing, failing, or printing no `tps` line.
    pub(crate) async fn tps(&self) -> Result<f64, String> {
        let Self {
            pairs,
            dir,
            url,
            schema,
            users,
            oauth_clients,
            clients,
            seconds,
        } = *self;
        let script = dir.join(if pairs { "pair.sql" } else { "generate.sql" });
        std::fs::write(&script, self::script(pairs)).map_err(|e| format!("pgbench script: {e}"))?;
        let output = tokio::process::Command::new("pgbench")
            .env("PGOPTIONS", format!("-c search_path={schema}"))
            .args(["--no-vacuum", "-n", "-M", "prepared"])
            .arg(format!("--client={clients}"))
            .arg(format!("--jobs={}", clients.min(2)))
            .arg(format!("--time={seconds}"))
            .arg(format!("--define=users={users}"))
            .arg(format!("--define=clients={oauth_clients}"))
            .arg("--define=address=127.0.0.1")
            .arg(format!("--file={}", script.display()))
            .arg(url)
            .output()
            .await
            .map_err(|e| {
                format!("pgbench (Debian: postgresql-contrib, or the server's own): {e}")
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "pgbench failed ({}): {}{}",
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let failed = stdout
            .lines()
            .find_map(|l| l.strip_prefix("number of failed transactions: "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if failed > 0 {
            return Err(format!("pgbench: {failed} failed transactions:\n{stdout}"));
        }
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("pgbench printed no tps:\n{stdout}"))
    }
}
