-- +goose Up
-- Vulnerability management: package inventories, the (global) advisory
-- database, the matches between them, suppressions, and imported EC2
-- instances. Data only ever read whole (package lists, advisories, EC2
-- instances) is one JSON column; what is joined on has index tables.

CREATE TABLE inventories (
    org_id       TEXT    NOT NULL,
    agent_id     TEXT    NOT NULL,
    ecosystem    TEXT    NOT NULL,
    distro       TEXT    NOT NULL,
    release      TEXT    NOT NULL,
    -- Hash of the snapshot, so that an unchanged one is recognized
    -- without decoding the stored package list.
    content_hash BYTEA    NOT NULL,
    packages     TEXT    NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, agent_id),
    FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id) ON DELETE CASCADE
);

-- The names advisories are keyed by (the source package for deb), one row
-- per distinct name of an inventory: AgentsAffectedBy joins on them.
CREATE TABLE inventory_packages (
    org_id    TEXT NOT NULL,
    agent_id  TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    distro    TEXT NOT NULL,
    release   TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (org_id, agent_id, name),
    FOREIGN KEY (org_id, agent_id) REFERENCES inventories (org_id, agent_id) ON DELETE CASCADE
);

CREATE INDEX inventory_packages_key ON inventory_packages (ecosystem, distro, name, release, org_id, agent_id);

-- Advisories are shared by every organization.
CREATE TABLE advisories (
    id           TEXT    NOT NULL PRIMARY KEY,
    modified     BIGINT NOT NULL,
    content_hash BYTEA    NOT NULL,
    body         TEXT    NOT NULL
);

-- One row per affected entry; release '' covers every release of distro.
-- The store replaces an advisory's rows itself (advisories are never
-- deleted), so they carry no foreign key that every import row would check.
CREATE TABLE advisory_packages (
    ecosystem   TEXT NOT NULL,
    distro      TEXT NOT NULL,
    release     TEXT NOT NULL,
    name        TEXT NOT NULL,
    advisory_id TEXT NOT NULL,
    -- The entry's ranges and versions in a compact text form (see
    -- encodeRanges), read by the first matching pass without decoding the
    -- advisory's JSON.
    ranges      TEXT NOT NULL,
    versions    TEXT NOT NULL,
    PRIMARY KEY (ecosystem, distro, name, release, advisory_id)
);

-- The advisory database's generation, bumped by every import that changed
-- something: a process caching the package index (AffectedFor) rebuilds
-- its copy when the generation moved, also after another process (aipd
-- admin vulndb import) imported.
CREATE TABLE vulndb_state (
    id         BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO vulndb_state (id, generation) VALUES (1, 0);

-- Replacing an advisory's rows, and AgentsAffectedBy.
CREATE INDEX advisory_packages_advisory ON advisory_packages (advisory_id);

CREATE TABLE vuln_matches (
    org_id           TEXT    NOT NULL,
    agent_id         TEXT    NOT NULL,
    cve              TEXT    NOT NULL,
    system_package   TEXT    NOT NULL,
    package          TEXT    NOT NULL,
    reported_package TEXT    NOT NULL,
    advisory_id      TEXT    NOT NULL,
    severity         TEXT    NOT NULL,
    vector_type      TEXT    NOT NULL,
    notices          TEXT    NOT NULL,
    first_seen_at    BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    resolved_at      BIGINT,
    PRIMARY KEY (org_id, agent_id, cve, system_package),
    FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id) ON DELETE CASCADE
);

-- Listings are ordered by (cve, system_package) inside one organization.
CREATE INDEX vuln_matches_cve ON vuln_matches (org_id, cve, system_package, agent_id);
-- AgentsAffectedBy: the agents an advisory matched, which must be
-- re-matched when it changes even if it no longer names their package.
CREATE INDEX vuln_matches_advisory ON vuln_matches (advisory_id) WHERE resolved_at IS NULL;

CREATE TABLE vuln_suppressions (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    cve        TEXT    NOT NULL,
    package    TEXT,
    agent_id   TEXT,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);

CREATE INDEX vuln_suppressions_cve ON vuln_suppressions (org_id, cve);
CREATE INDEX vuln_suppressions_created ON vuln_suppressions (org_id, created_at DESC, id DESC);

CREATE TABLE ec2_instances (
    org_id     TEXT    NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- +goose Down
DROP TABLE ec2_instances;
DROP TABLE vuln_suppressions;
DROP TABLE vuln_matches;
DROP TABLE advisory_packages;
DROP TABLE vulndb_state;
DROP TABLE advisories;
DROP TABLE inventory_packages;
DROP TABLE inventories;
