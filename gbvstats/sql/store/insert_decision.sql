-- One NSC decision; the id is max + 1 under the writer lock (gap-free, equal after a rebuild).
INSERT INTO decisions
SELECT COALESCE((SELECT max(decision_id) FROM decisions), 0) + 1,
       $year, $source, $rule_id, $scope_id, $item, $item_key, $item_values, $decision,
       $closes, $note, $decided_by, $decided_at
RETURNING decision_id
