-- Events recorded after a consolidation run (event id above the last one it saw) that
-- change what it computed for the year: returns accepted for the year or the year before
-- (year-on-year controls), and refused attempts (completeness).
SELECT a.event, count(*) AS n
FROM audit_log a
LEFT JOIN submissions s ON s.submission_id = a.submission_id
WHERE a.event_id > $2
  AND a.event IN ('accepted', 'accepted_with_warnings', 'rejected', 'refused_agency')
  AND coalesce(s.year, TRY_CAST(left(a.detail->>'period', 4) AS INTEGER)) IN ($1, $1 - 1)
GROUP BY a.event
ORDER BY a.event
