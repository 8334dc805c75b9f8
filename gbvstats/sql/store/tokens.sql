-- Every token, never the token itself: who holds it, what it may do, when it was used.
SELECT t.token_id, t.label, t.agency, t.role, t.created_at, t.created_by,
       u.last_used_at, u.last_address, t.revoked_at, t.revoked_by
FROM api_tokens t LEFT JOIN token_use u USING (token_id)
ORDER BY t.token_id
