-- Monthly snapshots: a frozen copy of a reporting month's current records, provisional or final.
-- One partition per (month, kind); `dids snapshot` fills a staging table and swaps the partition in
-- with REPLACE PARTITION, so a re-run replaces the snapshot atomically and readers never see half.
-- The row columns copy examinations: a migration that adds a column there adds it here too.
CREATE TABLE IF NOT EXISTS {db}.snapshot_examinations
ENGINE = MergeTree
PARTITION BY (snapshot_month, snapshot_kind)
ORDER BY (site_code, accession_number)
EMPTY AS SELECT '' AS snapshot_month, CAST('' AS LowCardinality(String)) AS snapshot_kind, * FROM {db}.examinations;

-- One row per snapshot taken: when, what cut-off, how many rows, which reference data.
CREATE TABLE IF NOT EXISTS {db}.snapshots
(
    month String,
    kind LowCardinality(String),
    taken_at DateTime64(3, 'UTC'),
    cutoff DateTime64(3, 'UTC'),
    records UInt64,
    refdata String
)
ENGINE = ReplacingMergeTree(taken_at)
ORDER BY (month, kind);

-- Every statistic reads this: the live current records (source 'live') and every snapshot
-- (source 'provisional' / 'final'), with the month of test. Filter on source to choose.
CREATE VIEW IF NOT EXISTS {db}.stats_records AS
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
FROM {db}.snapshot_examinations;

-- National release shapes (DIDS-SPEC 9). Counts are of records (tests), never patients.
-- Imaging activity: tests by month and modality, with a Total row per month.
CREATE VIEW IF NOT EXISTS {db}.stats_activity_by_modality AS
SELECT source, month, if(grouping(m) = 1, 'Total', m) AS modality, count() AS tests
FROM (SELECT source, month, modality AS m FROM {db}.stats_records)
GROUP BY GROUPING SETS ((source, month, m), (source, month));

-- Provider x modality x month (the DID Table 1 shape, long rather than one column per month).
CREATE VIEW IF NOT EXISTS {db}.stats_provider_modality_month AS
SELECT source, month, any(region_id) AS region_code, provider_code, any(provider_name) AS provider_name, modality,
       count() AS tests
FROM {db}.stats_records
GROUP BY source, month, provider_code, modality;

-- Patient test times: days request -> test and test -> report, by month and modality. Percentiles
-- interpolate between ranks (quantileExactInclusive, as a spreadsheet's PERCENTILE.INC does);
-- records without both dates are left out of each interval.
CREATE VIEW IF NOT EXISTS {db}.stats_waiting_times AS
SELECT
    source, month, modality,
    count() AS tests,
    countIf(test_request_to_test IS NOT NULL) AS request_to_test_n,
    quantileExactInclusive(0.5)(test_request_to_test) AS request_to_test_median,
    quantileExactInclusive(0.9)(test_request_to_test) AS request_to_test_p90,
    quantileExactInclusive(0.95)(test_request_to_test) AS request_to_test_p95,
    countIf(test_to_service_report_issued IS NOT NULL) AS test_to_report_n,
    quantileExactInclusive(0.5)(test_to_service_report_issued) AS test_to_report_median,
    quantileExactInclusive(0.9)(test_to_service_report_issued) AS test_to_report_p90,
    quantileExactInclusive(0.95)(test_to_service_report_issued) AS test_to_report_p95
FROM {db}.stats_records
GROUP BY source, month, modality;

-- Tests that could contribute to early cancer diagnosis (classification EARLY_CANCER_DIAGNOSIS):
-- GP direct access (patient source 04) against all referrals, with median request -> test.
CREATE VIEW IF NOT EXISTS {db}.stats_early_cancer_gp_direct AS
SELECT
    source, month, assumeNotNull(early_cancer_diagnosis) AS test_group,
    countIf(patient_source_setting = '04') AS gp_direct_tests,
    count() AS all_tests,
    round(gp_direct_tests / all_tests, 4) AS gp_direct_share,
    quantileExactInclusiveIf(0.5)(test_request_to_test, patient_source_setting = '04') AS gp_direct_request_to_test_median,
    quantileExactInclusive(0.5)(test_request_to_test) AS all_request_to_test_median
FROM {db}.stats_records
WHERE early_cancer_diagnosis IS NOT NULL AND early_cancer_diagnosis != ''
GROUP BY source, month, test_group;

-- What changed between the provisional and the final snapshot of a month, by provider and modality.
CREATE VIEW IF NOT EXISTS {db}.snapshot_revisions AS
SELECT
    month, provider_code, modality,
    sumIf(tests, source = 'provisional') AS provisional_tests,
    sumIf(tests, source = 'final') AS final_tests,
    final_tests - provisional_tests AS revision
FROM {db}.stats_provider_modality_month
WHERE source IN ('provisional', 'final')
GROUP BY month, provider_code, modality;
