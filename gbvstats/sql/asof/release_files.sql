-- Files of the releases recorded by the state's last event.
SELECT * FROM release_files
WHERE release_id IN (SELECT detail->>'release_id' FROM audit_log
                     WHERE event_id <= $1 AND event = 'released')
