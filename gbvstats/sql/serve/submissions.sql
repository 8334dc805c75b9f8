-- Submissions, newest first, with the NSC's decision; every filter may be NULL.
-- $state: 'pending' (current revisions not decided), 'returned', 'accepted', or NULL (all).
WITH s AS (
    SELECT *, row_number() OVER (PARTITION BY form, unit, period ORDER BY revision DESC) = 1 AS current
    FROM submissions
)
SELECT s.submission_id, s.form, s.agency, s.unit, t.name_en AS unit_name, t.name_ru AS unit_name_ru,
       s.period, s.year, s.file_name, s.received_at, s.submitted_by, s.status, s.revision,
       s.current, r.decision AS review, r.comment AS review_comment, r.reviewer, r.decided_at
FROM s
LEFT JOIN review_state r USING (submission_id)
LEFT JOIN dim_territory t ON t.soate = s.unit
WHERE ($agency IS NULL OR s.agency = $agency)
  AND ($year IS NULL OR s.year = $year)
  AND ($form IS NULL OR s.form = $form)
  AND ($state IS NULL
       OR ($state = 'pending' AND s.current AND r.decision IS NULL)
       OR ($state IN ('returned', 'accepted') AND s.current AND r.decision = $state))
ORDER BY s.submission_id DESC
LIMIT $limit
