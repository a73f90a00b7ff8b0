-- Current examination records, one row per version; ReplacingMergeTree keeps the highest version
-- of each (site, accession). Query with FINAL (or argMax) for exact current counts.
-- Partitioned by the month of the *first* accepted test date, which every later version keeps:
-- background merges only replace rows within a partition, and a correction may move the test date.
-- non_replicated_deduplication_window makes retried inserts with the same
-- insert_deduplication_token a no-op: the sink's exactly-once guarantee rests on it.
CREATE TABLE IF NOT EXISTS {db}.examinations
(
    record_key String,
    site_code String,
    accession_number String,
    version Int64,
    status LowCardinality(String),
    event_id String,
    event_type LowCardinality(String),
    event_time DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    processed_time DateTime64(3, 'UTC'),
    inserted_time DateTime64(3, 'UTC') DEFAULT now64(3),
    source LowCardinality(String),
    submission_id Nullable(String),
    submitter_org Nullable(String),
    provider_code Nullable(String),
    diagnostic_test_date Nullable(Date32),
    first_test_date Nullable(Date32),
    month_of_test Nullable(UInt8),
    year_of_test Nullable(UInt16),
    patient_source_setting LowCardinality(Nullable(String)),
    imaging_code_nicip Nullable(String),
    imaging_code_snomed Nullable(String),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ifNull(first_test_date, toDate32('1970-01-01')))
ORDER BY (site_code, accession_number)
SETTINGS non_replicated_deduplication_window = 10000, allow_nullable_key = 0;
