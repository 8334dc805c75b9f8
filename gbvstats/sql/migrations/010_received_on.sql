-- 010: the date a return was originally received, declared when returns received long
-- ago are loaded (`gbvstats submit --received-on DATE`), so that completeness judges
-- their timeliness by it rather than by the day they were loaded.

ALTER TABLE submissions ADD COLUMN received_on DATE;
COMMENT ON COLUMN submissions.received_on IS 'Date the return was originally received, as declared by the submitter (submit --received-on, recorded in the audit log); NULL when received_at is the receipt. Completeness judges lateness by it';

ALTER TABLE completeness_results ADD COLUMN received_declared BOOLEAN;
COMMENT ON COLUMN completeness_results.received_declared IS 'first_received is a date declared by the submitter (submit --received-on), not the warehouse''s own receipt time';
COMMENT ON COLUMN completeness_results.first_received IS 'When the first accepted revision arrived: its declared date of receipt (received_on) if one was declared, else when the warehouse received it';
