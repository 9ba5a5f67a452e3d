-- +goose Up
-- Per organization, what a node caching evaluation state must compare with
-- to know its cache is current: generation counts committed evaluations
-- (any node), rules_generation moves with every change of a rule or ruleset
-- (kept by the trigger below, so that no store method can forget it).

CREATE TABLE eval_state (
    org_id           TEXT   NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    generation       BIGINT NOT NULL DEFAULT 0,
    rules_generation BIGINT NOT NULL DEFAULT 0
);

-- +goose StatementBegin
CREATE FUNCTION bump_rules_generation() RETURNS trigger AS $$
DECLARE
    org TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        org := OLD.org_id;
    ELSE
        org := NEW.org_id;
    END IF;
    -- EXISTS: quiet while an organization is deleted with its rules.
    INSERT INTO eval_state (org_id, rules_generation)
    SELECT org, 1 WHERE EXISTS (SELECT 1 FROM organizations WHERE id = org)
    ON CONFLICT (org_id) DO UPDATE SET rules_generation = eval_state.rules_generation + 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE ON rules
    FOR EACH ROW EXECUTE FUNCTION bump_rules_generation();
CREATE TRIGGER rulesets_changed AFTER UPDATE OR DELETE ON rulesets
    FOR EACH ROW EXECUTE FUNCTION bump_rules_generation();

-- +goose Down
DROP TRIGGER rulesets_changed ON rulesets;
DROP TRIGGER rules_changed ON rules;
DROP FUNCTION bump_rules_generation();
DROP TABLE eval_state;
