-- +goose Up
-- Rate-limit buckets and wrong answers, with the conventions of 00001:
-- times are BIGINT unix milliseconds, account names COLLATE "C", plain
-- CREATE under the migration's advisory lock.

-- A bucket is its GCRA theoretical arrival time (tat): the bucket is full
-- again at tat, so expires_at is always tat, and a row swept after that reads
-- back as the full bucket it had become. Keys are COLLATE "C" so that
-- TakeTokens locks them in the byte order Go sorts them in.
CREATE TABLE limits (
    key        TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    tat        BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX limits_expires_at ON limits (expires_at);

-- ForgiveFailures looks failures up by account; an account has only the few
-- that its rate limits let through, so the rest of its WHERE is a filter.
CREATE TABLE failures (
    pool_id    TEXT   NOT NULL REFERENCES pools (id),
    account    TEXT   COLLATE "C" NOT NULL,
    session_id TEXT   NOT NULL,
    source     TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX failures_pool_account ON failures (pool_id, account);
CREATE INDEX failures_expires_at ON failures (expires_at);

-- +goose Down
DROP TABLE failures;
DROP TABLE limits;
