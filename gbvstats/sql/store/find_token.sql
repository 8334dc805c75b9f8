-- A token named by its id, its label or its key id: (token_id, label, revoked_at).
SELECT token_id, label, revoked_at FROM api_tokens
WHERE CAST(token_id AS VARCHAR) = $1 OR lower(label) = lower($1) OR key_id = $1
ORDER BY revoked_at NULLS FIRST, token_id
