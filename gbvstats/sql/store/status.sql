-- Submissions by agency, form, period and status, with revisions, the NSC's decisions on
-- the current revisions, locks, and refused attempts.
WITH s AS (
    SELECT *, row_number() OVER (PARTITION BY form, unit, period ORDER BY revision DESC) = 1 AS current
    FROM submissions
),
accepted AS (
    SELECT s.agency, s.form, s.period, s.status, count(*) AS files,
           count(DISTINCT s.unit) AS units, max(s.revision) AS max_revision,
           count(*) FILTER (WHERE s.current AND r.decision = 'accepted') AS nsc_accepted,
           count(*) FILTER (WHERE s.current AND r.decision = 'returned') AS nsc_returned,
           bool_or(k.form IS NOT NULL) AS locked
    FROM s
    LEFT JOIN review_state r USING (submission_id)
    LEFT JOIN period_locks k ON k.year = s.year AND k.agency = s.agency AND k.form = s.form
    GROUP BY ALL
),
refused AS (
    SELECT agency, NULL AS form, NULL AS period, event AS status, count(*) AS files,
           NULL AS units, NULL AS max_revision, NULL AS nsc_accepted, NULL AS nsc_returned,
           NULL AS locked
    FROM audit_log
    WHERE event IN ('rejected', 'refused_agency', 'refused_locked', 'unreadable') GROUP BY ALL
)
SELECT * FROM accepted UNION ALL SELECT * FROM refused
ORDER BY agency, form NULLS LAST, period, status
