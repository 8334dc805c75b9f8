-- Releases recorded by the state's last event (each by its `released` event).
SELECT * FROM releases
WHERE release_id IN (SELECT detail->>'release_id' FROM audit_log
                     WHERE event_id <= $1 AND event = 'released')
