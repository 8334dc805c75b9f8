-- Reviewers' decisions on returns (accepted / returned, `gbvstats serve`) recorded by the
-- state's last event: one row per `reviewed` event, ids in the events' order, so the
-- state holds as many of the first reviews as it has events (`--accepted-only` reads them).
SELECT * FROM reviews
QUALIFY row_number() OVER (ORDER BY review_id)
        <= (SELECT count(*) FROM audit_log WHERE event_id <= $1 AND event = 'reviewed')
