-- Completeness of one year: every expected (form, unit, period) with what arrived.
-- Input: expected(agency, form, unit, period, due DATE) registered from the schemas.
-- A return's date of receipt is the one its submitter declared when loading it later
-- (submit --received-on), else when the warehouse received it.
WITH accepted AS (
    SELECT form, unit, period,
           min(COALESCE(received_on::TIMESTAMP, received_at)) AS first_received,
           arg_min(received_on IS NOT NULL, COALESCE(received_on::TIMESTAMP, received_at)) AS received_declared,
           arg_max(status, revision) AS status,
           max(revision) AS revisions
    FROM submissions GROUP BY ALL
),
refused AS (
    SELECT detail->>'form' AS form, detail->>'unit' AS unit, detail->>'period' AS period,
           count(*) AS attempts, min(event_at) AS first_attempt
    FROM audit_log
    WHERE event IN ('rejected', 'refused_agency') AND detail->>'form' IS NOT NULL
    GROUP BY ALL
)
SELECT e.agency, e.form, e.unit, t.name_en AS unit_name, t.area, e.period, e.due,
       CASE WHEN a.status IS NOT NULL THEN a.status
            WHEN r.attempts IS NOT NULL THEN 'rejected'
            ELSE 'missing' END AS state,
       a.first_received, COALESCE(a.received_declared, false) AS received_declared,
       COALESCE(a.revisions, 0) AS revisions,
       COALESCE(r.attempts, 0) AS refused_attempts,
       a.first_received IS NOT NULL AND CAST(a.first_received AS DATE) > e.due AS late
FROM expected e
LEFT JOIN accepted a USING (form, unit, period)
LEFT JOIN refused r USING (form, unit, period)
LEFT JOIN dim_territory t ON t.soate = e.unit
ORDER BY e.agency, e.form, e.unit, e.period
