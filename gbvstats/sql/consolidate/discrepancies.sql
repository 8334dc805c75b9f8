-- Failed controls of the latest consolidation run of a year, worst (relative) first, with
-- the agencies concerned and any explanation they recorded for the same rule, territory
-- and year.
WITH latest AS (
    SELECT * FROM rule_results
    WHERE year = $1 AND run_id = (SELECT max(run_id) FROM rule_results WHERE year = $1)
      AND status = 'fail'
),
explained AS (
    SELECT e.rule_id, t.oblast, s.unit,
           e.text || ' (' || COALESCE(e.author, '?') || ')' AS explanation
    FROM explanations e JOIN submissions s USING (submission_id)
    JOIN dim_territory t ON t.soate = s.unit
    WHERE s.year = $1
)
SELECT l.rule_id, l.kind, l.severity, l.agencies,
       split_part(l.scope_id, '|', 1) AS territory, t.area, t.name_en AS territory_name,
       l.item_label, l.left_value, l.right_value, l.imbalance, l.tolerance, l.reason,
       round(abs(l.imbalance) / greatest(abs(l.left_value), abs(l.right_value), 1), 3) AS relative,
       (SELECT string_agg(DISTINCT x.explanation, '; ') FROM explained x
        WHERE x.rule_id = l.rule_id
          AND split_part(l.scope_id, '|', 1) IN (x.oblast, x.unit)) AS explanation
FROM latest l
LEFT JOIN dim_territory t ON t.soate = split_part(l.scope_id, '|', 1)
ORDER BY relative DESC, abs(l.imbalance) DESC
