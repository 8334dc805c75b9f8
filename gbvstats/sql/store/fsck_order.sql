-- fsck: acceptance events whose submission id is lower than an earlier event's.
SELECT event_id, submission_id, prev_submission
FROM (
    SELECT event_id, submission_id,
           max(submission_id) OVER (ORDER BY event_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
               AS prev_submission
    FROM audit_log WHERE event IN ('accepted', 'accepted_with_warnings')
)
WHERE submission_id <= prev_submission
ORDER BY event_id
