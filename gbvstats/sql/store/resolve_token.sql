-- The row of a token's public key id: (token_id, label, agency, role, token_sha256, revoked_at).
SELECT token_id, label, agency, role, token_sha256, revoked_at FROM api_tokens WHERE key_id = ?
