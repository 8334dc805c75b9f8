-- Every revision of the form, unit and period of a submission, oldest first, with decisions.
SELECT s.submission_id, s.revision, s.status, s.received_at, s.submitted_by, s.file_name,
       s.supersedes, r.decision AS review, r.comment AS review_comment, r.reviewer, r.decided_at
FROM submissions s
JOIN submissions o ON o.form = s.form AND o.unit = s.unit AND o.period = s.period
LEFT JOIN review_state r ON r.submission_id = s.submission_id
WHERE o.submission_id = ?
ORDER BY s.revision
