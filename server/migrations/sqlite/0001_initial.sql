-- Opaque values the crate encodes (per-user digit-token state, limiters, org config),
-- written only by compare-and-set.
CREATE TABLE state (
    tenant TEXT NOT NULL,
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  BLOB NOT NULL,
    PRIMARY KEY (tenant, kind, key)
) WITHOUT ROWID;

-- Password changes: recorded IN_PROGRESS with the Argon2id hash to apply (never a
-- plaintext), claimed by compare-and-set on lease_version, settled FINISHED or FAILED.
CREATE TABLE password_changes (
    tenant        TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    identity_id   TEXT    NOT NULL,
    source_id     TEXT    NOT NULL,
    account_id    TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('IN_PROGRESS', 'FINISHED', 'FAILED')),
    errors        TEXT    NOT NULL DEFAULT '[]',
    pending_hash  TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    lease_until   INTEGER NOT NULL,
    lease_version INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX password_changes_due ON password_changes (lease_until) WHERE state = 'IN_PROGRESS';

-- The reference sink: one Argon2id PHC string per account.
CREATE TABLE credentials (
    tenant            TEXT    NOT NULL,
    source_id         TEXT    NOT NULL,
    account_id        TEXT    NOT NULL,
    phc               TEXT    NOT NULL,
    change_id         TEXT    NOT NULL,
    change_created_at INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (tenant, source_id, account_id)
);

-- The imported directory, one JSON document per tenant.
CREATE TABLE directory_tenants (
    tenant      TEXT    NOT NULL PRIMARY KEY,
    document    TEXT    NOT NULL,
    imported_at INTEGER NOT NULL
);
