-- Submissions stored by the state's last event: any event up to it names the submission
-- (its acceptance comes first; explanations and reviews name stored submissions only).
SELECT * FROM submissions
WHERE submission_id IN (SELECT submission_id FROM audit_log
                        WHERE event_id <= $1 AND submission_id IS NOT NULL)
