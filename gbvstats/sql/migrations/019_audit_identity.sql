-- 019: audit rows name the token an action was taken with.

ALTER TABLE audit_log ADD COLUMN token_id INTEGER;
COMMENT ON COLUMN audit_log.token_id IS 'The token of the request (gbvstats serve); NULL for a local command';
COMMENT ON COLUMN audit_log.agency IS 'Agency acting: the token''s agency on the server, --agency for a local submit';
COMMENT ON COLUMN audit_log.actor IS 'Who acted: the token''s label on the server, --by (or the login name) locally';
COMMENT ON COLUMN audit_log.event IS 'accepted, accepted_with_warnings, rejected, refused_agency, refused_locked, unreadable, explanation, reviewed, locked, unlocked, token_created, token_revoked';
COMMENT ON COLUMN audit_log.detail IS 'Findings of a refused attempt (whole, to be shown in any language), the explanation text, the decision and comment, the lock, the token (its hash)';
