-- NSC decisions (`gbvstats decide`) recorded by the state's last event. Each `decision`
-- event writes one row and ids follow the events' order (both under the writer lock), so
-- the state holds as many of the first decisions as it has events.
SELECT * FROM decisions
QUALIFY row_number() OVER (ORDER BY decision_id)
        <= (SELECT count(*) FROM audit_log WHERE event_id <= $1 AND event = 'decision')
