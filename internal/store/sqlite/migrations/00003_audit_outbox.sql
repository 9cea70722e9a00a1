-- +goose Up
-- The audit trail and the outbox of code messages. As in 00001: times are
-- INTEGER unix milliseconds (UTC), tables are STRICT, and every statement is
-- IF NOT EXISTS so that two processes migrating a fresh file at once both
-- succeed.

-- AUTOINCREMENT, not a bare rowid alias: SQLite would otherwise hand out
-- max(id)+1 again once the newest events were swept, and a reader paging
-- with AfterID would skip the reused IDs. The id is still the rowid, which
-- the sweeper deletes by. No foreign key to pools: the trail is a record of
-- what happened and outlives whatever it names.
CREATE TABLE IF NOT EXISTS audit_events (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    pool_id    TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    sub        TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    source_ip  TEXT    NOT NULL,
    detail     TEXT    NOT NULL CHECK (json_valid(detail)),
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_events_pool_id ON audit_events (pool_id, id);
CREATE INDEX IF NOT EXISTS audit_events_pool_username_id ON audit_events (pool_id, username, id);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
-- The trail is the one table that grows large, so the sweeper needs an
-- index to find expired events without a full scan; retention varies by
-- pool, so at does not serve.
CREATE INDEX IF NOT EXISTS audit_events_expires_at ON audit_events (expires_at);

-- Messages are deleted once delivered, so the outbox stays small and the
-- sweeper's scan of it is cheap without an expires_at index.
CREATE TABLE IF NOT EXISTS outbox (
    id          TEXT    NOT NULL PRIMARY KEY,
    pool_id     TEXT    NOT NULL REFERENCES pools (id),
    channel     TEXT    NOT NULL,
    destination TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    decoy       INTEGER NOT NULL,
    sealed      BLOB    NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    not_before  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_not_before ON outbox (not_before);

-- +goose Down
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS audit_events;
