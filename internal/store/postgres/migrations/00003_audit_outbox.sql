-- +goose Up
-- The audit trail and the outbox of code messages, with the same columns
-- and encodings as the SQLite store's (see 00001): BIGINT unix
-- milliseconds, json rather than jsonb, usernames COLLATE "C".

-- No foreign key to pools: the trail is a record of what happened and
-- outlives whatever it names.
CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pool_id    TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    type       TEXT   NOT NULL,
    username   TEXT   COLLATE "C" NOT NULL,
    sub        TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    source_ip  TEXT   NOT NULL,
    detail     JSON   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX audit_events_pool_id ON audit_events (pool_id, id);
CREATE INDEX audit_events_pool_username_id ON audit_events (pool_id, username, id);
CREATE INDEX audit_events_at ON audit_events (at);
-- The trail is the one table that grows large, so the sweeper needs an
-- index to find expired events without a full scan; retention varies by
-- pool, so at does not serve.
CREATE INDEX audit_events_expires_at ON audit_events (expires_at);

-- Messages are deleted once delivered, so the outbox stays small and the
-- sweeper's scan of it is cheap without an expires_at index.
-- The id is COLLATE "C" because it breaks ties in "oldest first", which
-- must order byte by byte as SQLite and Go do.
CREATE TABLE outbox (
    id          TEXT    COLLATE "C" NOT NULL PRIMARY KEY,
    pool_id     TEXT    NOT NULL REFERENCES pools (id),
    channel     TEXT    NOT NULL,
    destination TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    decoy       BOOLEAN NOT NULL,
    sealed      BYTEA   NOT NULL,
    attempts    INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    not_before  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX outbox_not_before ON outbox (not_before);

-- +goose Down
DROP TABLE outbox;
DROP TABLE audit_events;
