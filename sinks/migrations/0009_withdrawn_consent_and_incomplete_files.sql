-- 1. Withdrawn consent reaches what is already stored: the sink copies the consent list (dids.consent, keyed
-- by person_id, the same keyed hash as the records carry) into consent_changes, and every view analysts
-- and extracts read leaves out the records of a withdrawn person, live and in the snapshots, from the
-- moment the change is inserted. The base tables keep the rows (a reinstatement brings them back).
CREATE TABLE IF NOT EXISTS {db}.consent_changes
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
CREATE VIEW IF NOT EXISTS {db}.withdrawn_persons AS
SELECT person_id FROM {db}.consent_changes FINAL WHERE status = 'withdrawn';

-- A file's rows count only once its manifest says it was published whole: `dids submit` announces a
-- file as 'publishing' before its first row and 'accepted' after its last, and says 'incomplete' when it
-- fails in between; a submitter killed mid-file leaves 'publishing', so its rows never count.
CREATE OR REPLACE VIEW {db}.current_examinations AS
SELECT e.*
FROM {db}.examinations AS e FINAL
LEFT JOIN {db}.last_good_files AS f
    ON f.provider_code = ifNull(e.provider_code, '') AND f.period = formatDateTime(e.diagnostic_test_date, '%Y-%m')
WHERE e.status = 'active'
  AND (f.submission_id = '' OR ifNull(e.submission_id, '') = f.submission_id OR e.received_time > f.received_time)
  AND ifNull(e.person_id, '') NOT IN (SELECT person_id FROM {db}.withdrawn_persons)
  AND ifNull(e.submission_id, '') NOT IN (SELECT submission_id FROM {db}.submissions FINAL WHERE status != 'accepted');

CREATE OR REPLACE VIEW {db}.stats_records AS
SELECT
    'live' AS source,
    formatDateTime(diagnostic_test_date, '%Y-%m') AS month,
    provider_code, provider_name, region_id, site_code, ifNull(modality, 'Unknown') AS modality,
    patient_source_setting, early_cancer_diagnosis, ccg_code, gp_code,
    test_request_to_test, test_to_service_report_issued
FROM {db}.current_examinations
WHERE diagnostic_test_date IS NOT NULL
UNION ALL
SELECT
    snapshot_kind AS source,
    snapshot_month AS month,
    provider_code, provider_name, region_id, site_code, ifNull(modality, 'Unknown') AS modality,
    patient_source_setting, early_cancer_diagnosis, ccg_code, gp_code,
    test_request_to_test, test_to_service_report_issued
FROM {db}.snapshot_examinations
WHERE ifNull(person_id, '') NOT IN (SELECT person_id FROM {db}.withdrawn_persons);
