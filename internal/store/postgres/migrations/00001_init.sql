-- +goose Up
-- The same logical schema as the SQLite store's, so both backends behave
-- alike:
--   - Times are BIGINT unix milliseconds (UTC): exactly the precision the
--     store promises, with no time zone or rounding rules to get wrong.
--   - Durations are BIGINT nanoseconds (time.Duration), exact.
--   - Hashes and keys are BYTEA.
--   - Settings, attributes and history are json, not jsonb: json keeps the
--     text as written after checking its syntax, like SQLite's json_valid,
--     and accepts every string encoding/json produces (jsonb rejects \u0000).
--   - Usernames are COLLATE "C", so ListUsers orders and pages byte by byte,
--     as SQLite and Go do, whatever the database's default collation.
--   - pools, clients and signing_keys have a seq column standing in for
--     SQLite's rowid: the insertion-order tie-break of "oldest first" lists.
--
-- Open holds a session advisory lock while migrating, so plain CREATE is
-- safe with many nodes starting at once, and a clash with tables that are
-- not ours fails loudly instead of being skipped by IF NOT EXISTS.

CREATE TABLE pools (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL,
    region     TEXT   NOT NULL,
    settings   JSON   NOT NULL,
    hash_key   BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX pools_created_at ON pools (created_at, seq);

CREATE TABLE clients (
    id                   TEXT   NOT NULL PRIMARY KEY,
    pool_id              TEXT   NOT NULL REFERENCES pools (id),
    name                 TEXT   NOT NULL,
    secret               TEXT   NOT NULL,
    access_token_ttl_ns  BIGINT NOT NULL,
    id_token_ttl_ns      BIGINT NOT NULL,
    refresh_token_ttl_ns BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX clients_pool_created_at ON clients (pool_id, created_at, seq);

CREATE TABLE signing_keys (
    pool_id         TEXT   NOT NULL REFERENCES pools (id),
    kid             TEXT   NOT NULL,
    algorithm       TEXT   NOT NULL,
    private_key_pem BYTEA  NOT NULL,
    created_at      BIGINT NOT NULL,
    retired_at      BIGINT,
    seq             BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (pool_id, kid)
);
CREATE INDEX signing_keys_pool_created_at ON signing_keys (pool_id, created_at, seq);

-- The UNIQUE (pool_id, username) index serves GetUser, CreateUser's
-- ON CONFLICT and ListUsers' keyset pagination; the primary key serves
-- GetUserBySub.
CREATE TABLE users (
    pool_id    TEXT    NOT NULL REFERENCES pools (id),
    sub        TEXT    NOT NULL,
    username   TEXT    COLLATE "C" NOT NULL,
    attributes JSON    NOT NULL,
    status     TEXT    NOT NULL,
    enabled    BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (pool_id, sub),
    UNIQUE (pool_id, username)
);

-- Sessions are found only by their current token hash (UNIQUE); the ID is
-- stable across ReplaceSession.
CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    token_hash   BYTEA   NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    pool_id      TEXT    NOT NULL REFERENCES pools (id),
    client_id    TEXT    NOT NULL,
    username     TEXT    COLLATE "C" NOT NULL,
    sub          TEXT    NOT NULL,
    decoy        BOOLEAN NOT NULL,
    flow         TEXT    NOT NULL,
    challenge    TEXT    NOT NULL,
    history      JSON    NOT NULL,
    code_hash    BYTEA,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    channel      TEXT    NOT NULL,
    destination  TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- At most one live code per (pool, username, purpose): the primary key.
CREATE TABLE codes (
    pool_id      TEXT    NOT NULL REFERENCES pools (id),
    username     TEXT    COLLATE "C" NOT NULL,
    purpose      TEXT    NOT NULL,
    hash         BYTEA   NOT NULL,
    attempts     INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    PRIMARY KEY (pool_id, username, purpose)
);
CREATE INDEX codes_expires_at ON codes (expires_at);

CREATE TABLE refresh_tokens (
    id         TEXT   NOT NULL PRIMARY KEY,
    hash       BYTEA  NOT NULL UNIQUE,
    pool_id    TEXT   NOT NULL REFERENCES pools (id),
    client_id  TEXT   NOT NULL,
    sub        TEXT   NOT NULL,
    username   TEXT   COLLATE "C" NOT NULL,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_pool_sub ON refresh_tokens (pool_id, sub);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE codes;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE signing_keys;
DROP TABLE clients;
DROP TABLE pools;
