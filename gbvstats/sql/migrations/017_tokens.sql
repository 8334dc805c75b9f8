-- 017: identities for `gbvstats serve`: one row per token, only its SHA-256 stored.

CREATE TABLE api_tokens (
    token_id INTEGER PRIMARY KEY,
    key_id VARCHAR NOT NULL UNIQUE,
    token_sha256 VARCHAR NOT NULL UNIQUE,
    label VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR,
    revoked_at TIMESTAMP,
    revoked_by VARCHAR
);
COMMENT ON TABLE api_tokens IS 'Tokens that agencies and the NSC use with gbvstats serve; the token itself is shown once and never stored';
COMMENT ON COLUMN api_tokens.token_id IS 'Sequential id, in order of creation';
COMMENT ON COLUMN api_tokens.key_id IS 'Public part of the token (gbv_<key_id>_<secret>), used to find its row';
COMMENT ON COLUMN api_tokens.token_sha256 IS 'SHA-256 of the whole token, compared in constant time';
COMMENT ON COLUMN api_tokens.label IS 'Who holds the token, e.g. MoI statistics unit; recorded as the actor of everything done with it';
COMMENT ON COLUMN api_tokens.agency IS 'Agency of the holder: MOI, GPO, JD, NSC, MLSP';
COMMENT ON COLUMN api_tokens.role IS 'submitter (own agency''s forms), reviewer (reads all, accepts, returns, locks) or admin';
COMMENT ON COLUMN api_tokens.created_at IS 'When the token was made (UTC)';
COMMENT ON COLUMN api_tokens.created_by IS 'Who made it (gbvstats token create --by, else the login name)';
COMMENT ON COLUMN api_tokens.revoked_at IS 'When it was revoked (UTC); a revoked token is refused';
COMMENT ON COLUMN api_tokens.revoked_by IS 'Who revoked it';

CREATE TABLE token_use (
    token_id INTEGER PRIMARY KEY,
    last_used_at TIMESTAMP NOT NULL,
    last_address VARCHAR
);
COMMENT ON TABLE token_use IS 'When each token was last used (updated at most once a minute); operational, not replayed by rebuild';
COMMENT ON COLUMN token_use.token_id IS 'The token';
COMMENT ON COLUMN token_use.last_used_at IS 'Last accepted request with the token (UTC)';
COMMENT ON COLUMN token_use.last_address IS 'Client address of that request';
