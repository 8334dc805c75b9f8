-- fsck: a submission's status against the severities of its stored findings
-- (accepted: no warning; accepted_with_warnings: at least one; errors are never stored).
SELECT s.submission_id, s.status,
       count(*) FILTER (WHERE f.severity = 'warning') AS warnings,
       count(*) FILTER (WHERE f.severity = 'error') AS errors
FROM submissions s LEFT JOIN findings f USING (submission_id)
GROUP BY ALL
HAVING errors > 0
    OR (s.status = 'accepted' AND warnings > 0)
    OR (s.status = 'accepted_with_warnings' AND warnings = 0)
    OR s.status NOT IN ('accepted', 'accepted_with_warnings')
ORDER BY s.submission_id
