-- Refused uploads (audit events), newest first; every filter may be NULL.
SELECT event_id, event_at, event, agency, actor, file_name, sha256, token_id,
       detail->>'form' AS form, detail->>'unit' AS unit, detail->>'period' AS period,
       detail->'findings' AS findings
FROM audit_log
WHERE event IN ('rejected', 'refused_agency', 'refused_locked', 'unreadable')
  AND ($agency IS NULL OR agency = $agency)
  AND ($id IS NULL OR event_id = $id)
  AND ($year IS NULL OR year(event_at) = $year OR left(detail->>'period', 4) = CAST($year AS VARCHAR))
ORDER BY event_id DESC
LIMIT $limit
