-- Year-on-year outliers: per cell and unit, the change from last year compared with the
-- changes of all units for the same cell, as a modified z-score on the median absolute
-- deviation (Iglewicz and Hoaglin). Small counts never alarm: both years must reach the
-- minimum base.
-- Inputs: history_cells(rule_id, form, tbl, line, col) and variables year, z_threshold, min_base.
WITH yearly AS (
    SELECT h.rule_id, f.form, f.tbl, f.line, f.col, f.element, f.unit, f.year,
           sum(f.value) AS value, min(f.addr) AS addr
    FROM series_facts f
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
    SELECT rule_id, tbl, line, col, median(change) AS med
    FROM paired GROUP BY ALL
),
mad AS (
    SELECT p.rule_id, p.tbl, p.line, p.col, s.med, median(abs(p.change - s.med)) AS mad
    FROM paired p JOIN spread s USING (rule_id, tbl, line, col)
    GROUP BY ALL
)
SELECT p.*, 0.6745 * (p.change - m.med) / NULLIF(m.mad, 0) AS z,
       CASE WHEN greatest(p.previous, p.current) < getvariable('min_base') THEN 'pass'
            WHEN m.mad IS NULL OR m.mad = 0 THEN 'not_evaluable'
            WHEN abs(0.6745 * (p.change - m.med) / m.mad) > getvariable('z_threshold') THEN 'fail'
            ELSE 'pass' END AS status
FROM paired p JOIN mad m USING (rule_id, tbl, line, col)
