-- A token that is not revoked already carries this label (labels name the actor in the audit log).
SELECT token_id FROM api_tokens WHERE lower(label) = lower(?) AND revoked_at IS NULL
