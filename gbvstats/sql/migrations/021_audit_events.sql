-- 021: the audit log's events named in full once decisions (012) and releases (020) record
-- theirs beside the server's (019).

COMMENT ON COLUMN audit_log.event IS 'accepted, accepted_with_warnings, rejected, refused_agency, refused_locked, unreadable, explanation, decision, reviewed, locked, unlocked, token_created, token_revoked, released';
