INSERT INTO audit_log (event_id, event_at, event, agency, actor, file_name, sha256, submission_id, detail)
VALUES (nextval('event_seq'), ?, ?, ?, ?, ?, ?, ?, ?)
