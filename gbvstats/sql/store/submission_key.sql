-- A submission's form, agency, year and revision, and the current revision of its key.
SELECT s.form, s.agency, s.year, s.revision,
       (SELECT arg_max(c.submission_id, c.revision) FROM submissions c
        WHERE c.form = s.form AND c.unit = s.unit AND c.period = s.period) AS current
FROM submissions s WHERE s.submission_id = ?
