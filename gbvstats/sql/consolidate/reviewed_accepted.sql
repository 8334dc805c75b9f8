-- How many returns of a year the NSC accepted (their standing decision): nothing to
-- consolidate with --accepted-only when none.
SELECT count(*)
FROM submissions s
JOIN review_state r USING (submission_id)
WHERE s.year = ? AND r.decision = 'accepted'
