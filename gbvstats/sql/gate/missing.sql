-- Expected returns of the year per form (completeness of the last consolidation).
SELECT form, count(*) AS expected
FROM completeness_results
WHERE year = $1
GROUP BY form
