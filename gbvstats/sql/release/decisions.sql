-- NSC decisions in force for the release's years: the latest decision on each item
-- (`gbvstats decide`). The values decided on are raw counts of returns, which disclosure
-- control has not seen, and the note is free text: neither is published, the note's
-- SHA-256 is. Parameter: years[].
SELECT decision_id, year, source, rule_id, scope_id, item, item_key, decision, closes,
       decided_by, decided_at, sha256(note) AS note_sha256
FROM (SELECT *, row_number() OVER (PARTITION BY year, source, rule_id, scope_id, item
                                   ORDER BY decision_id DESC) AS rn
      FROM decisions WHERE list_contains($1, year))
WHERE rn = 1
ORDER BY decision_id
