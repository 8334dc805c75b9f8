-- 008: two more dimensions of the cells, for the NSC's breakdowns of family-violence
-- victims (SDG 5.2 national series): level of education (ISCED 2011) and economic
-- activity status; the tidy views carry them.

ALTER TABLE dim_element ADD COLUMN education VARCHAR;
ALTER TABLE dim_element ADD COLUMN activity VARCHAR;
COMMENT ON COLUMN dim_element.education IS 'Level of education of the victim (ISCED 2011 code as in the SDG data structure, _O other or none, _U not recorded)';
COMMENT ON COLUMN dim_element.sex IS 'SDMX sex code of the cell (F, M, _U not recorded, _T total)';
COMMENT ON COLUMN dim_element.age IS 'SDMX-style age group of the cell (Y0T17, Y18T999, Y0T20, Y_GE51, ...; _U not recorded, _T all ages)';
COMMENT ON COLUMN dim_element.activity IS 'Economic activity status of the victim (EMP working, NEMP not working, STU pupils and students, RET retired, _O other, _U not recorded)';

CREATE OR REPLACE VIEW facts AS
SELECT c.form, c.version, e.element, e.sex, e.age, e.violence_form, e.exploitation,
       e.relationship, e.citizenship, e.place, e.offence, e.stage, e.service, e.sanction,
       e.education, e.activity,
       c.unit, t.oblast, t.area, c.period, c.year, c.value, c.submission_id
FROM current_cells c
JOIN dim_element e USING (form, version, tbl, line, col)
JOIN dim_territory t ON t.soate = c.unit;
COMMENT ON VIEW facts IS 'Tidy facts: element and dimensions, territory, period, value (current revisions)';

CREATE OR REPLACE VIEW series_facts AS
SELECT s.form, e.element, e.sex, e.age, e.violence_form, e.exploitation, e.relationship,
       e.citizenship, e.place, e.offence, e.stage, e.service, e.sanction, e.iccs,
       e.education, e.activity,
       s.tbl, s.line, s.col, s.unit, t.oblast, t.area, s.period, s.year, s.value,
       s.submission_id, s.addr, s.source_version
FROM series_cells s
JOIN dim_element e ON e.form = s.form AND e.version = s.version AND e.tbl = s.tbl
                  AND e.line = s.line AND e.col = s.col
JOIN dim_territory t ON t.soate = s.unit;
COMMENT ON VIEW series_facts IS 'Tidy facts of every form version in the latest version''s coordinates: one series across form revisions';
COMMENT ON COLUMN series_facts.source_version IS 'Version of the form the value was reported on (before mapping to the latest version)';
