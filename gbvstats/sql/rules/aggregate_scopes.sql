-- Group warehouse cells into comparison scopes for cross-unit rules: each unit mapped to
-- the territory level the rule compares at, each period to the rule's period.
-- Inputs: cells_in(form, unit, period, tbl, line, col, value, addr),
--         unit_map(unit, target)   territory -> its ancestor at the comparison level
--         getvariable('period_grain'): 'quarter' or 'year'
SELECT m.target || '|' || CASE WHEN getvariable('period_grain') = 'year'
                               THEN substr(c.period, 1, 4) ELSE c.period END AS scope_id,
       c.form, c.tbl, c.line, c.col,
       SUM(c.value)::BIGINT AS value,  -- exact; pandas would turn HUGEINT into float
       min(c.addr) AS addr
FROM cells_in c JOIN unit_map m ON m.unit = c.unit
GROUP BY ALL
