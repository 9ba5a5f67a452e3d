-- +goose Up
-- S3 export: one enrollment per bucket of an organization, with its export
-- state. cursor_seq is the events.seq of the last event uploaded (the
-- organization's ingest lock makes seq order commit order per
-- organization); next_object the sequence the next planned object takes;
-- the pending_* columns the planned object not yet confirmed uploaded
-- (pending_sequence NULL: none).

CREATE TABLE s3_enrollments (
    org_id           TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    bucket           TEXT    NOT NULL,
    role_arn         TEXT    NOT NULL,
    external_id      TEXT    NOT NULL,
    region           TEXT    NOT NULL,
    prefix           TEXT    NOT NULL,
    enrolled_at      BIGINT  NOT NULL,
    enabled          BOOLEAN NOT NULL,
    endpoint         TEXT    NOT NULL,
    access_key_id    TEXT    NOT NULL,
    secret_sealed    BYTEA,
    path_style       BOOLEAN NOT NULL,
    last_exported_at BIGINT,
    last_error       TEXT    NOT NULL DEFAULT '',
    cursor_seq       BIGINT  NOT NULL DEFAULT 0,
    next_object      BIGINT  NOT NULL DEFAULT 0,
    pending_sequence BIGINT,
    pending_key      TEXT    NOT NULL DEFAULT '',
    pending_after    BIGINT  NOT NULL DEFAULT 0,
    pending_last     BIGINT  NOT NULL DEFAULT 0,
    pending_events   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, bucket)
);

-- The exporter's "events of the organization after the cursor" and the
-- backlog count.
CREATE INDEX events_org_seq ON events (org_id, seq);

-- +goose Down
DROP INDEX events_org_seq;
DROP TABLE s3_enrollments;
