-- Every form of the year's expected returns with its lock, if any (registered relation
-- `forms`: agency, form).
SELECT f.agency, f.form, k.locked_at IS NOT NULL AS locked, k.locked_by, k.locked_at, k.comment
FROM forms f
LEFT JOIN period_locks k ON k.year = $year AND k.agency = f.agency AND k.form = f.form
ORDER BY f.agency, f.form
