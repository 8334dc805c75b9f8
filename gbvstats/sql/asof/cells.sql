-- Cells of the submissions stored by the state's last event.
SELECT * FROM cells
WHERE submission_id IN (SELECT submission_id FROM audit_log
                        WHERE event_id <= $1 AND submission_id IS NOT NULL)
