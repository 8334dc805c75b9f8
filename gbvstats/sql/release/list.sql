-- Every release, newest first: what it is, the state it was made from (its timestamp to
-- the microsecond, as `publish --as-of` takes it), when it was published, and how many
-- figures it changed against the release it revises.
SELECT r.release_id, r.status, r.previous,
       strftime(r.as_of, '%Y-%m-%dT%H:%M:%S.%f') AS timestamp,
       strftime(r.released_at, '%Y-%m-%d %H:%M:%S') AS released_at,
       CASE WHEN r.previous IS NULL THEN NULL
            ELSE json_array_length(r.manifest->'$.revisions.changes') END AS changed
FROM releases r
ORDER BY r.released_at DESC, r.release_id DESC
