-- fsck: every submission's cells against the input cells of its form version.
-- Input: expected(form, version, tbl, line, col), registered from the schemas.
-- One row per submission with a problem: missing and unexpected cells (count, examples),
-- negative counts, and whether the schemas know its form version at all.
WITH subs AS (
    SELECT s.submission_id, s.form, s.version,
           EXISTS (SELECT 1 FROM expected e WHERE e.form = s.form AND e.version = s.version) AS known
    FROM submissions s
),
missing AS (
    SELECT s.submission_id, count(*) AS n,
           list(e.tbl || '/' || e.line || '/' || e.col ORDER BY e.tbl, e.line, e.col)[1:3] AS examples
    FROM subs s JOIN expected e ON e.form = s.form AND e.version = s.version
    LEFT JOIN cells c ON c.submission_id = s.submission_id AND c.tbl = e.tbl
                     AND c.line = e.line AND c.col = e.col
    WHERE c.submission_id IS NULL
    GROUP BY ALL
),
unexpected AS (
    SELECT s.submission_id, count(*) AS n,
           list(c.tbl || '/' || c.line || '/' || c.col ORDER BY c.tbl, c.line, c.col)[1:3] AS examples
    FROM subs s JOIN cells c USING (submission_id)
    LEFT JOIN expected e ON e.form = s.form AND e.version = s.version AND e.tbl = c.tbl
                        AND e.line = c.line AND e.col = c.col
    WHERE s.known AND e.form IS NULL
    GROUP BY ALL
),
negative AS (
    SELECT submission_id, count(*) AS n,
           list(coalesce(sheet || '!', '') || coalesce(addr, tbl || '/' || line || '/' || col)
                ORDER BY tbl, line, col)[1:3] AS examples
    FROM cells WHERE value < 0
    GROUP BY ALL
),
expected_count AS (
    SELECT form, version, count(*) AS n FROM expected GROUP BY ALL
)
SELECT s.submission_id, s.form, s.version, s.known,
       m.n AS missing, m.examples AS missing_examples,
       u.n AS unexpected, u.examples AS unexpected_examples,
       g.n AS negative, g.examples AS negative_examples,
       x.n AS expected
FROM subs s
LEFT JOIN missing m USING (submission_id)
LEFT JOIN unexpected u USING (submission_id)
LEFT JOIN negative g USING (submission_id)
LEFT JOIN expected_count x ON x.form = s.form AND x.version = s.version
WHERE NOT s.known OR m.n IS NOT NULL OR u.n IS NOT NULL OR g.n IS NOT NULL
ORDER BY s.submission_id
