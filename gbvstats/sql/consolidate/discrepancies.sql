-- Failed controls of the latest consolidation run of a year, worst (relative) first, with
-- the agencies concerned, their explanations and the NSC's decision: what control_items
-- (the one definition of open, shared with the gate and ind08) says of each.
WITH latest AS (
    SELECT * FROM rule_results
    WHERE year = $1 AND run_id = (SELECT max(run_id) FROM rule_results WHERE year = $1)
      AND status = 'fail'
)
SELECT l.rule_id, l.kind, l.severity, l.agencies,
       split_part(l.scope_id, '|', 1) AS territory, t.area, t.name_en AS territory_name,
       l.item_label, l.left_value, l.right_value, l.imbalance, l.tolerance, l.reason,
       round(abs(l.imbalance) / greatest(abs(l.left_value), abs(l.right_value), 1), 3) AS relative,
       i.explanation, i.decision, i.state, i.item_key
FROM latest l
LEFT JOIN dim_territory t ON t.soate = split_part(l.scope_id, '|', 1)
LEFT JOIN control_items i ON i.source = 'control' AND i.year = l.year AND i.rule_id = l.rule_id
                         AND i.scope_id = l.scope_id AND i.item = coalesce(l.item_label, '-')
ORDER BY relative DESC, abs(l.imbalance) DESC
