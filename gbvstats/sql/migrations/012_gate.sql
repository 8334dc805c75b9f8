-- 012: the publication gate. Runs that are told apart (reconcile, consolidate), a score
-- for outliers, the NSC's decisions on what the controls found, the results of the
-- expectation suites (great-expectations) on the published tables, and the one
-- definition of what is still open (`control_items`), read by the gate and by ind08.

ALTER TABLE consolidation_runs ADD COLUMN command VARCHAR;
COMMENT ON COLUMN consolidation_runs.run_id IS 'Run number, one sequence for reconcile and consolidate';
COMMENT ON COLUMN consolidation_runs.year IS 'Year run';
COMMENT ON COLUMN consolidation_runs.started_at IS 'When the run started (UTC)';
COMMENT ON COLUMN consolidation_runs.finished_at IS 'When it finished (UTC)';
COMMENT ON COLUMN consolidation_runs.detail IS 'Rows written per indicator table';
COMMENT ON COLUMN consolidation_runs.command IS 'reconcile (controls only) or consolidate (controls and indicator tables)';

ALTER TABLE rule_results ADD COLUMN score DOUBLE;
COMMENT ON COLUMN rule_results.run_id IS 'The run (consolidation_runs) that stored the result';
COMMENT ON COLUMN rule_results.year IS 'Year evaluated';
COMMENT ON COLUMN rule_results.scope_id IS '<SOATE>|<period> of the territory and period compared';
COMMENT ON COLUMN rule_results.rule_id IS 'Rule of schemas/rules/*.yaml';
COMMENT ON COLUMN rule_results.kind IS 'Rule kind: reconciliation, hierarchy, history, within_year, cross_section, ...';
COMMENT ON COLUMN rule_results.severity IS 'error or warning (from the rule)';
COMMENT ON COLUMN rule_results.status IS 'pass, fail, not_evaluable or error';
COMMENT ON COLUMN rule_results.reason IS 'What was compared, in words (why not evaluable, the rate against its peers, ...)';
COMMENT ON COLUMN rule_results.item_label IS 'The item of the rule: binding (line=02) or element checked';
COMMENT ON COLUMN rule_results.left_value IS 'Left side; for outliers the value checked';
COMMENT ON COLUMN rule_results.right_value IS 'Right side; for outliers the expected value (last year, usual level, or the peers'' median rate applied)';
COMMENT ON COLUMN rule_results.imbalance IS 'left_value - right_value';
COMMENT ON COLUMN rule_results.tolerance IS 'Tolerance applied; for outliers the z threshold';
COMMENT ON COLUMN rule_results.cells IS 'Sheet!cell addresses of the cells involved';
COMMENT ON COLUMN rule_results.score IS 'Outliers: the robust z-score (NULL for other kinds)';

CREATE TABLE decisions (
    decision_id INTEGER PRIMARY KEY,
    year INTEGER NOT NULL,
    source VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    scope_id VARCHAR NOT NULL,
    item VARCHAR NOT NULL,
    item_key VARCHAR NOT NULL,
    item_values VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    closes BOOLEAN NOT NULL,
    note VARCHAR NOT NULL,
    decided_by VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL
);
COMMENT ON TABLE decisions IS 'Decisions of the NSC on what the controls found (gbvstats decide), replayed by rebuild from the audit log';
COMMENT ON COLUMN decisions.decision_id IS 'Sequential id, in order of recording';
COMMENT ON COLUMN decisions.year IS 'Year the item belongs to';
COMMENT ON COLUMN decisions.source IS 'control (consolidation rule), finding (rule of a form on a return), missing (expected return), quality (expectation on a published table)';
COMMENT ON COLUMN decisions.rule_id IS 'Rule id, form code (missing return) or expectation id';
COMMENT ON COLUMN decisions.scope_id IS '<SOATE>|<period>, or the table of an expectation';
COMMENT ON COLUMN decisions.item IS 'Item within the scope: binding, element, cell or column (- none)';
COMMENT ON COLUMN decisions.item_key IS 'Short key of the item, as printed by gbvstats gate';
COMMENT ON COLUMN decisions.item_values IS 'The values decided on: the decision lapses when the item''s values change';
COMMENT ON COLUMN decisions.decision IS 'Code of schemas/codelists/decision.yaml (accepted, corrected, ...)';
COMMENT ON COLUMN decisions.closes IS 'Whether the decision closes the item (from the code list when it was recorded)';
COMMENT ON COLUMN decisions.note IS 'The NSC''s reasons, as written';
COMMENT ON COLUMN decisions.decided_by IS 'Who decided';
COMMENT ON COLUMN decisions.decided_at IS 'When it was recorded (UTC)';

CREATE TABLE quality_runs (
    run_id INTEGER NOT NULL,
    year INTEGER NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    consolidation_run INTEGER,
    table_name VARCHAR NOT NULL,
    suite_hash VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    expectation_type VARCHAR NOT NULL,
    column_name VARCHAR,
    severity VARCHAR NOT NULL,
    success BOOLEAN NOT NULL,
    observed VARCHAR,
    unexpected_count BIGINT,
    unexpected_sample VARCHAR,
    kwargs VARCHAR,
    agencies VARCHAR,
    gx_version VARCHAR
);
COMMENT ON TABLE quality_runs IS 'Results of the expectation suites (pipelines/expectations/*.yaml, run by great-expectations) on each published table, per run of gbvstats quality or the gate';
COMMENT ON COLUMN quality_runs.run_id IS 'Quality run number';
COMMENT ON COLUMN quality_runs.year IS 'Year checked';
COMMENT ON COLUMN quality_runs.checked_at IS 'When the suites ran (UTC)';
COMMENT ON COLUMN quality_runs.consolidation_run IS 'The consolidation run that built the tables checked';
COMMENT ON COLUMN quality_runs.table_name IS 'Indicator table checked, as it would be published (after disclosure control)';
COMMENT ON COLUMN quality_runs.suite_hash IS 'SHA-256 of the compiled suite (the YAML with its derived code lists, columns and bounds)';
COMMENT ON COLUMN quality_runs.expectation IS 'Expectation id within the suite, e.g. non_negative:reports';
COMMENT ON COLUMN quality_runs.expectation_type IS 'great-expectations expectation type';
COMMENT ON COLUMN quality_runs.column_name IS 'Column checked (NULL for table-level expectations)';
COMMENT ON COLUMN quality_runs.severity IS 'error (the table is wrong) or warning (to be decided by the NSC)';
COMMENT ON COLUMN quality_runs.success IS 'Whether the expectation was met';
COMMENT ON COLUMN quality_runs.observed IS 'Observed value (JSON) as reported by great-expectations';
COMMENT ON COLUMN quality_runs.unexpected_count IS 'Rows that did not meet it';
COMMENT ON COLUMN quality_runs.unexpected_sample IS 'Some of those rows (JSON)';
COMMENT ON COLUMN quality_runs.kwargs IS 'The expectation''s parameters (JSON)';
COMMENT ON COLUMN quality_runs.agencies IS 'Agencies whose forms the table is built from, comma-separated';
COMMENT ON COLUMN quality_runs.gx_version IS 'great-expectations version that ran the suite';

-- What the controls found for a year, and whether it is still open: failed consolidation
-- controls of the year's latest run, warnings of rules on current returns, expected
-- returns missing, failed expectations of the latest quality run. An item is closed by an
-- NSC decision that closes (on the same values) or by an agency explanation (controls and
-- findings only); errors stay open until the data are corrected.
CREATE VIEW control_items AS
WITH latest_run AS (
    SELECT year, max(run_id) AS run_id FROM rule_results GROUP BY year
),
latest_quality AS (
    SELECT year, max(run_id) AS run_id FROM quality_runs GROUP BY year
),
items AS (
    SELECT 'control' AS source, r.year, r.rule_id, r.kind, r.severity, r.status, r.scope_id,
           split_part(r.scope_id, '|', 1) AS unit, split_part(r.scope_id, '|', 2) AS period,
           coalesce(r.item_label, '-') AS item, r.agencies,
           r.left_value, r.right_value, r.score, r.reason, r.cells,
           CAST(NULL AS INTEGER) AS submission_id,
           CASE WHEN r.kind IN ('history', 'within_year', 'cross_section')
                THEN coalesce(CAST(r.left_value AS VARCHAR), '')
                ELSE coalesce(CAST(r.left_value AS VARCHAR), '') || '/'
                     || coalesce(CAST(r.right_value AS VARCHAR), '') END AS item_values
    FROM rule_results r JOIN latest_run USING (year, run_id)
    WHERE r.status IN ('fail', 'error')
    UNION ALL
    SELECT 'finding', s.year, f.rule_id, f.code, f.severity, 'fail', s.unit || '|' || s.period,
           s.unit, s.period, coalesce(f.sheet || '!' || f.cell, '-'), s.agency,
           TRY_CAST(f.params->>'left' AS HUGEINT), TRY_CAST(f.params->>'right' AS HUGEINT),
           NULL, f.message_en, [coalesce(f.sheet || '!' || f.cell, '-')], s.submission_id,
           coalesce(f.params->>'left', '') || '/' || coalesce(f.params->>'right', '')
    FROM findings f JOIN current_submissions s USING (submission_id)
    WHERE f.rule_id IS NOT NULL AND f.severity IN ('warning', 'error')
    UNION ALL
    SELECT 'missing', c.year, c.form, 'completeness', 'warning', c.state,
           c.unit || '|' || c.period, c.unit, c.period, '-', c.agency,
           NULL, NULL, NULL, c.state, [], NULL, ''
    FROM completeness_results c
    WHERE c.state IN ('missing', 'rejected')
    UNION ALL
    SELECT 'quality', q.year, q.expectation, q.expectation_type, q.severity, 'fail',
           q.table_name, NULL, NULL, coalesce(q.column_name, '-'), q.agencies,
           NULL, NULL, NULL, q.observed, [], NULL, coalesce(q.observed, '')
    FROM quality_runs q JOIN latest_quality USING (year, run_id)
    WHERE NOT q.success
),
keyed AS (
    SELECT i.*, left(md5(i.source || '|' || i.rule_id || '|' || i.scope_id || '|' || i.item), 10) AS item_key
    FROM items i
),
decided AS (
    SELECT * FROM (
        SELECT d.*, row_number() OVER (PARTITION BY d.year, d.source, d.rule_id, d.scope_id, d.item
                                       ORDER BY d.decision_id DESC) AS rn
        FROM decisions d
    ) WHERE rn = 1
),
explained AS (
    SELECT k.*, d.decision, d.note AS decision_note, d.decided_by, d.decided_at, d.closes,
           d.item_values AS decided_values,
           (SELECT string_agg(e.text || ' (' || coalesce(e.author, '?') || ', submission '
                              || e.submission_id || ')', '; ' ORDER BY e.explanation_id)
            FROM explanations e
            JOIN submissions s ON s.submission_id = e.submission_id
            JOIN dim_territory t ON t.soate = s.unit
            JOIN dim_period sp ON sp.period = s.period
            LEFT JOIN dim_period kp ON kp.period = k.period
            WHERE e.rule_id = k.rule_id
              AND ((k.source = 'finding' AND e.submission_id = k.submission_id)
                OR (k.source = 'control'
                    AND k.unit IN (s.unit, t.oblast, '41700000000000')
                    AND list_contains(string_split(k.agencies, ','), s.agency)
                    AND sp.start_date <= coalesce(kp.end_date, make_date(k.year, 12, 31))
                    AND coalesce(kp.start_date, make_date(k.year, 1, 1)) <= sp.end_date))
           ) AS explanation
    FROM keyed k
    LEFT JOIN decided d ON d.year = k.year AND d.source = k.source AND d.rule_id = k.rule_id
                       AND d.scope_id = k.scope_id AND d.item = k.item
)
SELECT source, year, rule_id, kind, severity, status, scope_id, unit, period, item, item_key,
       agencies, left_value, right_value, score, reason, cells, submission_id, item_values,
       explanation, decision, decision_note, decided_by, decided_at, decided_values,
       decision IS NOT NULL AND decided_values <> item_values AS decision_lapsed,
       CASE WHEN severity = 'error' THEN 'open'
            WHEN closes AND decided_values = item_values THEN 'decided'
            WHEN source IN ('control', 'finding') AND explanation IS NOT NULL THEN 'explained'
            ELSE 'open' END AS state
FROM explained;
COMMENT ON VIEW control_items IS 'Everything the controls found per year (failed consolidation controls of the latest run, rule warnings on current returns, missing returns, failed expectations) with its explanation, the NSC decision and its state: open, explained or decided. The gate and ind08 read it.';
COMMENT ON COLUMN control_items.source IS 'control (consolidation rule result), finding (rule of a form on a current return), missing (expected return), quality (expectation on a published table)';
COMMENT ON COLUMN control_items.year IS 'Year the item belongs to';
COMMENT ON COLUMN control_items.rule_id IS 'Rule id; the form code of a missing return; table.expectation of a quality item';
COMMENT ON COLUMN control_items.kind IS 'Rule kind, finding code, completeness, or the great-expectations expectation type';
COMMENT ON COLUMN control_items.severity IS 'error (corrected, never decided) or warning (explained or decided)';
COMMENT ON COLUMN control_items.status IS 'fail or error (controls); missing or rejected (returns)';
COMMENT ON COLUMN control_items.scope_id IS '<SOATE>|<period> of the territory and period, or the table of a quality item';
COMMENT ON COLUMN control_items.unit IS 'Territory of the item (SOATE)';
COMMENT ON COLUMN control_items.period IS 'Period of the item';
COMMENT ON COLUMN control_items.item IS 'Item within the scope: binding, element, cell or column (- none)';
COMMENT ON COLUMN control_items.item_key IS 'Short key of the item (gbvstats gate prints it, gbvstats decide takes it)';
COMMENT ON COLUMN control_items.agencies IS 'Agencies concerned, comma-separated';
COMMENT ON COLUMN control_items.left_value IS 'Left side, or the value an outlier rule checked';
COMMENT ON COLUMN control_items.right_value IS 'Right side, or the value expected';
COMMENT ON COLUMN control_items.score IS 'Outliers: the robust z-score';
COMMENT ON COLUMN control_items.reason IS 'What was found, in words (English)';
COMMENT ON COLUMN control_items.cells IS 'Sheet!cell addresses involved';
COMMENT ON COLUMN control_items.submission_id IS 'The return a finding belongs to';
COMMENT ON COLUMN control_items.item_values IS 'The values a decision is taken on';
COMMENT ON COLUMN control_items.explanation IS 'Agency explanations that cover the item (text, author, submission)';
COMMENT ON COLUMN control_items.decision IS 'The latest NSC decision on the item (schemas/codelists/decision.yaml)';
COMMENT ON COLUMN control_items.decision_note IS 'The NSC''s reasons';
COMMENT ON COLUMN control_items.decided_by IS 'Who decided';
COMMENT ON COLUMN control_items.decided_at IS 'When (UTC)';
COMMENT ON COLUMN control_items.decided_values IS 'The values the decision was taken on';
COMMENT ON COLUMN control_items.decision_lapsed IS 'The values changed since the decision: it no longer closes the item';
COMMENT ON COLUMN control_items.state IS 'open, explained (by the agency) or decided (closed by the NSC): what the gate and ind08 count';
