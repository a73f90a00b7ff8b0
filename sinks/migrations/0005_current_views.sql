-- The current examinations: latest version of each (site, accession), active, and not displaced
-- by a later extract file for its provider and reporting month ("last good file", DIDS-SPEC 10.3).
-- Everything analysts count reads from current_examinations, so activity always equals counts over
-- current records, whatever was updated, recoded or cancelled: the views are computed, never kept.

-- The latest accepted file per (provider, reporting month). A file covers the providers of its rows.
CREATE VIEW IF NOT EXISTS {db}.last_good_files AS
SELECT
    f.provider_code AS provider_code,
    s.period AS period,
    argMax(s.submission_id, s.received_time) AS submission_id,
    max(s.received_time) AS received_time
FROM {db}.submissions AS s FINAL
INNER JOIN
(
    SELECT DISTINCT submission_id, assumeNotNull(provider_code) AS provider_code
    FROM {db}.examinations
    WHERE submission_id IS NOT NULL AND provider_code IS NOT NULL
) AS f ON f.submission_id = s.submission_id
WHERE s.status = 'accepted'
GROUP BY f.provider_code, s.period;

-- A record stays current when no file covers its provider-month, when it came in that file, or when
-- it arrived after that file (real-time events apply on top of the last good file).
CREATE VIEW IF NOT EXISTS {db}.current_examinations AS
SELECT e.*
FROM {db}.examinations AS e FINAL
LEFT JOIN {db}.last_good_files AS f
    ON f.provider_code = ifNull(e.provider_code, '') AND f.period = formatDateTime(e.diagnostic_test_date, '%Y-%m')
WHERE e.status = 'active'
  AND (f.submission_id = '' OR ifNull(e.submission_id, '') = f.submission_id OR e.received_time > f.received_time);

-- Activity by day and by month x provider x site x modality x patient source x age band x gender.
CREATE VIEW IF NOT EXISTS {db}.activity_daily AS
SELECT
    diagnostic_test_date AS day,
    provider_code,
    site_code,
    ifNull(modality, 'Unknown') AS modality,
    patient_source_setting,
    age_band_5_years,
    gender_code,
    count() AS tests
FROM {db}.current_examinations
GROUP BY day, provider_code, site_code, modality, patient_source_setting, age_band_5_years, gender_code;

CREATE VIEW IF NOT EXISTS {db}.activity_monthly AS
SELECT
    formatDateTime(day, '%Y-%m') AS month,
    provider_code, site_code, modality, patient_source_setting, age_band_5_years, gender_code,
    sum(tests) AS tests
FROM {db}.activity_daily
GROUP BY month, provider_code, site_code, modality, patient_source_setting, age_band_5_years, gender_code;

-- Data quality: rejected record versions by rule, provider and month of test (a record rejected twice
-- counts twice, and stays counted after a later accepted correction: this measures what was sent);
-- warnings by rule over the current records. Rejects without a test date have no month.
CREATE VIEW IF NOT EXISTS {db}.dq_rejects_by_rule AS
SELECT
    formatDateTime(diagnostic_test_date, '%Y-%m') AS month,
    provider_code,
    arrayJoin(rejects) AS rule,
    count() AS records
FROM {db}.rejects FINAL
GROUP BY month, provider_code, rule;

CREATE VIEW IF NOT EXISTS {db}.dq_warnings_by_rule AS
SELECT
    formatDateTime(diagnostic_test_date, '%Y-%m') AS month,
    provider_code,
    arrayJoin(warnings) AS rule,
    count() AS records
FROM {db}.current_examinations
GROUP BY month, provider_code, rule;
