-- A chunk's accepted submissions, from the registered relation new_rows.
INSERT INTO submissions BY NAME SELECT * FROM new_rows
