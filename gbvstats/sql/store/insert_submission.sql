INSERT INTO submissions (submission_id, form, version, agency, unit, period, year, sha256,
                         file_name, archive_path, received_at, submitted_by, status, revision,
                         supersedes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
