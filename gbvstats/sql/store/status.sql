-- Submissions by agency, form, period and status, with revisions and refused attempts.
WITH accepted AS (
    SELECT agency, form, period, status, count(*) AS files,
           count(DISTINCT unit) AS units, max(revision) AS max_revision
    FROM submissions GROUP BY ALL
),
refused AS (
    SELECT agency, NULL AS form, NULL AS period, event AS status, count(*) AS files,
           NULL AS units, NULL AS max_revision
    FROM audit_log WHERE event IN ('rejected', 'refused_agency', 'unreadable') GROUP BY ALL
)
SELECT * FROM accepted UNION ALL SELECT * FROM refused
ORDER BY agency, form NULLS LAST, period, status
