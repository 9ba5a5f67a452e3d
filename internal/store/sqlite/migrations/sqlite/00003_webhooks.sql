-- +goose Up
-- Alert webhooks and their durable delivery outbox. A webhook keeps the
-- outcome of its latest attempt so that its GET needs no join.

CREATE TABLE webhooks (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url           TEXT    NOT NULL,
    secret_sealed BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_state    TEXT,
    last_status   INTEGER,
    last_at       INTEGER,
    last_error    TEXT
) STRICT;

CREATE INDEX webhooks_org ON webhooks (org_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id          TEXT    NOT NULL PRIMARY KEY,
    webhook_id  TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    org_id      TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'abandoned')),
    next_at     INTEGER NOT NULL,
    last_status INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id);
-- Only pending deliveries are ever polled, so only they are indexed.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
