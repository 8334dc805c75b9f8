-- Controls of the year's latest run with items that could not be evaluated, one line per
-- rule with the count and a first reason (nothing is skipped silently).
SELECT rule_id, count(*) AS items, min(reason) AS reason
FROM rule_results
WHERE year = $1 AND status = 'not_evaluable'
  AND run_id = (SELECT max(run_id) FROM rule_results WHERE year = $1)
GROUP BY rule_id
ORDER BY rule_id
