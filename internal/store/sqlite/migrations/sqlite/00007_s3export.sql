-- +goose Up
-- S3 export: one enrollment per bucket of an organization, with its export
-- state. cursor_seq is the rowid of the last event uploaded (rowids are
-- the events' arrival order: one writer assigns them in commit order);
-- next_object the sequence the next planned object takes; the pending_*
-- columns the planned object not yet confirmed uploaded (pending_sequence
-- NULL: none).

CREATE TABLE s3_enrollments (
    org_id           TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    bucket           TEXT    NOT NULL,
    role_arn         TEXT    NOT NULL,
    external_id      TEXT    NOT NULL,
    region           TEXT    NOT NULL,
    prefix           TEXT    NOT NULL,
    enrolled_at      INTEGER NOT NULL,
    enabled          INTEGER NOT NULL,
    endpoint         TEXT    NOT NULL,
    access_key_id    TEXT    NOT NULL,
    secret_sealed    BLOB,
    path_style       INTEGER NOT NULL,
    last_exported_at INTEGER,
    last_error       TEXT    NOT NULL DEFAULT '',
    cursor_seq       INTEGER NOT NULL DEFAULT 0,
    next_object      INTEGER NOT NULL DEFAULT 0,
    pending_sequence INTEGER,
    pending_key      TEXT    NOT NULL DEFAULT '',
    pending_after    INTEGER NOT NULL DEFAULT 0,
    pending_last     INTEGER NOT NULL DEFAULT 0,
    pending_events   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, bucket)
) STRICT, WITHOUT ROWID;

-- An index ends with the rowid: (org_id, rowid) order, for the exporter's
-- "events of the organization after the cursor" and the backlog count.
CREATE INDEX events_org_seq ON events (org_id);

-- +goose Down
DROP INDEX events_org_seq;
DROP TABLE s3_enrollments;
