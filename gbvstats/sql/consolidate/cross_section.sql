-- Cross-sectional outliers: a unit's rate (per `multiplier` of the denominator, e.g. per
-- 100,000 population of NSC-POP) against its peers in the same period. Returns of units
-- below the denominator's level are summed to it first (the population is reported per
-- oblast, so district returns are compared as their oblast's sum). Per cell, period and
-- peer group: `expected` is the count the unit would have at the peers' median rate
-- (median of ln((count + 0.5) / population)); the score is robust and variance-stabilised:
-- z = (sqrt(count) - sqrt(expected)) / sqrt(1/4 + c^2 expected / 4), the counting noise of
-- a count (Poisson: sqrt(x) has variance 1/4) and the spread between peers beyond it
-- (c = 1.4826 x the median absolute deviation of their log rates, floored at min_spread).
-- Evaluable from the first year. Small counts never alarm: the count or the expected
-- count must reach the minimum base.
-- Inputs: outlier_facts (series_facts of the year and the year before), outlier_cells(rule_id, form, tbl, line, col, label), denominator_cells(rule_id,
-- form, tbl, line, col), unit_map(unit, target, peer_group); variables year, z_threshold,
-- min_base, min_spread, min_peers, multiplier.
WITH num AS (
    SELECT h.rule_id, h.label, h.tbl, h.line, h.col, m.target AS unit, m.peer_group, f.period,
           sum(f.value) AS value, count(DISTINCT f.unit) AS returns, min(f.addr) AS addr
    FROM outlier_facts f
    JOIN outlier_cells h USING (form, tbl, line, col)
    JOIN unit_map m ON m.unit = f.unit
    WHERE f.year = getvariable('year')
    GROUP BY ALL
),
den AS (
    SELECT d.rule_id, f.unit, sum(f.value) AS population
    FROM outlier_facts f JOIN denominator_cells d USING (form, tbl, line, col)
    WHERE f.year = getvariable('year')
    GROUP BY ALL
),
r AS (
    SELECT n.*, p.population,
           CASE WHEN p.population > 0 AND n.value IS NOT NULL
                THEN ln((n.value + 0.5) / p.population) END AS lr
    FROM num n LEFT JOIN den p ON p.rule_id = n.rule_id AND p.unit = n.unit
),
peers AS (
    SELECT rule_id, tbl, line, col, period, peer_group, median(lr) AS med, count(lr) AS peers
    FROM r WHERE lr IS NOT NULL GROUP BY ALL
),
spread AS (
    SELECT r.rule_id, r.tbl, r.line, r.col, r.period, r.peer_group,
           median(abs(r.lr - p.med)) AS mad
    FROM r JOIN peers p USING (rule_id, tbl, line, col, period, peer_group)
    GROUP BY ALL
),
expect AS (
    SELECT r.*, p.med, p.peers,
           getvariable('multiplier') * r.value / r.population AS rate,
           getvariable('multiplier') * exp(p.med) AS peer_rate,
           exp(p.med) * r.population AS expected,
           greatest(1.4826 * s.mad, getvariable('min_spread')) AS c
    FROM r
    LEFT JOIN peers p USING (rule_id, tbl, line, col, period, peer_group)
    LEFT JOIN spread s USING (rule_id, tbl, line, col, period, peer_group)
),
scored AS (
    SELECT *, (sqrt(value) - sqrt(expected)) / sqrt(0.25 + c * c * expected / 4) AS z
    FROM expect
)
SELECT rule_id, label, tbl, line, col, unit, peer_group, period, value, returns, addr,
       population, rate, peer_rate, expected, peers, z,
       CASE WHEN value IS NULL THEN 'not_evaluable'
            WHEN population IS NULL OR population <= 0 THEN 'not_evaluable'
            WHEN coalesce(peers, 0) < getvariable('min_peers') THEN 'not_evaluable'
            WHEN greatest(value, expected) < getvariable('min_base') THEN 'pass'
            WHEN abs(z) > getvariable('z_threshold') THEN 'fail'
            ELSE 'pass' END AS status,
       CASE WHEN value IS NULL THEN 'nothing reported'
            WHEN population IS NULL OR population <= 0 THEN 'no population for the unit and year'
            WHEN coalesce(peers, 0) < getvariable('min_peers') THEN 'peers with a rate: ' || coalesce(peers, 0) END AS why
FROM scored
ORDER BY rule_id, tbl, line, col, unit, period
