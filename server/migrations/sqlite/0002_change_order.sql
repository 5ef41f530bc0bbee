-- A change is recorded after the newest change of its account (created_at at least one
-- millisecond later, whatever the recording node's clock says): this index finds that
-- newest change.
CREATE INDEX password_changes_account ON password_changes (tenant, source_id, account_id, created_at);
