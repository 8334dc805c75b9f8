-- fsck: the revisions of each form, unit and period run 1, 2, ... in submission order,
-- each superseding the one before it.
SELECT form, unit, period, submission_id, revision, supersedes, expected_revision, expected_supersedes
FROM (
    SELECT form, unit, period, submission_id, revision, supersedes,
           row_number() OVER w AS expected_revision,
           lag(submission_id) OVER w AS expected_supersedes
    FROM submissions
    WINDOW w AS (PARTITION BY form, unit, period ORDER BY submission_id)
)
WHERE revision IS DISTINCT FROM expected_revision OR supersedes IS DISTINCT FROM expected_supersedes
ORDER BY form, unit, period, submission_id
