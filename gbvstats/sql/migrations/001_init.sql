-- 001: the warehouse's first shape. Every table and column carries a comment: they feed
-- the data dictionary (`gbvstats dictionary`).

CREATE SEQUENCE submission_seq START 1;
CREATE SEQUENCE event_seq START 1;
CREATE SEQUENCE explanation_seq START 1;

CREATE TABLE submissions (
    submission_id INTEGER PRIMARY KEY,
    form VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    agency VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,
    file_name VARCHAR NOT NULL,
    archive_path VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    submitted_by VARCHAR,
    status VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    supersedes INTEGER
);
COMMENT ON TABLE submissions IS 'Every accepted workbook: one row per file received, revisions kept';
COMMENT ON COLUMN submissions.submission_id IS 'Sequential id, in order of receipt';
COMMENT ON COLUMN submissions.form IS 'Form code, e.g. MOI-FV';
COMMENT ON COLUMN submissions.version IS 'Form version the workbook was filled on';
COMMENT ON COLUMN submissions.agency IS 'Submitting agency: MOI, GPO, JD, NSC, MLSP';
COMMENT ON COLUMN submissions.unit IS 'Reporting unit, SOATE code (14 digits)';
COMMENT ON COLUMN submissions.period IS 'Reporting period: 2024, 2024-Q1 or 2024-03';
COMMENT ON COLUMN submissions.year IS 'Year of the period';
COMMENT ON COLUMN submissions.sha256 IS 'SHA-256 of the file bytes; the archive key';
COMMENT ON COLUMN submissions.file_name IS 'File name as submitted';
COMMENT ON COLUMN submissions.archive_path IS 'Path of the original bytes, relative to the archive directory';
COMMENT ON COLUMN submissions.received_at IS 'When the warehouse received the file (UTC)';
COMMENT ON COLUMN submissions.submitted_by IS 'Person or unit that submitted';
COMMENT ON COLUMN submissions.status IS 'accepted or accepted_with_warnings';
COMMENT ON COLUMN submissions.revision IS '1 for the first accepted file of a form, unit and period; 2.. for corrections';
COMMENT ON COLUMN submissions.supersedes IS 'The submission this revision replaces';

CREATE TABLE cells (
    submission_id INTEGER NOT NULL,
    tbl VARCHAR NOT NULL,
    line VARCHAR NOT NULL,
    col INTEGER NOT NULL,
    value BIGINT,
    sheet VARCHAR,
    addr VARCHAR,
    PRIMARY KEY (submission_id, tbl, line, col)
);
COMMENT ON TABLE cells IS 'Every input cell of every submission, long format';
COMMENT ON COLUMN cells.submission_id IS 'The submission the cell belongs to';
COMMENT ON COLUMN cells.tbl IS 'Table id of the form (T1, T2, ...)';
COMMENT ON COLUMN cells.line IS 'Line code as printed on the form';
COMMENT ON COLUMN cells.col IS 'Column number as printed on the form';
COMMENT ON COLUMN cells.value IS 'The count; NULL when nothing was reported (blank or dash), distinct from 0';
COMMENT ON COLUMN cells.sheet IS 'Sheet where the value was read';
COMMENT ON COLUMN cells.addr IS 'Excel address where the value was read';

CREATE TABLE findings (
    submission_id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    sheet VARCHAR,
    cell VARCHAR,
    rule_id VARCHAR,
    params JSON,
    message VARCHAR
);
COMMENT ON TABLE findings IS 'Warnings and notes on accepted submissions (submissions with errors are not stored)';
COMMENT ON COLUMN findings.code IS 'Catalogue code, see docs/findings.md';
COMMENT ON COLUMN findings.severity IS 'warning or info';
COMMENT ON COLUMN findings.sheet IS 'Sheet of the cell concerned';
COMMENT ON COLUMN findings.cell IS 'Excel address of the cell concerned';
COMMENT ON COLUMN findings.rule_id IS 'The rule that raised it, if any';
COMMENT ON COLUMN findings.params IS 'Values of the finding (left, right, imbalance, ...)';
COMMENT ON COLUMN findings.message IS 'The message in English';

CREATE TABLE explanations (
    explanation_id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL,
    rule_id VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    author VARCHAR,
    created_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE explanations IS 'Agency explanations of warnings and reconciliation discrepancies';
COMMENT ON COLUMN explanations.rule_id IS 'The rule explained';
COMMENT ON COLUMN explanations.text IS 'The explanation as written by the agency';

CREATE TABLE audit_log (
    event_id INTEGER PRIMARY KEY,
    event_at TIMESTAMP NOT NULL,
    event VARCHAR NOT NULL,
    agency VARCHAR,
    actor VARCHAR,
    file_name VARCHAR,
    sha256 VARCHAR,
    submission_id INTEGER,
    detail JSON
);
COMMENT ON TABLE audit_log IS 'Every state change and every refused attempt, in order';
COMMENT ON COLUMN audit_log.event IS 'accepted, rejected, refused_agency, unreadable, explanation';
COMMENT ON COLUMN audit_log.detail IS 'Findings of a refused attempt, or the explanation text';

CREATE TABLE dim_territory (
    soate VARCHAR PRIMARY KEY,
    sdmx_code VARCHAR,
    level VARCHAR NOT NULL,
    parent VARCHAR,
    oblast VARCHAR,
    area VARCHAR,
    name_en VARCHAR,
    name_ru VARCHAR
);
COMMENT ON TABLE dim_territory IS 'Territories (SOATE, pre-2024 boundaries) with their oblast-level unit';
COMMENT ON COLUMN dim_territory.oblast IS 'SOATE of the oblast-level unit (itself for oblasts and cities of republican significance)';
COMMENT ON COLUMN dim_territory.area IS 'SDMX area code of the oblast-level unit (KG02..KG21; KG for the country)';

CREATE TABLE dim_element (
    form VARCHAR, version INTEGER, tbl VARCHAR, line VARCHAR, col INTEGER,
    element VARCHAR, parent_line VARCHAR, iccs VARCHAR,
    sex VARCHAR, age VARCHAR, violence_form VARCHAR, exploitation VARCHAR,
    relationship VARCHAR, citizenship VARCHAR, place VARCHAR, offence VARCHAR,
    stage VARCHAR, service VARCHAR, sanction VARCHAR,
    PRIMARY KEY (form, version, tbl, line, col)
);
COMMENT ON TABLE dim_element IS 'Every cell of every form version with its element id and dimension members, from the schemas';
COMMENT ON COLUMN dim_element.element IS 'Semantic element id of the line, e.g. tpo_issued';

CREATE TABLE concordance (
    form VARCHAR, version INTEGER, tbl VARCHAR, line VARCHAR, col INTEGER,
    latest_version INTEGER, latest_tbl VARCHAR, latest_line VARCHAR, latest_col INTEGER
);
COMMENT ON TABLE concordance IS 'Cells of older form versions mapped to the latest version, from the schemas'' concordances';

CREATE TABLE rule_results (
    run_id INTEGER, year INTEGER, scope_id VARCHAR, rule_id VARCHAR, kind VARCHAR,
    severity VARCHAR, status VARCHAR, reason VARCHAR, item_label VARCHAR,
    left_value HUGEINT, right_value HUGEINT, imbalance HUGEINT, tolerance DOUBLE,
    cells VARCHAR[]
);
COMMENT ON TABLE rule_results IS 'Cross-agency reconciliation and data-quality results per consolidation run';

CREATE TABLE consolidation_runs (
    run_id INTEGER PRIMARY KEY, year INTEGER, started_at TIMESTAMP, finished_at TIMESTAMP,
    detail JSON
);
COMMENT ON TABLE consolidation_runs IS 'Each run of gbvstats consolidate';
