-- The next submission id and audit event id. Writers hold the lock, so max + 1 is safe,
-- and ids stay gap-free when a chunk is rolled back (a rebuild then gives the same ids).
SELECT (SELECT COALESCE(max(submission_id), 0) + 1 FROM submissions),
       (SELECT COALESCE(max(event_id), 0) + 1 FROM audit_log)
