-- Explanations recorded by the state's last event. Each `explanation` event writes one
-- row and ids follow the events' order (both under the writer lock; fsck GBV-W021 checks
-- they agree), so the state holds as many of the first explanations as it has events.
SELECT * FROM explanations
QUALIFY row_number() OVER (ORDER BY explanation_id)
        <= (SELECT count(*) FROM audit_log WHERE event_id <= $1 AND event = 'explanation')
