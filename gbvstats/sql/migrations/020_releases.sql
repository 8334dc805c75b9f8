-- 020: releases. Every publication made (`gbvstats publish`), what it was made from (the
-- warehouse's state at an audit event, its parameters, the code) and every file it wrote,
-- kept in the archive under its SHA-256. Written with a `released` audit event that
-- rebuild replays.

CREATE TABLE releases (
    release_id VARCHAR PRIMARY KEY,
    scope VARCHAR NOT NULL,
    years INTEGER[] NOT NULL,
    revision INTEGER NOT NULL,
    previous VARCHAR,
    status VARCHAR NOT NULL,
    as_of TIMESTAMP,
    last_event INTEGER NOT NULL,
    content_sha256 VARCHAR NOT NULL,
    manifest_sha256 VARCHAR NOT NULL,
    manifest JSON NOT NULL,
    released_at TIMESTAMP NOT NULL,
    released_by VARCHAR,
    out_dir VARCHAR
);
COMMENT ON TABLE releases IS 'Every release (publication) made: its state of the warehouse, parameters, code and manifest; one row per distinct release (publishing the same again adds none)';
COMMENT ON COLUMN releases.release_id IS 'Release id: scope and revision, e.g. 2024-r2';
COMMENT ON COLUMN releases.scope IS 'The years published, as revisions are counted: 2024, or 2020-2024 for a multi-year publication';
COMMENT ON COLUMN releases.years IS 'Years published';
COMMENT ON COLUMN releases.revision IS '1 for the first release of the scope, 2.. for each release that changed anything after it';
COMMENT ON COLUMN releases.previous IS 'The release of the same scope this one revises (NULL for r1)';
COMMENT ON COLUMN releases.status IS 'final (the publication gate passed) or provisional (published with --provisional)';
COMMENT ON COLUMN releases.as_of IS 'Time of the last audit event of the state the release was made from (UTC): the release''s own timestamp, written in its files';
COMMENT ON COLUMN releases.last_event IS 'Last audit event of that state: the release is made from every event up to it';
COMMENT ON COLUMN releases.content_sha256 IS 'SHA-256 of what the release says (inputs, decisions, parameters, figures): equal content is the same release';
COMMENT ON COLUMN releases.manifest_sha256 IS 'SHA-256 of the release''s manifest.json';
COMMENT ON COLUMN releases.manifest IS 'The manifest.json written with the release';
COMMENT ON COLUMN releases.released_at IS 'When the release was first written (UTC, the clock; not in its files)';
COMMENT ON COLUMN releases.released_by IS 'Who published it (--by, else the login name)';
COMMENT ON COLUMN releases.out_dir IS 'Folder it was first written to';

CREATE TABLE release_files (
    release_id VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    years INTEGER[],
    table_name VARCHAR,
    rows BIGINT,
    bytes BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    archive_path VARCHAR NOT NULL,
    PRIMARY KEY (release_id, file)
);
COMMENT ON TABLE release_files IS 'Every file of every release, its bytes kept in the archive under their SHA-256';
COMMENT ON COLUMN release_files.release_id IS 'The release';
COMMENT ON COLUMN release_files.file IS 'File name in the published folder';
COMMENT ON COLUMN release_files.kind IS 'xlsx, csv, parquet, sdmx-csv, labels, manifest';
COMMENT ON COLUMN release_files.years IS 'Years whose figures the file holds';
COMMENT ON COLUMN release_files.table_name IS 'Indicator table of a csv or parquet file';
COMMENT ON COLUMN release_files.rows IS 'Rows of data, where the file has rows';
COMMENT ON COLUMN release_files.bytes IS 'Size in bytes';
COMMENT ON COLUMN release_files.sha256 IS 'SHA-256 of the bytes published';
COMMENT ON COLUMN release_files.archive_path IS 'Path of the kept copy, relative to the archive directory';
