-- +goose Up
-- The rule engine's windows, written in the transaction that stores the
-- events which changed them, so that detection resumes exactly after a
-- crash. The state is read whole when an organization's engine starts, so
-- it is one JSON column; window_end serves that load and the cleanup.

CREATE TABLE alert_windows (
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    agg_key    TEXT    NOT NULL,
    window_end BIGINT NOT NULL,
    state      TEXT    NOT NULL,
    PRIMARY KEY (org_id, agg_key)
);

CREATE INDEX alert_windows_end ON alert_windows (window_end);

-- +goose Down
DROP TABLE alert_windows;
