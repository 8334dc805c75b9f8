-- The current revision of each of these [form, unit, period] keys:
-- (form, unit, period, submission_id, revision).
SELECT form, unit, period, arg_max(submission_id, revision), max(revision)
FROM submissions
WHERE list_contains(?::VARCHAR[][], [form, unit, period])
GROUP BY form, unit, period
