-- fsck: every submission against the audit event that recorded it, both ways.
-- kind: no_event (a submission nobody recorded), no_submission (an acceptance event of a
-- submission that does not exist), differs (the fields that disagree).
WITH accepted AS (
    SELECT * FROM audit_log WHERE event IN ('accepted', 'accepted_with_warnings')
)
SELECT 'no_event' AS kind, s.submission_id, NULL::INTEGER AS event_id, s.status AS event, NULL AS fields
FROM submissions s
WHERE s.submission_id NOT IN (SELECT submission_id FROM accepted WHERE submission_id IS NOT NULL)
UNION ALL
SELECT 'no_submission', a.submission_id, a.event_id, a.event, NULL
FROM audit_log a
WHERE a.submission_id IS NOT NULL
  AND a.submission_id NOT IN (SELECT submission_id FROM submissions)
UNION ALL
SELECT 'differs', s.submission_id, a.event_id, a.event,
       array_to_string(list_filter([
           CASE WHEN a.event IS DISTINCT FROM s.status THEN 'status' END,
           CASE WHEN a.sha256 IS DISTINCT FROM s.sha256 THEN 'sha256' END,
           CASE WHEN a.file_name IS DISTINCT FROM s.file_name THEN 'file_name' END,
           CASE WHEN a.agency IS DISTINCT FROM s.agency THEN 'agency' END,
           CASE WHEN a.actor IS DISTINCT FROM s.submitted_by THEN 'submitted_by' END,
           CASE WHEN a.event_at IS DISTINCT FROM s.received_at THEN 'received_at' END,
           CASE WHEN (a.detail->>'revision')::INTEGER IS DISTINCT FROM s.revision THEN 'revision' END,
           CASE WHEN (a.detail->>'supersedes')::INTEGER IS DISTINCT FROM s.supersedes THEN 'supersedes' END
       ], lambda x: x IS NOT NULL), ', ')
FROM submissions s JOIN accepted a USING (submission_id)
WHERE a.event IS DISTINCT FROM s.status OR a.sha256 IS DISTINCT FROM s.sha256
   OR a.file_name IS DISTINCT FROM s.file_name OR a.agency IS DISTINCT FROM s.agency
   OR a.actor IS DISTINCT FROM s.submitted_by OR a.event_at IS DISTINCT FROM s.received_at
   OR (a.detail->>'revision')::INTEGER IS DISTINCT FROM s.revision
   OR (a.detail->>'supersedes')::INTEGER IS DISTINCT FROM s.supersedes
ORDER BY 2, 3
