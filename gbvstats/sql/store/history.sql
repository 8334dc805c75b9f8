-- Every revision of one form, unit and period, oldest first, with its finding counts and
-- the NSC's standing decision on it.
SELECT s.submission_id, s.revision, s.status, s.received_at, s.received_on, s.submitted_by, s.file_name,
       s.sha256, s.supersedes,
       (SELECT count(*) FROM findings f WHERE f.submission_id = s.submission_id) AS findings,
       s.submission_id = (SELECT submission_id FROM current_submissions c
                          WHERE c.form = s.form AND c.unit = s.unit AND c.period = s.period) AS current,
       r.decision AS review, r.reviewer, r.decided_at AS reviewed_at, r.comment AS review_comment
FROM submissions s
LEFT JOIN review_state r USING (submission_id)
WHERE s.form = ? AND s.unit = ? AND s.period = ?
ORDER BY s.revision
