-- Group warehouse cells into comparison scopes for cross-unit rules: each unit mapped to
-- the territory level the rule compares at, each period to the rule's period.
-- Inputs: cells_in(form, unit, period, tbl, line, col, value, addr),
--         unit_map(unit, target, role)  territory -> its ancestor at the comparison level;
--                                       role '' (summed), or for hierarchy rules '^upper'
--                                       (the unit reporting for the ancestor itself)
--         getvariable('period_grain'): 'quarter' or 'year'
--         getvariable('split_annual'): true for temporal rules, annual returns ('2024')
--                                      become the pseudo-form '<form>^annual'
-- A role turns one form into two pseudo-forms, so that evaluate.sql compares the sum of
-- the lower units (or quarters) with the upper unit's (or annual) figure.
SELECT m.target || '|' || CASE WHEN getvariable('period_grain') = 'year'
                               THEN substr(c.period, 1, 4) ELSE c.period END AS scope_id,
       c.form || m.role || CASE WHEN getvariable('split_annual') AND c.period NOT LIKE '%-%'
                                THEN '^annual' ELSE '' END AS form,
       c.tbl, c.line, c.col,
       SUM(c.value)::BIGINT AS value,  -- exact; pandas would turn HUGEINT into float
       min(c.addr) AS addr
FROM cells_in c JOIN unit_map m ON m.unit = c.unit
GROUP BY ALL
