-- One file of a release.
INSERT INTO release_files (release_id, file, kind, years, table_name, rows, bytes, sha256, archive_path)
VALUES ($release_id, $file, $kind, $years, $table_name, $rows, $bytes, $sha256, $archive_path)
