-- Every revision of one form, unit and period, oldest first, with its finding counts.
SELECT s.submission_id, s.revision, s.status, s.received_at, s.received_on, s.submitted_by, s.file_name,
       s.sha256, s.supersedes,
       (SELECT count(*) FROM findings f WHERE f.submission_id = s.submission_id) AS findings,
       s.submission_id = (SELECT submission_id FROM current_submissions c
                          WHERE c.form = s.form AND c.unit = s.unit AND c.period = s.period) AS current
FROM submissions s
WHERE s.form = ? AND s.unit = ? AND s.period = ?
ORDER BY s.revision
