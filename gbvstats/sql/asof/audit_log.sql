-- The audit log up to the state's last event.
SELECT * FROM audit_log WHERE event_id <= $1
