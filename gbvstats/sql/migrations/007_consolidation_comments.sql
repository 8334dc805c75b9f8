-- 007: meanings of the consolidation tables' columns, for the data dictionary.

COMMENT ON COLUMN completeness_results.year IS 'Consolidated year';
COMMENT ON COLUMN completeness_results.agency IS 'Agency that owes the return';
COMMENT ON COLUMN completeness_results.form IS 'Form code';
COMMENT ON COLUMN completeness_results.unit IS 'Reporting unit expected to report (SOATE)';
COMMENT ON COLUMN completeness_results.unit_name IS 'Name of the reporting unit (English)';
COMMENT ON COLUMN completeness_results.area IS 'SDMX area code of the unit''s oblast-level unit';
COMMENT ON COLUMN completeness_results.period IS 'Reporting period expected';
COMMENT ON COLUMN completeness_results.due IS 'Due date: end of the period plus the days in schemas/reporting.yaml';
COMMENT ON COLUMN completeness_results.first_received IS 'When the first accepted revision arrived';
COMMENT ON COLUMN completeness_results.revisions IS 'Accepted revisions received';
COMMENT ON COLUMN completeness_results.refused_attempts IS 'Attempts refused (errors or another agency''s form)';
COMMENT ON COLUMN rule_agencies.rule_id IS 'Consolidation rule';
COMMENT ON COLUMN rule_agencies.agency IS 'An agency whose form the rule reads';
