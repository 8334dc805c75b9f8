-- One release (from its `released` audit event's detail; also replayed by rebuild).
INSERT INTO releases (release_id, scope, years, revision, previous, status, as_of, last_event,
                      content_sha256, manifest_sha256, manifest, released_at, released_by, out_dir)
VALUES ($release_id, $scope, $years, $revision, $previous, $status, $as_of, $last_event,
        $content_sha256, $manifest_sha256, $manifest, $released_at, $released_by, $out_dir)
