-- The current cells behind an indicator: its declared elements, for the selected territories.
-- Parameters: year, forms[], elements[], oblast SOATEs[], national (all territories).
SELECT f.form, f.element, f.sex, f.age, f.unit, f.area, f.period, f.value,
       f.submission_id, s.file_name, s.sha256, s.received_at, s.revision, f.addr
FROM series_facts f JOIN submissions s USING (submission_id)
WHERE f.year = $1
  AND list_contains($2, f.form)
  AND list_contains($3, f.element)
  AND (list_contains($4, f.oblast) OR $5)
ORDER BY f.form, f.element, f.unit, f.period, f.addr
