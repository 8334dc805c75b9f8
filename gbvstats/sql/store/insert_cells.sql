INSERT INTO cells (submission_id, tbl, line, col, value, sheet, addr)
SELECT submission_id, tbl, line, col, value, sheet, addr FROM new_cells
