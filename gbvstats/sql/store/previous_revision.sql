-- The current revision of a form, unit and period: (submission_id, revision) or nothing.
SELECT submission_id, revision
FROM submissions
WHERE form = ? AND unit = ? AND period = ?
ORDER BY revision DESC
LIMIT 1
