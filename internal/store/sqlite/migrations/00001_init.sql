-- +goose Up
-- Times are INTEGER unix milliseconds (UTC); durations are INTEGER
-- nanoseconds (time.Duration) so they round-trip exactly. Tables are STRICT so
-- a value of the wrong type is an error instead of being silently coerced.
--
-- Every statement is IF NOT EXISTS: goose has no cross-process lock for
-- SQLite, so two processes opening a fresh database at once may both run
-- this migration; the second run must then be a no-op rather than a failure.

CREATE TABLE IF NOT EXISTS pools (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    region     TEXT    NOT NULL,
    settings   TEXT    NOT NULL CHECK (json_valid(settings)),
    hash_key   BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS pools_created_at ON pools (created_at);

CREATE TABLE IF NOT EXISTS clients (
    id                   TEXT    NOT NULL PRIMARY KEY,
    pool_id              TEXT    NOT NULL REFERENCES pools (id),
    name                 TEXT    NOT NULL,
    secret               TEXT    NOT NULL,
    access_token_ttl_ns  INTEGER NOT NULL,
    id_token_ttl_ns      INTEGER NOT NULL,
    refresh_token_ttl_ns INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS clients_pool_created_at ON clients (pool_id, created_at);

CREATE TABLE IF NOT EXISTS signing_keys (
    pool_id         TEXT    NOT NULL REFERENCES pools (id),
    kid             TEXT    NOT NULL,
    algorithm       TEXT    NOT NULL,
    private_key_pem BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    retired_at      INTEGER,
    PRIMARY KEY (pool_id, kid)
) STRICT;
CREATE INDEX IF NOT EXISTS signing_keys_pool_created_at ON signing_keys (pool_id, created_at);

-- The UNIQUE (pool_id, username) index serves GetUser, CreateUser's check
-- and ListUsers' keyset pagination; the primary key serves GetUserBySub.
CREATE TABLE IF NOT EXISTS users (
    pool_id    TEXT    NOT NULL REFERENCES pools (id),
    sub        TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    attributes TEXT    NOT NULL CHECK (json_valid(attributes)),
    status     TEXT    NOT NULL,
    enabled    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (pool_id, sub),
    UNIQUE (pool_id, username)
) STRICT;

-- Sessions are found only by their current token hash (UNIQUE); the ID is
-- stable across ReplaceSession.
CREATE TABLE IF NOT EXISTS sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    pool_id      TEXT    NOT NULL REFERENCES pools (id),
    client_id    TEXT    NOT NULL,
    username     TEXT    NOT NULL,
    sub          TEXT    NOT NULL,
    decoy        INTEGER NOT NULL,
    flow         TEXT    NOT NULL,
    challenge    TEXT    NOT NULL,
    history      TEXT    NOT NULL CHECK (json_valid(history)),
    code_hash    BLOB,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    channel      TEXT    NOT NULL,
    destination  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);

-- At most one live code per (pool, username, purpose): the primary key.
CREATE TABLE IF NOT EXISTS codes (
    pool_id      TEXT    NOT NULL REFERENCES pools (id),
    username     TEXT    NOT NULL,
    purpose      TEXT    NOT NULL,
    hash         BLOB    NOT NULL,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (pool_id, username, purpose)
) STRICT;
CREATE INDEX IF NOT EXISTS codes_expires_at ON codes (expires_at);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    hash       BLOB    NOT NULL UNIQUE,
    pool_id    TEXT    NOT NULL REFERENCES pools (id),
    client_id  TEXT    NOT NULL,
    sub        TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS refresh_tokens_pool_sub ON refresh_tokens (pool_id, sub);
CREATE INDEX IF NOT EXISTS refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- +goose Down
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS codes;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS signing_keys;
DROP TABLE IF EXISTS clients;
DROP TABLE IF EXISTS pools;
