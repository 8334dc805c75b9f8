-- fsck: every file of every release, kept in the archive (release_files, migration 020).
SELECT archive_path, sha256, min(release_id) AS release_id, min(file) AS file
FROM release_files
GROUP BY archive_path, sha256
ORDER BY archive_path
