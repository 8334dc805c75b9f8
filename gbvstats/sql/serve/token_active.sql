-- A token that is still valid: (token_id, label, agency, role).
SELECT token_id, label, agency, role FROM api_tokens WHERE token_id = ? AND revoked_at IS NULL
