-- The submission holding a file's bytes: (submission_id, agency, form, version, unit, period).
SELECT submission_id, agency, form, version, unit, period FROM submissions WHERE sha256 = ?
