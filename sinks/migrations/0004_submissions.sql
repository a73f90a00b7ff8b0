-- Extract submissions as announced by their manifests (dids.submissions): one row per file, the
-- unit of "last good file". ReplacingMergeTree by published_time: a re-announced file keeps its latest.
CREATE TABLE IF NOT EXISTS {db}.submissions
(
    submission_id String,
    status LowCardinality(String),
    submitter_org Nullable(String),
    period String,
    file_name String,
    file_format LowCardinality(String),
    sha256 String,
    record_count Int64,
    received_time DateTime64(3, 'UTC'),
    published_time DateTime64(3, 'UTC'),
    file_reject_code Nullable(String),
    file_reject_line Nullable(Int64),
    file_reject_message Nullable(String),
    inserted_time DateTime64(3, 'UTC') DEFAULT now64(3),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree(published_time)
ORDER BY submission_id
SETTINGS non_replicated_deduplication_window = 10000;
