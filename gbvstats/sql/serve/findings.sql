-- The stored findings (warnings, notes) of one submission, errors first, then by cell.
SELECT code, severity, sheet, cell, rule_id, params
FROM findings WHERE submission_id = ?
ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, sheet, cell, code
