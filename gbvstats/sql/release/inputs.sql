-- The returns a release is made from: the current revision of every form, unit and
-- period of its years, in the state it was made from. Parameter: years[].
SELECT submission_id, form || '@' || version AS form_version, form, version, agency, unit, period, revision, sha256
FROM current_submissions
WHERE list_contains($1, year)
ORDER BY form, unit, period
