-- 004: what a consolidation run stores besides rule_results.

CREATE TABLE completeness_results (
    year INTEGER, agency VARCHAR, form VARCHAR, unit VARCHAR, unit_name VARCHAR,
    area VARCHAR, period VARCHAR, due DATE, state VARCHAR, first_received TIMESTAMP,
    revisions INTEGER, refused_attempts INTEGER, late BOOLEAN
);
COMMENT ON TABLE completeness_results IS 'Every expected return of a consolidated year: missing, rejected, accepted (with warnings), late';
COMMENT ON COLUMN completeness_results.state IS 'missing, rejected (refused attempts only), accepted, accepted_with_warnings';
COMMENT ON COLUMN completeness_results.late IS 'First accepted revision received after the due date';

CREATE TABLE rule_agencies (rule_id VARCHAR, agency VARCHAR);
COMMENT ON TABLE rule_agencies IS 'Agencies whose forms each consolidation rule reads';

ALTER TABLE rule_results ADD COLUMN agencies VARCHAR;
COMMENT ON COLUMN rule_results.agencies IS 'Agencies whose forms the rule reads, comma-separated';
