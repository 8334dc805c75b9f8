-- One submission with the NSC's standing decision, whether it is the current revision, and
-- whether its period is locked.
SELECT s.submission_id, s.form, s.version, s.agency, s.unit, t.name_en AS unit_name,
       t.name_ru AS unit_name_ru, s.period, s.year, s.file_name, s.sha256, s.archive_path,
       s.received_at, s.submitted_by, s.status, s.revision, s.supersedes,
       r.decision AS review, r.comment AS review_comment, r.reviewer, r.decided_at,
       k.locked_at IS NOT NULL AS locked, k.locked_by, k.locked_at,
       s.submission_id = (SELECT arg_max(c.submission_id, c.revision) FROM submissions c
                          WHERE c.form = s.form AND c.unit = s.unit AND c.period = s.period) AS current
FROM submissions s
LEFT JOIN review_state r USING (submission_id)
LEFT JOIN period_locks k ON k.year = s.year AND k.agency = s.agency AND k.form = s.form
LEFT JOIN dim_territory t ON t.soate = s.unit
WHERE s.submission_id = ?
