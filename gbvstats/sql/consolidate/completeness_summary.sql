-- Per agency and form: expected, received, accepted, on time, and rates; how many of the
-- dates of receipt were declared by the submitter (submit --received-on).
SELECT agency, form,
       count(*) AS expected,
       count(*) FILTER (WHERE state <> 'missing') AS received,
       count(*) FILTER (WHERE state IN ('accepted', 'accepted_with_warnings')) AS accepted,
       count(*) FILTER (WHERE state = 'accepted_with_warnings') AS with_warnings,
       count(*) FILTER (WHERE state = 'rejected') AS rejected_only,
       count(*) FILTER (WHERE state = 'missing') AS missing,
       count(*) FILTER (WHERE state IN ('accepted', 'accepted_with_warnings') AND NOT late) AS on_time,
       round(100.0 * count(*) FILTER (WHERE state IN ('accepted', 'accepted_with_warnings')) / count(*), 1) AS accepted_pct,
       round(100.0 * count(*) FILTER (WHERE state IN ('accepted', 'accepted_with_warnings') AND NOT late) / count(*), 1) AS on_time_pct,
       count(*) FILTER (WHERE received_declared) AS declared  -- dates of receipt declared, not recorded
FROM completeness
GROUP BY ALL
ORDER BY agency, form
