-- A new token (its hash only): token_id, key_id, token_sha256, label, agency, role, created_at, created_by.
INSERT INTO api_tokens (token_id, key_id, token_sha256, label, agency, role, created_at, created_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
