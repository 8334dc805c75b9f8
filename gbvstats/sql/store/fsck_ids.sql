-- fsck: ids are consecutive from 1 (max + 1 under the writer lock), and submissions were
-- numbered in the order of the audit events that recorded them.
SELECT 'submissions' AS "table", count(*) AS n, min(submission_id) AS lo, max(submission_id) AS hi,
       count(DISTINCT submission_id) AS distinct_ids
FROM submissions
UNION ALL
SELECT 'audit_log', count(*), min(event_id), max(event_id), count(DISTINCT event_id)
FROM audit_log
