-- Every release, newest first, with its files and changes counted.
SELECT r.release_id, r.scope, r.revision, r.status, r.previous, r.as_of, r.last_event,
       r.released_at, r.released_by,
       (SELECT count(*) FROM release_files f WHERE f.release_id = r.release_id) AS files,
       json_array_length(r.manifest->'$.revisions.changes') AS changes,
       r.out_dir
FROM releases r
ORDER BY r.released_at DESC, r.release_id DESC
