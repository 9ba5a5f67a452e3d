-- +goose Up
-- Per organization, what a node caching evaluation state must compare with
-- to know its cache is current: generation counts committed evaluations
-- (any process, any node), rules_generation moves with every change of a
-- rule or ruleset (kept by the triggers below, so that no store method can
-- forget it). The EXISTS keeps the triggers quiet while an organization
-- is being deleted and its rules go with it.

CREATE TABLE eval_state (
    org_id           TEXT    NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    generation       INTEGER NOT NULL DEFAULT 0,
    rules_generation INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER rules_changed_insert AFTER INSERT ON rules BEGIN
    INSERT INTO eval_state (org_id, rules_generation)
    SELECT NEW.org_id, 1 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = NEW.org_id)
    ON CONFLICT (org_id) DO UPDATE SET rules_generation = rules_generation + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rules_changed_update AFTER UPDATE ON rules BEGIN
    INSERT INTO eval_state (org_id, rules_generation)
    SELECT NEW.org_id, 1 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = NEW.org_id)
    ON CONFLICT (org_id) DO UPDATE SET rules_generation = rules_generation + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rules_changed_delete AFTER DELETE ON rules BEGIN
    INSERT INTO eval_state (org_id, rules_generation)
    SELECT OLD.org_id, 1 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = OLD.org_id)
    ON CONFLICT (org_id) DO UPDATE SET rules_generation = rules_generation + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rulesets_changed_update AFTER UPDATE ON rulesets BEGIN
    INSERT INTO eval_state (org_id, rules_generation)
    SELECT NEW.org_id, 1 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = NEW.org_id)
    ON CONFLICT (org_id) DO UPDATE SET rules_generation = rules_generation + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rulesets_changed_delete AFTER DELETE ON rulesets BEGIN
    INSERT INTO eval_state (org_id, rules_generation)
    SELECT OLD.org_id, 1 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = OLD.org_id)
    ON CONFLICT (org_id) DO UPDATE SET rules_generation = rules_generation + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER rulesets_changed_delete;
DROP TRIGGER rulesets_changed_update;
DROP TRIGGER rules_changed_delete;
DROP TRIGGER rules_changed_update;
DROP TRIGGER rules_changed_insert;
DROP TABLE eval_state;
