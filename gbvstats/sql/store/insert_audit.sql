-- Audit events with their ids, from the registered relation new_rows.
INSERT INTO audit_log BY NAME SELECT * FROM new_rows
