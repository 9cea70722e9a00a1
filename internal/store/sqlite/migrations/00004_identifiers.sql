-- +goose Up
-- Identifiers: every name a user is found by. A user has one 'username' row
-- (its username) and a row per alias: each email / phone_number attribute
-- that is verified and differs from the username. The primary key makes an
-- identifier belong to at most one user of a pool; the (pool_id, sub) index
-- serves dropping a user's rows. As in 00001: STRICT, and every statement is
-- a no-op when run again, since goose has no cross-process lock for SQLite
-- and two processes opening the file at once may both run this migration.

CREATE TABLE IF NOT EXISTS identifiers (
    pool_id    TEXT NOT NULL REFERENCES pools (id),
    identifier TEXT NOT NULL,
    sub        TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('username', 'email', 'phone_number')),
    PRIMARY KEY (pool_id, identifier)
) STRICT;
CREATE INDEX IF NOT EXISTS identifiers_pool_sub ON identifiers (pool_id, sub);

-- Backfill. Usernames first, so an existing alias never takes a name that
-- is some user's username; then aliases, oldest user first, each skipped
-- when the identifier is already held. (WHERE is required before ON
-- CONFLICT, which SQLite would otherwise read as a join constraint.)
INSERT INTO identifiers (pool_id, identifier, sub, kind)
SELECT pool_id, username, sub, 'username' FROM users WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO identifiers (pool_id, identifier, sub, kind)
SELECT pool_id, json_extract(attributes, '$.email'), sub, 'email' FROM users
WHERE json_extract(attributes, '$.email_verified') = 'true'
  AND json_type(attributes, '$.email') = 'text'
  AND json_extract(attributes, '$.email') NOT IN ('', username)
ORDER BY created_at, sub
ON CONFLICT DO NOTHING;

INSERT INTO identifiers (pool_id, identifier, sub, kind)
SELECT pool_id, json_extract(attributes, '$.phone_number'), sub, 'phone_number' FROM users
WHERE json_extract(attributes, '$.phone_number_verified') = 'true'
  AND json_type(attributes, '$.phone_number') = 'text'
  AND json_extract(attributes, '$.phone_number') NOT IN ('', username)
ORDER BY created_at, sub
ON CONFLICT DO NOTHING;

-- +goose Down
DROP TABLE IF EXISTS identifiers;
