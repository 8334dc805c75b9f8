-- 002: analyst views over the base tables.

CREATE VIEW current_submissions AS
SELECT * EXCLUDE (rn) FROM (
    SELECT s.*, row_number() OVER (PARTITION BY form, unit, period
                                   ORDER BY revision DESC) AS rn
    FROM submissions s
) WHERE rn = 1;
COMMENT ON VIEW current_submissions IS 'The latest accepted revision of every form, unit and period';

CREATE VIEW current_cells AS
SELECT s.submission_id, s.form, s.version, s.agency, s.unit, s.period, s.year,
       c.tbl, c.line, c.col, c.value, c.sheet, c.addr
FROM current_submissions s JOIN cells c USING (submission_id);
COMMENT ON VIEW current_cells IS 'The current value of every cell: latest accepted revision per form, unit and period';

CREATE VIEW facts AS
SELECT c.form, c.version, e.element, e.sex, e.age, e.violence_form, e.exploitation,
       e.relationship, e.citizenship, e.place, e.offence, e.stage, e.service, e.sanction,
       c.unit, t.oblast, t.area, c.period, c.year, c.value, c.submission_id
FROM current_cells c
JOIN dim_element e USING (form, version, tbl, line, col)
JOIN dim_territory t ON t.soate = c.unit;
COMMENT ON VIEW facts IS 'Tidy facts: element and dimensions, territory, period, value (current revisions)';

CREATE VIEW series_cells AS
SELECT c.form, COALESCE(k.latest_version, c.version) AS version,
       COALESCE(k.latest_tbl, c.tbl) AS tbl, COALESCE(k.latest_line, c.line) AS line,
       COALESCE(k.latest_col, c.col) AS col,
       c.unit, c.period, c.year, c.value, c.submission_id, c.sheet || '!' || c.addr AS addr,
       c.version AS source_version
FROM current_cells c
LEFT JOIN concordance k USING (form, version, tbl, line, col)
WHERE c.version = (SELECT max(version) FROM dim_element e WHERE e.form = c.form)
   OR k.latest_version IS NOT NULL;
COMMENT ON VIEW series_cells IS 'Current cells of every form version in the coordinates of the latest version (concordance), for series across revisions';

CREATE MACRO as_of(ts) AS TABLE
SELECT s.submission_id, s.form, s.version, s.agency, s.unit, s.period, s.year,
       c.tbl, c.line, c.col, c.value
FROM (
    SELECT *, row_number() OVER (PARTITION BY form, unit, period ORDER BY revision DESC) AS rn
    FROM submissions WHERE received_at <= ts
) s JOIN cells c USING (submission_id)
WHERE s.rn = 1;
