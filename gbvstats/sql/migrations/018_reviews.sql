-- 018: the NSC's decisions on submissions, and locked periods.

CREATE TABLE reviews (
    review_id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL,
    decision VARCHAR NOT NULL,
    comment VARCHAR,
    reviewer VARCHAR NOT NULL,
    reviewer_agency VARCHAR,
    token_id INTEGER,
    decided_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE reviews IS 'Every decision of an NSC reviewer on a submission, in order; the latest one counts (view review_state)';
COMMENT ON COLUMN reviews.review_id IS 'Sequential id, in order of decision';
COMMENT ON COLUMN reviews.submission_id IS 'The submission decided on (a current revision when decided)';
COMMENT ON COLUMN reviews.decision IS 'accepted (the NSC takes the figures) or returned (the agency must send a corrected revision)';
COMMENT ON COLUMN reviews.comment IS 'The reviewer''s comment; compulsory for a return';
COMMENT ON COLUMN reviews.reviewer IS 'Label of the reviewer''s token (or --by for a local decision)';
COMMENT ON COLUMN reviews.reviewer_agency IS 'Agency of the reviewer''s token';
COMMENT ON COLUMN reviews.token_id IS 'The token used, if any';
COMMENT ON COLUMN reviews.decided_at IS 'When (UTC)';

CREATE TABLE period_locks (
    year INTEGER NOT NULL,
    agency VARCHAR NOT NULL,
    form VARCHAR NOT NULL,
    locked_at TIMESTAMP NOT NULL,
    locked_by VARCHAR NOT NULL,
    token_id INTEGER,
    comment VARCHAR,
    PRIMARY KEY (year, agency, form)
);
COMMENT ON TABLE period_locks IS 'Locked (year, agency, form): no new submission or revision until unlocked; the history is in audit_log';
COMMENT ON COLUMN period_locks.year IS 'Reporting year locked (every period of it)';
COMMENT ON COLUMN period_locks.agency IS 'Agency whose form is locked';
COMMENT ON COLUMN period_locks.form IS 'Form code';
COMMENT ON COLUMN period_locks.locked_at IS 'When it was locked (UTC)';
COMMENT ON COLUMN period_locks.locked_by IS 'Label of the reviewer''s token (or --by)';
COMMENT ON COLUMN period_locks.token_id IS 'The token used, if any';
COMMENT ON COLUMN period_locks.comment IS 'Why, as written by the reviewer';

CREATE VIEW review_state AS
SELECT submission_id, decision, comment, reviewer, reviewer_agency, decided_at
FROM (SELECT *, row_number() OVER (PARTITION BY submission_id ORDER BY review_id DESC) AS rn
      FROM reviews)
WHERE rn = 1;
COMMENT ON VIEW review_state IS 'The standing decision on each reviewed submission (its latest review)';

-- `SET VARIABLE accepted_only = true` restricts every view built on current_submissions
-- (current_cells, facts, series_cells, the indicator pipelines) to the latest revision
-- the NSC accepted: `gbvstats consolidate --accepted-only`.
CREATE OR REPLACE VIEW current_submissions AS
SELECT * EXCLUDE (rn) FROM (
    SELECT s.*, row_number() OVER (PARTITION BY form, unit, period
                                   ORDER BY revision DESC) AS rn
    FROM submissions s
    WHERE NOT COALESCE(getvariable('accepted_only'), false)
       OR s.submission_id IN (SELECT submission_id FROM review_state WHERE decision = 'accepted')
) WHERE rn = 1;
COMMENT ON VIEW current_submissions IS 'The latest accepted revision of every form, unit and period (with the variable accepted_only set: the latest one the NSC accepted)';
