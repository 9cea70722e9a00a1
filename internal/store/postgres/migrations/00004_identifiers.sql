-- +goose Up
-- Identifiers: every name a user is found by. A user has one 'username' row
-- (its username) and a row per alias: each email / phone_number attribute
-- that is verified and differs from the username. The primary key makes an
-- identifier belong to at most one user of a pool, and is what concurrent
-- claimants of one identifier serialise on; the (pool_id, sub) index serves
-- dropping a user's rows. Identifiers are COLLATE "C" like usernames. Plain
-- CREATE under the migration's advisory lock, as in 00001.

CREATE TABLE identifiers (
    pool_id    TEXT NOT NULL REFERENCES pools (id),
    identifier TEXT COLLATE "C" NOT NULL,
    sub        TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('username', 'email', 'phone_number')),
    PRIMARY KEY (pool_id, identifier)
);
CREATE INDEX identifiers_pool_sub ON identifiers (pool_id, sub);

-- Backfill. Usernames first (unique already), so an existing alias never
-- takes a name that is some user's username; then aliases, oldest user
-- first, each skipped when the identifier is already held.
INSERT INTO identifiers (pool_id, identifier, sub, kind)
SELECT pool_id, username, sub, 'username' FROM users;

INSERT INTO identifiers (pool_id, identifier, sub, kind)
SELECT pool_id, attributes ->> 'email', sub, 'email' FROM users
WHERE attributes ->> 'email_verified' = 'true'
  AND json_typeof(attributes -> 'email') = 'string'
  AND attributes ->> 'email' NOT IN ('', username)
ORDER BY created_at, sub
ON CONFLICT DO NOTHING;

INSERT INTO identifiers (pool_id, identifier, sub, kind)
SELECT pool_id, attributes ->> 'phone_number', sub, 'phone_number' FROM users
WHERE attributes ->> 'phone_number_verified' = 'true'
  AND json_typeof(attributes -> 'phone_number') = 'string'
  AND attributes ->> 'phone_number' NOT IN ('', username)
ORDER BY created_at, sub
ON CONFLICT DO NOTHING;

-- +goose Down
DROP TABLE identifiers;
