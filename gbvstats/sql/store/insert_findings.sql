-- Warnings and notes of a chunk's accepted submissions, from the registered relation new_rows.
INSERT INTO findings BY NAME SELECT * FROM new_rows
