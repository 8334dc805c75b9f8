-- Evaluate rule items set-wise.
-- Inputs (registered relations):
--   rule_meta(rule_id, kind, severity, op, tol_abs, tol_rel, missing)
--   rule_items(rule_id, item_no, item_label, bind_line, bind_col, side, sign, form, tbl, line, col)
--   scopes(scope_id, form)      one row per submission (or per territory x period group)
--                                and per form it holds
--   cells(scope_id, form, tbl, line, col, value, addr)
-- A scope is evaluated for a rule when it holds every form the rule's items refer to; a
-- scope holding some of them but not all is not evaluable, naming the forms absent (a
-- territory where one agency's return is missing is never skipped in silence).
-- Output: one row per rule item and scope, with status pass | fail | not_evaluable.
WITH rule_forms AS (
    SELECT rule_id, list_distinct(list(form)) AS forms FROM rule_items GROUP BY rule_id
),
scope_forms AS (
    SELECT scope_id, list_distinct(list(form)) AS forms FROM scopes GROUP BY scope_id
),
applicable AS (
    SELECT s.scope_id, r.rule_id,
           list_sort(list_filter(r.forms, lambda f: NOT list_contains(s.forms, f))) AS absent
    FROM scope_forms s JOIN rule_forms r ON list_has_any(s.forms, r.forms)
),
joined AS (
    SELECT a.scope_id, i.rule_id, i.item_no, i.item_label, i.bind_line, i.bind_col,
           i.side, i.sign, i.tbl, i.line, i.col, c.value, c.addr, a.absent
    FROM applicable a
    JOIN rule_items i ON i.rule_id = a.rule_id
    LEFT JOIN cells c ON c.scope_id = a.scope_id AND c.form = i.form AND c.tbl = i.tbl
                     AND c.line = i.line AND c.col = i.col
),
sides AS (
    SELECT scope_id, rule_id, item_no,
           any_value(item_label) AS item_label,
           any_value(bind_line) AS bind_line,
           any_value(bind_col) AS bind_col,
           COALESCE(SUM(sign * COALESCE(value, 0)) FILTER (WHERE side = 'left'), 0)::HUGEINT AS left_value,
           COALESCE(SUM(sign * COALESCE(value, 0)) FILTER (WHERE side = 'right'), 0)::HUGEINT AS right_value,
           COUNT(*) FILTER (WHERE side = 'left' AND value IS NULL) AS left_missing,
           COUNT(*) FILTER (WHERE side = 'right' AND value IS NULL) AS right_missing,
           COUNT(*) FILTER (WHERE side = 'right') AS right_cells,
           list(addr ORDER BY side, tbl, line, col) FILTER (WHERE addr IS NOT NULL) AS cells,
           any_value(absent) AS absent
    FROM joined
    GROUP BY scope_id, rule_id, item_no
),
measured AS (
    SELECT s.*, m.kind, m.severity, m.op, m.missing,
           left_value - right_value AS imbalance,
           -- decimal, not float: 0.29 * 100 must be exactly 29
           GREATEST(m.tol_abs::DECIMAL(38, 9),
                    m.tol_rel::DECIMAL(18, 9)
                    * GREATEST(abs(left_value), abs(right_value))::DECIMAL(28, 0)) AS tolerance
    FROM sides s JOIN rule_meta m USING (rule_id)
)
SELECT scope_id, rule_id, kind, severity, item_no, item_label, bind_line, bind_col,
       -- exact sums; BIGINT so that pandas keeps them as integers (HUGEINT arrives as float);
       -- none where a form is absent: a sum over a return that is not there says nothing
       CASE WHEN len(absent) = 0 THEN left_value::BIGINT END AS left_value,
       CASE WHEN len(absent) = 0 THEN right_value::BIGINT END AS right_value,
       CASE WHEN len(absent) = 0 THEN imbalance::BIGINT END AS imbalance,
       tolerance::DOUBLE AS tolerance, cells, left_missing, right_missing,
       CASE
           WHEN len(absent) > 0 THEN 'not_evaluable'
           WHEN kind = 'completeness' THEN CASE WHEN left_missing > 0 THEN 'fail' ELSE 'pass' END
           WHEN missing = 'not_evaluable' AND left_missing + right_missing > 0 THEN 'not_evaluable'
           WHEN kind = 'compulsory' THEN
               CASE WHEN left_value <> 0 AND (right_value = 0 OR right_missing = right_cells)
                    THEN 'fail' ELSE 'pass' END
           WHEN kind = 'exclusive' THEN
               CASE WHEN left_value <> 0 AND right_value <> 0 THEN 'fail' ELSE 'pass' END
           WHEN op = '=' THEN CASE WHEN abs(imbalance) <= tolerance THEN 'pass' ELSE 'fail' END
           WHEN op = '<=' THEN CASE WHEN imbalance <= tolerance THEN 'pass' ELSE 'fail' END
           WHEN op = '>=' THEN CASE WHEN -imbalance <= tolerance THEN 'pass' ELSE 'fail' END
           WHEN op = '<' THEN CASE WHEN imbalance < GREATEST(tolerance, 0) OR imbalance < 0 THEN 'pass' ELSE 'fail' END
           WHEN op = '>' THEN CASE WHEN -imbalance < GREATEST(tolerance, 0) OR imbalance > 0 THEN 'pass' ELSE 'fail' END
           ELSE 'error'  -- never silently skipped
       END AS status,
       CASE
           WHEN len(absent) > 0
               THEN 'no return of ' || array_to_string(list_transform(absent, lambda f:
                        replace(replace(f, '^upper', ' (the upper unit''s own)'), '^annual', ' (annual)')), ', ')
                    || ' for ' || replace(scope_id, '|', ' in ')
           WHEN kind = 'completeness' AND left_missing > 0 THEN 'required cell is blank'
           WHEN missing = 'not_evaluable' AND left_missing + right_missing > 0
               THEN (left_missing + right_missing)::VARCHAR || ' cell(s) blank'
           WHEN kind NOT IN ('completeness', 'compulsory', 'exclusive')
                AND op NOT IN ('=', '<=', '>=', '<', '>')
               THEN 'kind ' || kind || ' with comparison ' || COALESCE(op, 'none') || ' is not supported'
       END AS reason
FROM measured
ORDER BY scope_id, rule_id, item_no
