-- Disclosure control of the published statistics (DIDS-SPEC 9.5, 11): the pub_* views are the stats_*
-- views as they may leave the building. A count of 1..threshold is suppressed (NULL: the column stays
-- numeric, and no reader can take a suppressed cell for a number), any other non-zero count is rounded
-- to the nearest rounding base (never down to 0); zeros and the national total of a month are exact.
-- Only the month's all-modality total counts as national: a modality's count can be a handful of tests
-- at one provider (PET, SPECT, a small installation), so it is controlled like any other cell.
-- The statistics of a suppressed cell (its medians, percentiles, shares, sub-counts) are suppressed too.

-- The rules in force: the latest row. `dids db migrate` records DIDS_DISCLOSURE_* here as typed values
-- (sinks/disclosure.py), so a change of rules needs no new view and never reaches SQL as text. With no
-- row the pub_* views are empty, never unprotected.
CREATE TABLE IF NOT EXISTS {db}.disclosure_rules
(
    threshold UInt32,
    rounding_base UInt32,
    set_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY set_at;

-- The provider x modality table of each (source, month) with its margins: provider totals (modality
-- 'Total'), national modality totals (national = 1) and the national total (exact). Primary suppression
-- hides counts 1..threshold; a total minus the other cells of its line would then give a hidden cell
-- back, so secondary suppression repeats until no line (a provider's modalities with its total, a
-- modality's providers with its national total, the provider totals, the national modality totals) has
-- exactly one hidden cell: each round, every such line also hides its smallest non-zero published cell
-- (ties by provider, then modality). Each round hides at least one more cell, so as many rounds as cells
-- always reach the end; a round after the last change only compares two arrays. The one line that cannot
-- be protected is one whose only non-zero cell equals the national total, which is published by rule.
CREATE VIEW IF NOT EXISTS {db}.disclosure_provider_modality AS
SELECT
    source,
    month,
    cell.1 AS national,
    cell.5 AS provider_code,
    cell.6 AS region_code,
    cell.7 AS provider_name,
    cell.8 AS modality,
    cell.3 AS tests,
    hidden AS suppressed,
    if(
        hidden,
        NULL,
        if(cell.4 = 1 OR cell.3 = 0, cell.3,
           greatest(toUInt64(rounding_base), intDiv(cell.3 + intDiv(rounding_base, 2), rounding_base) * rounding_base))
    ) AS published
FROM
(
    SELECT
        source, month, rounding_base, cells,
        -- line keys: 'p:<provider>' or 'n' (national row) and 'c:<modality>' (columns, 'c:Total' too)
        arrayMap(c -> if(c.1 = 1, 'n', concat('p', if(isNull(c.5), '?', concat(':', assumeNotNull(c.5))))), cells) AS rl,
        arrayMap(c -> if(c.4 = 1, '', concat('c:', c.8)), cells) AS cl,
        arrayMap(c -> c.3, cells) AS v,
        arrayMap(c -> c.4, cells) AS ex,
        arrayMap((r, e) -> if(e = 1, '', r), rl, ex) AS row_line,
        arrayFilter(l -> l != '', arrayDistinct(arrayConcat(row_line, cl))) AS lines,
        arraySort(i -> (v[i], i), arrayEnumerate(v)) AS smallest_first,
        arrayMap((n, e) -> toUInt8(e = 0 AND n >= 1 AND n <= threshold), v, ex) AS primary,
        arrayFold(
            (acc, k) -> if(
                acc.1 = acc.2,
                acc,
                (
                    arrayMap(
                        i -> toUInt8(acc.1[i] = 1 OR has(
                            arrayMap(
                                l -> arrayFirst(
                                    j -> acc.1[j] = 0 AND ex[j] = 0 AND v[j] > 0 AND (row_line[j] = l OR cl[j] = l),
                                    smallest_first
                                ),
                                arrayFilter(
                                    l -> arrayCount(j -> acc.1[j] = 1 AND (row_line[j] = l OR cl[j] = l), arrayEnumerate(v)) = 1,
                                    lines
                                )
                            ),
                            i
                        )),
                        arrayEnumerate(v)
                    ),
                    acc.1
                )
            ),
            arrayEnumerate(v),
            (primary, CAST([], 'Array(UInt8)'))
        ).1 AS hidden_cells
    FROM
    (
        -- cell: (national, 0, tests, exact, provider_code, region_code, provider_name, modality), sorted
        SELECT
            source, month,
            arraySort(groupArray((national, 0, cell_tests, exact, cell_provider, cell_region, cell_name, cell_modality))) AS cells
        FROM
        (
            SELECT
                source, month,
                toUInt8(grouping(provider_code) = 1) AS national,
                toUInt8(grouping(provider_code) = 1 AND grouping(modality) = 1) AS exact,
                if(grouping(provider_code) = 1, NULL, provider_code) AS cell_provider,
                if(grouping(provider_code) = 1, NULL, any(region_code)) AS cell_region,
                if(grouping(provider_code) = 1, NULL, any(provider_name)) AS cell_name,
                if(grouping(modality) = 1, 'Total', modality) AS cell_modality,
                toUInt64(sum(tests)) AS cell_tests
            FROM {db}.stats_provider_modality_month
            GROUP BY GROUPING SETS (
                (source, month, provider_code, modality),
                (source, month, provider_code),
                (source, month, modality),
                (source, month)
            )
        )
        GROUP BY source, month
    ) AS tables
    CROSS JOIN (SELECT threshold, rounding_base FROM {db}.disclosure_rules ORDER BY set_at DESC LIMIT 1) AS rules
)
ARRAY JOIN cells AS cell, hidden_cells AS hidden;

-- Provider x modality x month, published: the stats_provider_modality_month rows, plus each provider's
-- total (modality 'Total', controlled like the cells), so nobody adds up rounded cells for it.
CREATE VIEW IF NOT EXISTS {db}.pub_provider_modality_month AS
SELECT source, month, region_code, provider_code, provider_name, modality, published AS tests
FROM {db}.disclosure_provider_modality
WHERE national = 0;

-- Imaging activity, published: stats_activity_by_modality's rows (the national row of the table above,
-- so a modality hidden here is hidden consistently with its providers), the Total row exact.
CREATE VIEW IF NOT EXISTS {db}.pub_activity_by_modality AS
SELECT source, month, modality, published AS tests
FROM {db}.disclosure_provider_modality
WHERE national = 1;

-- Patient test times, published: stats_waiting_times with the modality's tests as in
-- pub_activity_by_modality; a hidden modality hides its whole row, and a median or percentile over
-- 1..threshold intervals is hidden (with so few records it describes the patients).
CREATE VIEW IF NOT EXISTS {db}.pub_waiting_times AS
SELECT
    w.source AS source, w.month AS month, w.modality AS modality,
    c.published AS tests,
    if(c.suppressed = 1, NULL, multiIf(w.request_to_test_n = 0, 0, w.request_to_test_n <= r.threshold, NULL,
        greatest(toUInt64(r.rounding_base), intDiv(w.request_to_test_n + intDiv(r.rounding_base, 2), r.rounding_base) * r.rounding_base)))
        AS request_to_test_n,
    if(c.suppressed = 1 OR (w.request_to_test_n >= 1 AND w.request_to_test_n <= r.threshold), NULL, w.request_to_test_median)
        AS request_to_test_median,
    if(c.suppressed = 1 OR (w.request_to_test_n >= 1 AND w.request_to_test_n <= r.threshold), NULL, w.request_to_test_p90)
        AS request_to_test_p90,
    if(c.suppressed = 1 OR (w.request_to_test_n >= 1 AND w.request_to_test_n <= r.threshold), NULL, w.request_to_test_p95)
        AS request_to_test_p95,
    if(c.suppressed = 1, NULL, multiIf(w.test_to_report_n = 0, 0, w.test_to_report_n <= r.threshold, NULL,
        greatest(toUInt64(r.rounding_base), intDiv(w.test_to_report_n + intDiv(r.rounding_base, 2), r.rounding_base) * r.rounding_base)))
        AS test_to_report_n,
    if(c.suppressed = 1 OR (w.test_to_report_n >= 1 AND w.test_to_report_n <= r.threshold), NULL, w.test_to_report_median)
        AS test_to_report_median,
    if(c.suppressed = 1 OR (w.test_to_report_n >= 1 AND w.test_to_report_n <= r.threshold), NULL, w.test_to_report_p90)
        AS test_to_report_p90,
    if(c.suppressed = 1 OR (w.test_to_report_n >= 1 AND w.test_to_report_n <= r.threshold), NULL, w.test_to_report_p95)
        AS test_to_report_p95
FROM {db}.stats_waiting_times AS w
INNER JOIN (SELECT source, month, modality, suppressed, published FROM {db}.disclosure_provider_modality WHERE national = 1) AS c
    ON c.source = w.source AND c.month = w.month AND c.modality = w.modality
CROSS JOIN (SELECT threshold, rounding_base FROM {db}.disclosure_rules ORDER BY set_at DESC LIMIT 1) AS r;

-- Early-cancer tests, published: stats_early_cancer_gp_direct with both counts controlled (a hidden
-- all-referrals count hides the row), the share worked out from the published counts (an exact share
-- beside rounded counts gives the counts back), and a median hidden when its count or the number of
-- its intervals is 1..threshold.
CREATE VIEW IF NOT EXISTS {db}.pub_early_cancer_gp_direct AS
SELECT
    source, month, test_group, gp_direct_tests, all_tests, gp_direct_share,
    gp_direct_request_to_test_median, all_request_to_test_median
FROM
(
SELECT
    source, month, test_group,
    e.all_tests >= 1 AND e.all_tests <= r.threshold AS all_hidden,
    if(all_hidden, NULL, multiIf(e.gp_direct_tests = 0, 0, e.gp_direct_tests <= r.threshold, NULL,
        greatest(toUInt64(r.rounding_base), intDiv(e.gp_direct_tests + intDiv(r.rounding_base, 2), r.rounding_base) * r.rounding_base)))
        AS gp_direct_tests,
    multiIf(e.all_tests = 0, 0, all_hidden, NULL,
        greatest(toUInt64(r.rounding_base), intDiv(e.all_tests + intDiv(r.rounding_base, 2), r.rounding_base) * r.rounding_base))
        AS all_tests,
    if(gp_direct_tests IS NULL OR all_tests IS NULL OR all_tests = 0, NULL, round(gp_direct_tests / all_tests, 4))
        AS gp_direct_share,
    if(all_hidden OR (e.gp_direct_tests >= 1 AND e.gp_direct_tests <= r.threshold) OR (n.gp_direct_n >= 1 AND n.gp_direct_n <= r.threshold),
        NULL, e.gp_direct_request_to_test_median) AS gp_direct_request_to_test_median,
    if(all_hidden OR (n.all_n >= 1 AND n.all_n <= r.threshold), NULL, e.all_request_to_test_median)
        AS all_request_to_test_median
FROM {db}.stats_early_cancer_gp_direct AS e
LEFT JOIN
(
    SELECT
        source, month, assumeNotNull(early_cancer_diagnosis) AS test_group,
        countIf(test_request_to_test IS NOT NULL AND patient_source_setting = '04') AS gp_direct_n,
        countIf(test_request_to_test IS NOT NULL) AS all_n
    FROM {db}.stats_records
    WHERE early_cancer_diagnosis IS NOT NULL AND early_cancer_diagnosis != ''
    GROUP BY source, month, test_group
) AS n USING (source, month, test_group)
CROSS JOIN (SELECT threshold, rounding_base FROM {db}.disclosure_rules ORDER BY set_at DESC LIMIT 1) AS r
);
