-- The reporting calendar of a year: every expected return (registered relation `expected`:
-- agency, form, unit, period, due) with what arrived, the NSC's decision and the locks.
-- state: missing | rejected (attempts refused for errors only; an attempt refused because the
--        period is locked leaves it missing, with `locked`) | received (stored, awaiting the
--        NSC) | accepted (by the NSC) | returned (the agency must send a corrected revision).
-- Lateness by the date of receipt declared for a back-filled return (received_on) when
-- there is one, as completeness judges it.
WITH latest AS (
    SELECT form, unit, period, arg_max(submission_id, revision) AS submission_id,
           max(revision) AS revisions,
           min(COALESCE(CAST(received_on AS TIMESTAMP), received_at)) AS first_received
    FROM submissions WHERE year = $year GROUP BY ALL
),
refused AS (
    SELECT detail->>'form' AS form, detail->>'unit' AS unit, detail->>'period' AS period,
           count(*) AS attempts, count(*) FILTER (WHERE event = 'rejected') AS with_errors,
           max(event_id) AS last_attempt
    FROM audit_log
    WHERE event IN ('rejected', 'refused_locked') AND detail->>'form' IS NOT NULL
    GROUP BY ALL
)
SELECT e.agency, e.form, e.unit, t.name_en AS unit_name, t.name_ru AS unit_name_ru, e.period, e.due,
       CASE WHEN l.submission_id IS NULL AND f.with_errors > 0 THEN 'rejected'
            WHEN l.submission_id IS NULL THEN 'missing'
            WHEN r.decision = 'returned' THEN 'returned'
            WHEN r.decision = 'accepted' THEN 'accepted'
            ELSE 'received' END AS state,
       l.submission_id, s.status, s.received_at, COALESCE(l.revisions, 0) AS revisions,
       l.first_received IS NOT NULL AND CAST(l.first_received AS DATE) > e.due AS late,
       r.comment AS review_comment, r.reviewer, r.decided_at,
       k.locked_at IS NOT NULL AS locked, k.locked_by, k.locked_at,
       COALESCE(f.attempts, 0) AS refused_attempts, f.last_attempt
FROM expected e
LEFT JOIN latest l USING (form, unit, period)
LEFT JOIN submissions s ON s.submission_id = l.submission_id
LEFT JOIN review_state r ON r.submission_id = l.submission_id
LEFT JOIN period_locks k ON k.year = $year AND k.agency = e.agency AND k.form = e.form
LEFT JOIN refused f USING (form, unit, period)
LEFT JOIN dim_territory t ON t.soate = e.unit
ORDER BY e.agency, e.form, e.period, e.unit
