-- The cancer-registry linkage feed (`dids linkage`): each examination's linkage pseudonym (a keyed hash of
-- its NHS number with the key shared with the registry, computed by the stream processors only when
-- DIDS_LINKAGE_KEY_FILE is set), copied by the sink from dids.linkage. Restricted: no analyst view reads
-- it, and on a server only the linkage role is granted linkage_feed (deploy/clickhouse/initdb); the
-- embedded warehouse's linkage account reads linkage_feed and nothing else.
CREATE TABLE IF NOT EXISTS {db}.linkage_pseudonyms
(
    record_key String,
    version Int64,
    linkage_id Nullable(String),
    processed_time DateTime64(3, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64,
    inserted_time DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY record_key;

-- What the registry receives: the current records (withdrawn consent already left out) with their
-- linkage pseudonym, and whether the person is on the national data opt-out list, so that a run can
-- apply its agreement's setting. No person_id, accession number or record key: only the registry's key
-- links a row to a patient.
CREATE VIEW IF NOT EXISTS {db}.linkage_feed AS
SELECT
    l.linkage_id AS linkage_id,
    e.provider_code AS provider_code,
    e.site_code AS site_code,
    e.diagnostic_test_date AS diagnostic_test_date,
    formatDateTime(e.diagnostic_test_date, '%Y-%m') AS month,
    e.diagnostic_test_request_date AS diagnostic_test_request_date,
    e.service_report_issue_date AS service_report_issue_date,
    e.modality AS modality,
    e.sub_modality AS sub_modality,
    e.imaging_code_nicip AS imaging_code_nicip,
    e.imaging_code_nicip_description AS imaging_code_nicip_description,
    e.derived_imaging_code_snomed_ct AS derived_imaging_code_snomed_ct,
    e.early_cancer_diagnosis AS early_cancer_diagnosis,
    e.patient_source_setting AS patient_source_setting,
    e.received_time AS received_time,
    ifNull(e.person_id, '') IN (SELECT person_id FROM {db}.opted_out_persons) AS opted_out
FROM {db}.current_examinations AS e
INNER JOIN (SELECT record_key, argMax(linkage_id, version) AS linkage_id FROM {db}.linkage_pseudonyms GROUP BY record_key) AS l
    ON l.record_key = e.record_key
WHERE l.linkage_id IS NOT NULL;
