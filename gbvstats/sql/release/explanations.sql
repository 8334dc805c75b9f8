-- Agency explanations in force on the release's returns: who explained which rule when;
-- the text itself stays in the warehouse, the manifest carries its SHA-256.
-- Parameter: years[].
SELECT e.explanation_id, e.submission_id, e.rule_id, e.author, e.created_at,
       sha256(e.text) AS text_sha256
FROM explanations e JOIN current_submissions s USING (submission_id)
WHERE list_contains($1, s.year)
ORDER BY e.explanation_id
