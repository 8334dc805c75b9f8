-- For each open control item of a year, per agency concerned, a current return through
-- which the agency can explain it (`gbvstats explain <submission> <rule>`): a return of
-- the agency in the item's territory whose period overlaps the item's (the same match
-- control_items uses to find explanations).
SELECT i.item_key, s.agency, min(s.submission_id) AS submission_id
FROM control_items i
JOIN current_submissions s ON list_contains(string_split(i.agencies, ','), s.agency)
JOIN dim_territory t ON t.soate = s.unit
JOIN dim_period sp ON sp.period = s.period
LEFT JOIN dim_period kp ON kp.period = i.period
WHERE i.year = $1 AND i.source = 'control' AND i.state = 'open'
  AND i.unit IN (s.unit, t.oblast, '41700000000000')
  AND sp.start_date <= coalesce(kp.end_date, make_date(i.year, 12, 31))
  AND coalesce(kp.start_date, make_date(i.year, 1, 1)) <= sp.end_date
GROUP BY ALL
ORDER BY i.item_key, s.agency
