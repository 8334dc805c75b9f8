-- Year-on-year outliers: per cell and unit, this year's count against `expected`, last
-- year's count times the change common to all units (the median over units of
-- (current + 1) / (previous + 1)). The score is robust and variance-stabilised:
-- z = (sqrt(current) - sqrt(expected)) / sqrt((1 + k)/4 + c^2 expected / 4), the counting
-- noise of both years (Poisson: sqrt(x) has variance 1/4; k the common change) and the
-- spread of the units' changes beyond it (c = 1.4826 x the median absolute deviation of
-- their log changes, floored at min_spread, so years in which every unit moved alike do
-- not turn small differences into alarms). Small counts never alarm: one of the two
-- years must reach the minimum base. Fewer than min_peers units with both years: not
-- evaluable.
-- Inputs: outlier_facts (series_facts of the year and the year before), history_cells(rule_id, form, tbl, line, col) and variables year, z_threshold,
-- min_base, min_spread, min_peers.
WITH yearly AS (
    SELECT h.rule_id, f.form, f.tbl, f.line, f.col, f.element, f.unit, f.year,
           sum(f.value) AS value, min(f.addr) AS addr
    FROM outlier_facts f
    JOIN history_cells h USING (form, tbl, line, col)
    WHERE f.year IN (getvariable('year'), getvariable('year') - 1)
    GROUP BY ALL
),
paired AS (
    SELECT c.rule_id, c.form, c.tbl, c.line, c.col, c.element, c.unit, c.addr,
           p.value AS previous, c.value AS current,
           ln((c.value + 1.0) / (p.value + 1.0)) AS change
    FROM yearly c JOIN yearly p
      ON p.rule_id = c.rule_id AND p.unit = c.unit AND p.tbl = c.tbl AND p.line = c.line
     AND p.col = c.col AND p.year = c.year - 1
    WHERE c.year = getvariable('year')
),
spread AS (
    SELECT rule_id, tbl, line, col, median(change) AS med, count(change) AS units
    FROM paired GROUP BY ALL
),
mad AS (
    SELECT p.rule_id, p.tbl, p.line, p.col, s.med, s.units, median(abs(p.change - s.med)) AS mad
    FROM paired p JOIN spread s USING (rule_id, tbl, line, col)
    GROUP BY ALL
),
scored AS (
    SELECT p.*, m.units,
           greatest((p.previous + 1.0) * exp(m.med) - 1.0, 0) AS expected,
           (sqrt(p.current) - sqrt(greatest((p.previous + 1.0) * exp(m.med) - 1.0, 0)))
           / sqrt((1.0 + exp(m.med)) / 4
                  + greatest(1.4826 * m.mad, getvariable('min_spread')) ^ 2
                    * greatest((p.previous + 1.0) * exp(m.med) - 1.0, 0) / 4) AS z
    FROM paired p JOIN mad m USING (rule_id, tbl, line, col)
)
SELECT *,
       CASE WHEN current IS NULL OR previous IS NULL THEN 'not_evaluable'
            WHEN units < getvariable('min_peers') THEN 'not_evaluable'
            WHEN greatest(previous, current) < getvariable('min_base') THEN 'pass'
            WHEN abs(z) > getvariable('z_threshold') THEN 'fail'
            ELSE 'pass' END AS status
FROM scored
