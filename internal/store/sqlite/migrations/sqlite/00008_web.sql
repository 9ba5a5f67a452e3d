-- +goose Up
-- Web console sign-in: an argon2id password hash per user (NULL: the user
-- cannot sign in to the console) and server-side sessions, stored by the
-- SHA-256 of the cookie's id so that a copy of the database holds no live
-- session. org_id is NULL until the org picker ran.

ALTER TABLE users ADD COLUMN password_hash TEXT;

CREATE TABLE web_sessions (
    id_hash      BLOB    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id       TEXT    REFERENCES organizations (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Serve the foreign keys (deleting a user or an organization), ending a
-- user's sessions on a password change, and the expiry sweep.
CREATE INDEX web_sessions_user ON web_sessions (user_id);
CREATE INDEX web_sessions_org ON web_sessions (org_id);
CREATE INDEX web_sessions_last_seen ON web_sessions (last_seen_at);
CREATE INDEX web_sessions_created ON web_sessions (created_at);

-- +goose Down
DROP TABLE web_sessions;
ALTER TABLE users DROP COLUMN password_hash;
