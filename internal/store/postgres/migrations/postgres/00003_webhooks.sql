-- +goose Up
-- Alert webhooks and their durable delivery outbox. A webhook keeps the
-- outcome of its latest attempt so that its GET needs no join.

CREATE TABLE webhooks (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url           TEXT    NOT NULL,
    secret_sealed BYTEA    NOT NULL,
    created_at    BIGINT NOT NULL,
    last_state    TEXT,
    last_status   BIGINT,
    last_at       BIGINT,
    last_error    TEXT
);

CREATE INDEX webhooks_org ON webhooks (org_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id          TEXT    NOT NULL PRIMARY KEY,
    webhook_id  TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    org_id      TEXT    NOT NULL,
    body        BYTEA    NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'abandoned')),
    next_at     BIGINT NOT NULL,
    last_status BIGINT,
    last_error  TEXT,
    created_at  BIGINT NOT NULL
);

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id);
-- Only pending deliveries are ever polled, so only they are indexed.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
