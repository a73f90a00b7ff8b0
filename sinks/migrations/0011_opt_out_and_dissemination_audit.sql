-- 1. The national data opt-out (DIDS-SPEC 11), applied at dissemination: the sink copies the list
-- (dids.optout, keyed by person_id, the same keyed hash as the records carry) into optout_changes.
-- No view analysts or statistics read looks at it: the warehouse keeps every record and the stats_* and
-- pub_* views count them. Record-level extracts and the linkage feed leave the listed persons out
-- unless their agreement is exempt (sinks/dissemination).
CREATE TABLE IF NOT EXISTS {db}.optout_changes
(
    person_id String,
    status LowCardinality(String),
    created_date Nullable(Date),
    processed_time DateTime64(3, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64,
    inserted_time DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(kafka_offset)
ORDER BY person_id;

-- a person's changes share a partition (key = person_id), so the highest offset is the latest change
CREATE VIEW IF NOT EXISTS {db}.opted_out_persons AS
SELECT person_id FROM {db}.optout_changes FINAL WHERE status = 'opted_out';

-- 2. Every record-level release (`dids extract`, `dids linkage`): one row a run, written before the file
-- is put in place, so no file leaves without its row. The analyst account reads it and can change
-- nothing (the embedded warehouse holds it to reading; on a server it is granted SELECT only, see
-- deploy/clickhouse/initdb). Plain MergeTree: rows are only ever added.
CREATE TABLE IF NOT EXISTS {db}.dissemination_audit
(
    run_id String,
    kind LowCardinality(String),
    run_time DateTime64(3, 'UTC'),
    run_by String,
    recipient String,
    reference String,
    purpose String,
    legal_basis String,
    expires Date32,
    national_data_opt_out LowCardinality(String),
    columns Array(String),
    months Array(String),
    providers Array(String),
    modalities Array(String),
    since Nullable(Date32),
    rows UInt64,
    opted_out_left_out UInt64,
    file_name String,
    file_sha256 String,
    agreement_sha256 String,
    inserted_time DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (run_time, run_id);
