-- +goose Up
-- custom_challenge: what a sign-in whose steps a DefineAuthChallenge hook
-- decides keeps between its steps (pool.CustomChallenge as JSON: whether the
-- hooks drive it, the current challenge's challengeMetadata and its private
-- challenge parameters). '{}' is a sign-in run by the built-in flow.
--
-- SQLite has no ADD COLUMN IF NOT EXISTS, and goose has no cross-process
-- lock for SQLite: two processes opening the file at once may both run this
-- migration (see 00001), and a plain ALTER TABLE ADD COLUMN would fail the
-- second. So the table is rebuilt, which is the same whether or not the
-- column exists yet: copy the columns of 00001 into a new table, drop the
-- old one, rename. Sessions live minutes, so the table is small. A second
-- run resets custom_challenge of the sessions started in between to '{}'
-- (such a hooked sign-in then fails its next answer and is started again);
-- nothing else changes.

CREATE TABLE IF NOT EXISTS sessions_00005 (
    id               TEXT    NOT NULL PRIMARY KEY,
    token_hash       BLOB    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    pool_id          TEXT    NOT NULL REFERENCES pools (id),
    client_id        TEXT    NOT NULL,
    username         TEXT    NOT NULL,
    sub              TEXT    NOT NULL,
    decoy            INTEGER NOT NULL,
    flow             TEXT    NOT NULL,
    challenge        TEXT    NOT NULL,
    history          TEXT    NOT NULL CHECK (json_valid(history)),
    code_hash        BLOB,
    attempts         INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    channel          TEXT    NOT NULL,
    destination      TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    custom_challenge TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(custom_challenge))
) STRICT;

INSERT INTO sessions_00005 (id, token_hash, kind, pool_id, client_id, username, sub, decoy, flow,
    challenge, history, code_hash, attempts, max_attempts, channel, destination, created_at, expires_at)
SELECT id, token_hash, kind, pool_id, client_id, username, sub, decoy, flow,
    challenge, history, code_hash, attempts, max_attempts, channel, destination, created_at, expires_at
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_00005 RENAME TO sessions;
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);

-- +goose Down
ALTER TABLE sessions DROP COLUMN custom_challenge;
