-- A chunk's cells, from the registered relation new_rows.
INSERT INTO cells (submission_id, tbl, line, col, value, sheet, addr)
SELECT submission_id, tbl, line, col, value, sheet, addr FROM new_rows
