-- +goose Up
-- Timestamps are INTEGER epoch milliseconds UTC. Tables are STRICT so a
-- wrongly typed bind fails loudly instead of being stored as text.

CREATE TABLE organizations (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id                    TEXT    NOT NULL PRIMARY KEY,
    email                 TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    display_name          TEXT    NOT NULL,
    enabled               INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    sso_enabled           INTEGER NOT NULL CHECK (sso_enabled IN (0, 1)),
    mfa_enabled           INTEGER NOT NULL CHECK (mfa_enabled IN (0, 1)),
    created_at            INTEGER NOT NULL,
    last_authenticated_at INTEGER,
    api_key_sealed        BLOB
) STRICT;

CREATE TABLE memberships (
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'user', 'reader')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
) STRICT, WITHOUT ROWID;

-- Serves the foreign key (deleting a user) and "which orgs is this user in".
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invites (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL COLLATE NOCASE,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'user', 'reader')),
    status     TEXT    NOT NULL,
    invited_by TEXT    NOT NULL,
    token_hash BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

-- At most one pending invite per (org, email); CreateInvite deletes the old
-- one first, so this only guards against a second writer racing it.
CREATE UNIQUE INDEX invites_pending_email ON invites (org_id, email) WHERE status = 'pending';
CREATE INDEX invites_pending_token ON invites (token_hash) WHERE status = 'pending';

-- The log is append-mostly: rows go in rowid (arrival) order and the only
-- other index grows at its per-org end, instead of a random UUID key whose
-- index would dirty a random page per record (3x slower batches).
CREATE TABLE audit_records (
    id          TEXT    NOT NULL,
    org_id      TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL,
    user_email  TEXT    NOT NULL COLLATE NOCASE,
    result      TEXT    NOT NULL,
    crud        TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    description TEXT    NOT NULL,
    event_time  INTEGER NOT NULL,
    context     TEXT CHECK (context IS NULL OR json_valid(context))
) STRICT;

-- Keyset pagination newest first inside one organization. UNIQUE makes a
-- re-sent record (same org, time and id) a conflict rather than a duplicate.
CREATE UNIQUE INDEX audit_records_org_time ON audit_records (org_id, event_time DESC, id DESC);

-- +goose Down
DROP TABLE audit_records;
DROP TABLE invites;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE organizations;
