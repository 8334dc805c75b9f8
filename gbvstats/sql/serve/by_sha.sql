-- The submission holding a file's bytes, if any: (submission_id, agency).
SELECT submission_id, agency FROM submissions WHERE sha256 = ?
