-- Everything the controls found for a year (control_items), with the territory's name and
-- the form of a finding's return, for the gate and `gbvstats decide`.
SELECT i.*, coalesce(t.name_en, i.unit) AS unit_name, s.form, s.agency AS submission_agency
FROM control_items i
LEFT JOIN dim_territory t ON t.soate = i.unit
LEFT JOIN submissions s ON s.submission_id = i.submission_id
WHERE i.year = $1
ORDER BY i.source, i.rule_id, i.scope_id, i.item
