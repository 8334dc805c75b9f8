-- 003: tidy facts across form versions, for consolidation and analysts.

CREATE VIEW series_facts AS
SELECT s.form, e.element, e.sex, e.age, e.violence_form, e.exploitation, e.relationship,
       e.citizenship, e.place, e.offence, e.stage, e.service, e.sanction, e.iccs,
       s.tbl, s.line, s.col, s.unit, t.oblast, t.area, s.period, s.year, s.value,
       s.submission_id, s.addr, s.source_version
FROM series_cells s
JOIN dim_element e ON e.form = s.form AND e.version = s.version AND e.tbl = s.tbl
                  AND e.line = s.line AND e.col = s.col
JOIN dim_territory t ON t.soate = s.unit;
COMMENT ON VIEW series_facts IS 'Tidy facts of every form version in the latest version''s coordinates: one series across form revisions';
