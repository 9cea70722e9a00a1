-- +goose Up
-- custom_challenge: what a sign-in whose steps a DefineAuthChallenge hook
-- decides keeps between its steps (pool.CustomChallenge as JSON: whether the
-- hooks drive it, the current challenge's challengeMetadata and its private
-- challenge parameters). '{}' is a sign-in run by the built-in flow. json,
-- not jsonb, as history (see 00001). A constant default makes this a
-- catalog change: no rewrite of the table, which stays readable throughout.

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS custom_challenge JSON NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE sessions DROP COLUMN IF EXISTS custom_challenge;
