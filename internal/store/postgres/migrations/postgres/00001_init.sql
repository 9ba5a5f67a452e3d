-- +goose Up
-- The PostgreSQL schema mirrors the SQLite one table for table, so that both
-- stores pass one conformance suite with the same code shape. Timestamps are
-- BIGINT epoch milliseconds UTC (the precision of the wire); JSON columns are
-- TEXT, written and read whole by the store, so they come back byte for byte.

CREATE TABLE organizations (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id                    TEXT    NOT NULL PRIMARY KEY,
    -- Unique case-insensitively (users_email below); lookups compare lower().
    email                 TEXT    NOT NULL,
    display_name          TEXT    NOT NULL,
    enabled               BOOLEAN NOT NULL,
    sso_enabled           BOOLEAN NOT NULL,
    mfa_enabled           BOOLEAN NOT NULL,
    created_at            BIGINT NOT NULL,
    last_authenticated_at BIGINT,
    api_key_sealed        BYTEA
);

CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE memberships (
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'user', 'reader')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

-- Serves the foreign key (deleting a user) and "which orgs is this user in".
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invites (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('owner', 'user', 'reader')),
    status     TEXT    NOT NULL,
    invited_by TEXT    NOT NULL,
    token_hash BYTEA    NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- At most one pending invite per (org, email); CreateInvite deletes the old
-- one first, so this only guards against a second writer racing it.
CREATE UNIQUE INDEX invites_pending_email ON invites (org_id, lower(email)) WHERE status = 'pending';
CREATE INDEX invites_pending_token ON invites (token_hash) WHERE status = 'pending';

-- The log is append-mostly: the only index grows at its per-org end,
-- instead of a random UUID key whose index would dirty a random page per
-- record.
CREATE TABLE audit_records (
    id          TEXT    NOT NULL,
    org_id      TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL,
    user_email  TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    crud        TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    description TEXT    NOT NULL,
    event_time  BIGINT NOT NULL,
    context     TEXT
);

-- Keyset pagination newest first inside one organization. UNIQUE makes a
-- re-sent record (same org, time and id) a conflict rather than a duplicate.
CREATE UNIQUE INDEX audit_records_org_time ON audit_records (org_id, event_time DESC, id DESC);

-- +goose Down
DROP TABLE audit_records;
DROP TABLE invites;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE organizations;
