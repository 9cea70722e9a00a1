-- +goose Up
-- Rate-limit buckets and wrong answers, in the style of 00001: times are
-- INTEGER unix milliseconds, tables STRICT, every statement IF NOT EXISTS.
-- Both tables keep their rowid, which DeleteExpired sweeps by.

-- A bucket is its GCRA theoretical arrival time (tat): the bucket is full
-- again at tat, so expires_at is always tat, and a row swept after that reads
-- back as the full bucket it had become.
CREATE TABLE IF NOT EXISTS limits (
    key        TEXT    NOT NULL PRIMARY KEY,
    tat        INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS limits_expires_at ON limits (expires_at);

-- ForgiveFailures looks failures up by account; an account has only the few
-- that its rate limits let through, so the rest of its WHERE is a filter.
CREATE TABLE IF NOT EXISTS failures (
    pool_id    TEXT    NOT NULL REFERENCES pools (id),
    account    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS failures_pool_account ON failures (pool_id, account);
CREATE INDEX IF NOT EXISTS failures_expires_at ON failures (expires_at);

-- +goose Down
DROP TABLE IF EXISTS failures;
DROP TABLE IF EXISTS limits;
