-- Within-year outliers: each period (quarter or month) of a unit against the unit's own
-- other periods of the same year, so the first year of data is evaluable (no history).
-- Per cell, unit and period: `usual` is the median of the unit's other periods (leave one
-- out: an outlier does not hide itself); `expected` is usual times the period's seasonal
-- factor (the median over all units of (value + 1) / (usual + 1), when enough units
-- report the period to make it theirs rather than one unit's own). The score is robust
-- and variance-stabilised: z = (sqrt(value) - sqrt(expected)) / sqrt((1 + 1/others)/4 +
-- c^2 expected / 4), the first term the counting noise of a count and of its baseline
-- (Poisson: sqrt(x) has variance 1/4), the second the spread between units beyond
-- counting (c = 1.4826 x the median absolute deviation of the units' log deviations,
-- floored at min_spread). So a small district's ordinary ups and downs do not alarm,
-- while a return ten times its usual size does, however small or large the unit.
-- Small counts never alarm: the value or the expected level must reach the minimum base.
-- Inputs: outlier_facts (series_facts of the year and the year before), outlier_cells(rule_id, form, tbl, line, col, label); variables year,
-- z_threshold, min_base, min_spread, min_peers (other periods needed), season_units
-- (units needed to estimate a seasonal factor; with fewer, none is applied).
WITH v AS (
    SELECT h.rule_id, h.label, f.tbl, f.line, f.col, f.unit, f.period,
           sum(f.value) AS value, min(f.addr) AS addr
    FROM outlier_facts f JOIN outlier_cells h USING (form, tbl, line, col)
    WHERE f.year = getvariable('year')
    GROUP BY ALL
),
loo AS (
    SELECT a.rule_id, a.tbl, a.line, a.col, a.unit, a.period,
           median(b.value) AS usual, count(b.value) AS others
    FROM v a LEFT JOIN v b
      ON b.rule_id = a.rule_id AND b.tbl = a.tbl AND b.line = a.line AND b.col = a.col
     AND b.unit = a.unit AND b.period <> a.period
    GROUP BY ALL
),
dev AS (
    SELECT v.*, l.usual, l.others,
           CASE WHEN l.others >= getvariable('min_peers')
                THEN ln((v.value + 1.0) / (l.usual + 1.0)) END AS d
    FROM v JOIN loo l USING (rule_id, tbl, line, col, unit, period)
),
centre AS (  -- the seasonal factor needs enough units to be theirs, not one unit's own
    SELECT rule_id, tbl, line, col, period,
           CASE WHEN count(d) >= getvariable('season_units') THEN median(d) ELSE 0 END AS med
    FROM dev WHERE d IS NOT NULL GROUP BY ALL
),
spread AS (
    SELECT d.rule_id, d.tbl, d.line, d.col, median(abs(d.d - c.med)) AS mad
    FROM dev d JOIN centre c USING (rule_id, tbl, line, col, period)
    GROUP BY ALL
),
expect AS (
    SELECT d.*, greatest((d.usual + 1.0) * exp(c.med) - 1.0, 0) AS expected,
           greatest(1.4826 * s.mad, getvariable('min_spread')) AS c
    FROM dev d
    LEFT JOIN centre c USING (rule_id, tbl, line, col, period)
    LEFT JOIN spread s USING (rule_id, tbl, line, col)
),
scored AS (
    SELECT *, (sqrt(value) - sqrt(expected))
              / sqrt((1.0 + 1.0 / greatest(others, 1)) / 4 + c * c * expected / 4) AS z
    FROM expect
)
SELECT rule_id, label, tbl, line, col, unit, period, value, usual, expected, others, addr, z,
       CASE WHEN value IS NULL THEN 'not_evaluable'
            WHEN others < getvariable('min_peers') THEN 'not_evaluable'
            WHEN greatest(value, expected) < getvariable('min_base') THEN 'pass'
            WHEN abs(z) > getvariable('z_threshold') THEN 'fail'
            ELSE 'pass' END AS status,
       CASE WHEN value IS NULL THEN 'nothing reported'
            WHEN others < getvariable('min_peers') THEN 'other periods reported: ' || others END AS why
FROM scored
ORDER BY rule_id, tbl, line, col, unit, period
