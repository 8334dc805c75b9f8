-- The files of a release, as recorded. Parameter: release id.
SELECT file, kind, years, table_name AS "table", rows, bytes, sha256, archive_path
FROM release_files WHERE release_id = $1 ORDER BY file
