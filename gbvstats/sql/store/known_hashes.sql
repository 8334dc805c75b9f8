-- Submissions already holding any of these file hashes: (sha256, submission_id).
SELECT sha256, submission_id
FROM submissions
WHERE list_contains(?::VARCHAR[], sha256)
