-- fsck: explanations against the audit events that recorded them (as multisets).
WITH stored AS (
    SELECT submission_id, rule_id, text, author, created_at,
           row_number() OVER (PARTITION BY submission_id, rule_id, text, author, created_at
                              ORDER BY explanation_id) AS k,
           explanation_id
    FROM explanations
),
audited AS (
    SELECT submission_id, detail->>'rule_id' AS rule_id, detail->>'text' AS text,
           actor AS author, event_at AS created_at,
           row_number() OVER (PARTITION BY submission_id, detail->>'rule_id', detail->>'text', actor, event_at
                              ORDER BY event_id) AS k,
           event_id
    FROM audit_log WHERE event = 'explanation'
)
SELECT CASE WHEN a.event_id IS NULL THEN 'no_event' ELSE 'no_row' END AS kind,
       coalesce(s.submission_id, a.submission_id) AS submission_id,
       coalesce(s.rule_id, a.rule_id) AS rule_id,
       s.explanation_id, a.event_id
FROM stored s
FULL JOIN audited a ON a.submission_id IS NOT DISTINCT FROM s.submission_id
    AND a.rule_id IS NOT DISTINCT FROM s.rule_id AND a.text IS NOT DISTINCT FROM s.text
    AND a.author IS NOT DISTINCT FROM s.author AND a.created_at IS NOT DISTINCT FROM s.created_at
    AND a.k = s.k
WHERE s.explanation_id IS NULL OR a.event_id IS NULL
ORDER BY 2, 3
