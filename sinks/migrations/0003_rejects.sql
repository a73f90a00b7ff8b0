-- Records the national rules rejected, with every failed rule code (dids.rejects). No patient
-- identifiers: rule codes, field names, keys and dates only. One row per (record, version).
CREATE TABLE IF NOT EXISTS {db}.rejects
(
    record_key String,
    site_code String,
    accession_number String,
    version Int64,
    event_id String,
    event_type LowCardinality(String),
    event_time DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    processed_time DateTime64(3, 'UTC'),
    inserted_time DateTime64(3, 'UTC') DEFAULT now64(3),
    source LowCardinality(String),
    submission_id Nullable(String),
    submitter_org Nullable(String),
    row_number Nullable(UInt64),
    provider_code Nullable(String),
    diagnostic_test_date Nullable(Date32),
    month_of_test Nullable(Int32),
    year_of_test Nullable(Int32),
    modality LowCardinality(Nullable(String)),
    rejects Array(String),
    warnings Array(String),
    not_checked Array(String),
    `failures.code` Array(String),
    `failures.severity` Array(String),
    `failures.fields` Array(Array(String)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_time)
ORDER BY (record_key, version, event_id)
SETTINGS non_replicated_deduplication_window = 10000;
