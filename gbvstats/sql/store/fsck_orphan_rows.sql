-- fsck: rows of the per-submission tables that refer to no submission.
SELECT 'cells' AS "table", count(*) AS n, list(DISTINCT submission_id ORDER BY submission_id)[1:5] AS ids
FROM cells WHERE submission_id NOT IN (SELECT submission_id FROM submissions)
HAVING count(*) > 0
UNION ALL
SELECT 'findings', count(*), list(DISTINCT submission_id ORDER BY submission_id)[1:5]
FROM findings WHERE submission_id NOT IN (SELECT submission_id FROM submissions)
HAVING count(*) > 0
UNION ALL
SELECT 'explanations', count(*), list(DISTINCT submission_id ORDER BY submission_id)[1:5]
FROM explanations WHERE submission_id NOT IN (SELECT submission_id FROM submissions)
HAVING count(*) > 0
