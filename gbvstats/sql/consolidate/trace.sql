-- The current cells behind indicator figures, as their lineage names them.
-- Input: trace_links(row, measure, figure, form, tbl, line, col, coefficient, oblast):
--        one row per (figure, source cell in the latest form version's coordinates);
--        oblast: the SOATE of the row's oblast, or $2 for the country (every unit).
-- Parameters: $1 year, $2 the country's SOATE.
SELECT l."row", l.measure, l.figure, l.coefficient, f.form, f.element, f.tbl, f.line, f.col,
       f.sex AS cell_sex, f.age AS cell_age, f.unit, t.name_en AS unit_name, f.period, f.value,
       f.submission_id, s.file_name, s.sha256, s.received_at, s.revision, f.addr, f.source_version
FROM trace_links l
JOIN series_facts f ON f.form = l.form AND f.tbl = l.tbl AND f.line = l.line AND f.col = l.col
                   AND (l.oblast = $2 OR f.oblast = l.oblast)
JOIN submissions s ON s.submission_id = f.submission_id
LEFT JOIN dim_territory t ON t.soate = f.unit
WHERE f.year = $1
ORDER BY l."row", l.measure, f.form, f.tbl, f.line, f.col, f.unit, f.period
