-- Releases of a scope whose state is at or before a cut, latest first.
-- Parameters: scope, last event of the cut.
SELECT release_id, scope, years, revision, previous, status, as_of, last_event,
       content_sha256, manifest_sha256, manifest
FROM releases
WHERE scope = $1 AND last_event <= $2
ORDER BY revision DESC
