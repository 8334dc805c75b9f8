-- 005: the period dimension, and the fingerprint of the schemas the dimension tables were
-- loaded from (they are refreshed whenever the schemas change).

CREATE TABLE dim_period (
    period VARCHAR PRIMARY KEY,
    periodicity VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    quarter INTEGER,
    month INTEGER,
    start_date DATE NOT NULL,
    end_date DATE NOT NULL
);
COMMENT ON TABLE dim_period IS 'Every reporting period (year, quarter, month) from the year the earliest form version starts to ten years after the latest starts';
COMMENT ON COLUMN dim_period.period IS 'Period as written on forms: 2024, 2024-Q1 or 2024-03';
COMMENT ON COLUMN dim_period.periodicity IS 'year, quarter or month';
COMMENT ON COLUMN dim_period.quarter IS 'Quarter 1..4 of a quarterly period, or of the month of a monthly one';
COMMENT ON COLUMN dim_period.month IS 'Month 1..12 of a monthly period';
COMMENT ON COLUMN dim_period.start_date IS 'First day of the period';
COMMENT ON COLUMN dim_period.end_date IS 'Last day of the period';

CREATE TABLE dimension_source (
    fingerprint VARCHAR NOT NULL
);
COMMENT ON TABLE dimension_source IS 'SHA-256 of the dimension rows last loaded from the schemas; a different one triggers a reload';
COMMENT ON COLUMN dimension_source.fingerprint IS 'SHA-256 of dim_territory, dim_element, concordance and dim_period as loaded';
