-- Equipment utilisation: tests by site x modality x weekday x hour of the test's local clock time.
-- The hour comes from the stream (examination_record v3, test_hour): a DIDS v2 start timestamp, or
-- HL7 OBR-7 with a time, kept only when its offset is the UK clock's and its date is the test date
-- (dids/kernel/timestamps.py). A record with a date only has test_hour NULL: it counts on its day and
-- weekday with hour NULL, never guessed into an hour.
ALTER TABLE {db}.examinations ADD COLUMN IF NOT EXISTS test_hour Nullable(UInt8);
-- snapshots copy the examinations' columns (0006_snapshots_and_statistics.sql)
ALTER TABLE {db}.snapshot_examinations ADD COLUMN IF NOT EXISTS test_hour Nullable(UInt8);

-- A view's `*` is expanded when the view is made: the views that pass every column on are made again
-- so that they show test_hour (same definitions as 0009 and 0008).
CREATE OR REPLACE VIEW {db}.current_examinations AS
SELECT e.*
FROM {db}.examinations AS e FINAL
LEFT JOIN {db}.last_good_files AS f
    ON f.provider_code = ifNull(e.provider_code, '') AND f.period = formatDateTime(e.diagnostic_test_date, '%Y-%m')
WHERE e.status = 'active'
  AND (f.submission_id = '' OR ifNull(e.submission_id, '') = f.submission_id OR e.received_time > f.received_time)
  AND ifNull(e.person_id, '') NOT IN (SELECT person_id FROM {db}.withdrawn_persons)
  AND ifNull(e.submission_id, '') NOT IN (SELECT submission_id FROM {db}.submissions FINAL WHERE status != 'accepted');

CREATE OR REPLACE VIEW {db}.analyst_examinations AS
SELECT * EXCEPT (record_key, accession_number, event_id, kafka_topic, kafka_partition, kafka_offset)
FROM {db}.current_examinations;

-- Tests by month x provider x site x modality x weekday (1 = Monday .. 7 = Sunday, ISO) x hour (0-23,
-- local clock), from the current records, at three levels (`level`; sum within one level only):
--   'site'       one row per site, modality, weekday and hour: what Grafana and analysts mostly want;
--   'site_hours' the same summed over the weekdays (weekday NULL): a site's busiest and idlest hours;
--   'national'   all sites together (provider_code and site_code NULL): the report's heatmaps.
-- hour NULL = date only: the record counts on its weekday, in no hour. NULL and not a sentinel number
-- (-1, 24) or a 'date only' label: a number would sort, plot and add up as an hour, and a label would
-- make the column text; `hour IS NULL` says it plainly. Restricted (fertility-related) records publish
-- only their month (their date is the 1st, their hour is dropped in the stream): weekday and hour both
-- NULL, so they count in the month and nowhere else. Every current record with a test date counts once
-- per level: a level's sum over a month equals activity_monthly's.
CREATE VIEW IF NOT EXISTS {db}.utilisation_hourly AS
WITH cells AS
(
    SELECT
        formatDateTime(diagnostic_test_date, '%Y-%m') AS month,
        provider_code,
        site_code,
        ifNull(modality, 'Unknown') AS modality,
        if(restricted, NULL, toDayOfWeek(diagnostic_test_date)) AS weekday,
        if(restricted, NULL, test_hour) AS hour,
        count() AS tests
    FROM {db}.current_examinations
    WHERE diagnostic_test_date IS NOT NULL
    GROUP BY month, provider_code, site_code, modality, weekday, hour
)
SELECT 'site' AS level, month, provider_code, site_code, modality, weekday, hour, tests FROM cells
UNION ALL
SELECT 'site_hours' AS level, month, provider_code, site_code, modality, CAST(NULL AS Nullable(UInt8)) AS weekday,
    hour, sum(tests) AS tests
FROM cells GROUP BY month, provider_code, site_code, modality, hour
UNION ALL
SELECT 'national' AS level, month, CAST(NULL AS Nullable(String)) AS provider_code,
    CAST(NULL AS Nullable(String)) AS site_code, modality, weekday, hour, sum(tests) AS tests
FROM cells GROUP BY month, modality, weekday, hour;

-- Published twin: the same rows under the disclosure rules in force (0010_disclosure_control.sql): a count
-- of 1..threshold is NULL (suppressed), any other rounded to the nearest base (never down to 0); there are
-- no zero rows (an empty hour has no row). No count here is exact, the national ones included, so a hidden
-- cell cannot be taken back by subtracting the others from a total: the difference carries every cell's
-- rounding (as between the other pub_* tables). No rules row: no rows, never unprotected.
CREATE VIEW IF NOT EXISTS {db}.pub_utilisation_hourly AS
SELECT
    u.level AS level, u.month AS month, u.provider_code AS provider_code, u.site_code AS site_code,
    u.modality AS modality, u.weekday AS weekday, u.hour AS hour,
    if(u.tests <= r.threshold, NULL,
       greatest(toUInt64(r.rounding_base), intDiv(u.tests + intDiv(r.rounding_base, 2), r.rounding_base) * r.rounding_base))
        AS tests
FROM {db}.utilisation_hourly AS u
CROSS JOIN (SELECT threshold, rounding_base FROM {db}.disclosure_rules ORDER BY set_at DESC LIMIT 1) AS r;
