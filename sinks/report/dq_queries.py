"""The data-quality report's numbers from the warehouse, for a provider's month or one extract file.

Counts come from the same rows and views analysts query: rejected records from ``rejects`` (one row per
rejected record version, as ``dq_rejects_by_rule`` counts them), accepted records and warnings from
``current_examinations`` (for a file: the versions that file delivered), rule counts of a provider's
month from ``dq_rejects_by_rule`` / ``dq_warnings_by_rule`` themselves. Every value from the caller is
checked first and sent as a query parameter, never written into the SQL.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sinks.report.data import ReportError, check_month
from sinks.report.dq_data import (
    REJECTED_LIMIT,
    DqReportData,
    FileReject,
    ItemBlanks,
    RejectedRecord,
    RuleLine,
    check_provider,
    check_submission_id,
    trend_window,
)

_MONTH_OF_TEST = "formatDateTime(diagnostic_test_date, '%Y-%m')"

# national item (CSV header) -> (the examinations column it reaches, counted as blank when) ; derived:
# the column is computed from the item, so an unusable value is blank there too
_ITEM_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("NHS_NUMBER", "ifNull(nhs_number_supplied, 0) = 0", False),
    ("NHS_NUMBER_STATUS_IND", "ifNull(nhs_number_status, '') = ''", False),
    ("PERSON_BIRTH_DATE", "ifNull(age_band_5_years, '') = ''", True),
    ("ETHNIC_CATEGORY", "ifNull(ethnic_category_code, '') = ''", False),
    ("PERSON_GENDER_CODE", "gender_code IS NULL", True),
    ("POSTCODE", "ifNull(location_lsoa, '') = ''", True),
    ("PRACTICE_CODE", "ifNull(gp_code, '') = ''", False),
    ("PATIENT_SOURCE_SETTING", "ifNull(patient_source_setting, '') = ''", False),
    ("REFERRER", "ifNull(referrer_code, '') = ''", False),
    ("REFERRING_ORG_CODE", "ifNull(referrer_organisation_code, '') = ''", False),
    ("DIAGNOSTIC_TEST_REQUEST_DATE", "diagnostic_test_request_date IS NULL", False),
    ("DIAG_TEST_REQUEST_REC_DATE", "diagnostic_test_request_received_date IS NULL", False),
    ("DIAGNOSTIC_TEST_DATE", "diagnostic_test_date IS NULL", False),
    ("IMAGING_CODE_NICIP", "ifNull(imaging_code_nicip, '') = ''", False),
    ("IMAGING_CODE_SNOMED", "ifNull(imaging_code_snomed, '') = ''", False),
    ("SERVICE_REPORT_DATE", "service_report_issue_date IS NULL", False),
    ("SITE_CODE_IMAGING", "site_code = ''", False),
    ("RADIOLOGICAL_ACCESSION_NUM", "accession_number = ''", False),
)
_BLANKS_SQL = ", ".join(f"countIf({condition})" for _, condition, _ in _ITEM_COLUMNS)

# the versions one file delivered that are still active: the latest of each key from that file
_FILE_RECORDS = (
    "(SELECT record_key, argMax(warnings, version) AS warnings, argMax(status, version) AS status, "
    "any(provider_code) AS provider_code FROM examinations WHERE submission_id = {sub:String} GROUP BY record_key)"
)


def fetch_provider_month(client, provider: str, month: str, *, now: datetime | None = None) -> DqReportData:
    """The report of ``provider``'s records with a test date in ``month``."""
    p = {"p": check_provider(provider), "m": check_month(month)}
    months = trend_window(month)
    p |= {"first": months[0], "last": months[-1]}
    data = _new(client, f"provider {p['p']}, {p['m']}", p["m"], months, now)
    scope = f"provider_code = {{p:String}} AND {_MONTH_OF_TEST} = {{m:String}}"
    accepted, warned = _rows(
        client, f"SELECT count(), countIf(notEmpty(warnings)) FROM current_examinations WHERE {scope}", p
    )[0]
    rejected = _rows(client, f"SELECT count() FROM rejects FINAL WHERE {scope}", p)[0][0]
    _counts(data, accepted, rejected, warned)
    rejects = _rows(
        client,
        "SELECT rule, sum(records) FROM dq_rejects_by_rule WHERE provider_code = {p:String} AND month = {m:String} "
        "GROUP BY rule",
        p,
    )
    warnings = _rows(
        client,
        "SELECT rule, sum(records) FROM dq_warnings_by_rule WHERE provider_code = {p:String} AND month = {m:String} "
        "GROUP BY rule",
        p,
    )
    data.rules = _rule_lines(client, data, rejects, warnings, "provider_code = {p:String}", p)
    data.blanks = _blanks(client, f"SELECT count(), {_BLANKS_SQL} FROM current_examinations WHERE {scope}", p)
    data.blanks_basis = f"the {accepted:,} accepted current records"
    data.rejected_records = _rejected_records(
        client, f"provider_code = {{p:String}} AND {_MONTH_OF_TEST} = {{m:String}}", p
    )
    data.details = [("Provider", p["p"]), ("Month of test", p["m"])]
    return data


def fetch_submission(client, submission_id: str, *, now: datetime | None = None) -> DqReportData:
    """The report of one extract file, by its submission id (``dids submit`` prints it)."""
    p = {"sub": check_submission_id(submission_id)}
    manifest = _rows(
        client,
        "SELECT status, period, file_name, file_format, record_count, ifNull(submitter_org, ''), "
        "file_reject_code, file_reject_line, received_time FROM submissions FINAL WHERE submission_id = {sub:String}",
        p,
    )
    if not manifest:
        raise ReportError(
            f"no submission {p['sub']} in the warehouse: check the id `dids submit` printed, or list the files with "
            '`dids sql "SELECT submission_id, file_name, period, status FROM submissions FINAL"`'
        )
    status, period, file_name, file_format, record_count, submitter, reject_code, reject_line, received = manifest[0]
    months = trend_window(period)
    p |= {"m": period, "first": months[0], "last": months[-1]}
    data = _new(client, f"submission {p['sub']}", period, months, now)
    data.details = [
        ("File", file_name),
        ("Format", file_format),
        ("Reporting period", period),
        ("Submitter", submitter or "–"),
        ("Status", status),
        ("Received", f"{received:%Y-%m-%d %H:%M} UTC"),
        ("Records in the file", f"{int(record_count):,}"),
    ]
    if reject_code:
        data.file_reject = FileReject(reject_code, None if reject_line is None else int(reject_line))
    accepted, warned = _rows(
        client,
        f"SELECT countIf(status = 'active'), countIf(status = 'active' AND notEmpty(warnings)) FROM {_FILE_RECORDS}",
        p,
    )[0]
    rejected = _rows(client, "SELECT count() FROM rejects FINAL WHERE submission_id = {sub:String}", p)[0][0]
    _counts(data, accepted, rejected, warned)
    rejects = _rows(
        client,
        "SELECT rule, count() FROM rejects FINAL ARRAY JOIN rejects AS rule WHERE submission_id = {sub:String} "
        "GROUP BY rule",
        p,
    )
    warnings = _rows(
        client,
        f"SELECT rule, count() FROM {_FILE_RECORDS} ARRAY JOIN warnings AS rule WHERE status = 'active' GROUP BY rule",
        p,
    )
    providers = [
        row[0]
        for row in _rows(
            client,
            "SELECT DISTINCT assumeNotNull(provider_code) FROM (SELECT provider_code FROM rejects "
            "WHERE submission_id = {sub:String} UNION ALL SELECT provider_code FROM examinations "
            "WHERE submission_id = {sub:String}) WHERE provider_code IS NOT NULL ORDER BY 1",
            p,
        )
    ]
    p["providers"] = providers
    data.details.insert(4, ("Providers", ", ".join(providers) or "–"))
    data.rules = _rule_lines(client, data, rejects, warnings, "has({providers:Array(String)}, provider_code)", p)
    data.blanks = _blanks(
        client,
        f"SELECT count(), {_BLANKS_SQL} FROM examinations FINAL WHERE submission_id = {{sub:String}} "
        "AND status = 'active'",
        p,
    )
    data.blanks_basis = "the file's accepted records (their latest version from this file)"
    data.rejected_records = _rejected_records(client, "submission_id = {sub:String}", p)
    data.notes.append(
        f"National share and trend: the rule's share of all records with a test date in {period} "
        f"and, for the trend, of the file's providers' records by month of test."
    )
    return data


# --------------------------------------------------------------------------------------------------


def _rows(client, sql: str, parameters: dict):
    return client.query(sql, parameters=parameters).result_rows


def _new(client, subject: str, month: str, months: list[str], now: datetime | None) -> DqReportData:
    database = getattr(client, "database", "") or ""
    return DqReportData(
        subject=subject,
        generated_at=now or datetime.now(timezone.utc),
        before_submission=False,
        origin=f"warehouse database {database}" if database else "the warehouse",
        month=month,
        trend_months=months,
    )


def _counts(data: DqReportData, accepted, rejected, warned) -> None:
    data.accepted, data.rejected, data.with_warnings = int(accepted), int(rejected), int(warned)
    data.received = data.accepted + data.rejected


def _received_by_month(client, provider_filter: str, p: dict) -> dict[str, int]:
    """Records received (accepted current + rejected versions) by month of test, for the trend window."""
    window = f"{_MONTH_OF_TEST} >= {{first:String}} AND {_MONTH_OF_TEST} <= {{last:String}} AND {provider_filter}"
    out: dict[str, int] = {}
    for table in ("current_examinations", "rejects FINAL"):
        for month, n in _rows(
            client, f"SELECT {_MONTH_OF_TEST} AS m, count() FROM {table} WHERE {window} GROUP BY m", p
        ):
            out[month] = out.get(month, 0) + int(n)
    return out


def _rule_lines(client, data: DqReportData, rejects, warnings, provider_filter: str, p: dict) -> list[RuleLine]:
    """Every rule that fired, with the national share in the month and the scope's trend."""
    national_received = sum(_received_by_month(client, "1", {**p, "first": p["m"], "last": p["m"]}).values())
    received = _received_by_month(client, provider_filter, p)
    lines = []
    for severity, counts, view in (
        ("reject", rejects, "dq_rejects_by_rule"),
        ("warning", warnings, "dq_warnings_by_rule"),
    ):
        national = dict(
            _rows(client, f"SELECT rule, sum(records) FROM {view} WHERE month = {{m:String}} GROUP BY rule", p)
        )
        trend: dict[tuple[str, str], int] = {
            (month, rule): int(n)
            for month, rule, n in _rows(
                client,
                f"SELECT month, rule, sum(records) FROM {view} WHERE month >= {{first:String}} "
                f"AND month <= {{last:String}} AND {provider_filter} GROUP BY month, rule",
                p,
            )
        }
        for code, n in counts:
            shares = tuple(
                trend.get((m, code), 0) / received[m] if received.get(m) else None for m in data.trend_months
            )
            share = int(national.get(code, 0)) / national_received if national_received else None
            lines.append(RuleLine(code, severity, int(n), share, shares))
    return sorted(lines, key=lambda r: (r.severity != "reject", -r.records, r.code))


def _blanks(client, sql: str, p: dict) -> list[ItemBlanks]:
    total, *blank = _rows(client, sql, p)[0]
    return [
        ItemBlanks(item, int(n), int(total), derived)
        for (item, _, derived), n in zip(_ITEM_COLUMNS, blank, strict=True)
    ]


def _rejected_records(client, where: str, p: dict) -> list[RejectedRecord]:
    rows = _rows(
        client,
        "SELECT site_code, accession_number, row_number, `failures.code`, `failures.severity`, `failures.fields` "
        f"FROM rejects FINAL WHERE {where} ORDER BY site_code, row_number, accession_number, version "
        f"LIMIT {REJECTED_LIMIT:d}",
        p,
    )
    return [
        RejectedRecord(
            site,
            accession,
            None if row is None else int(row),
            tuple(
                (code, _severity(severity), tuple(fields))
                for code, severity, fields in zip(codes, severities, fieldss, strict=False)
            ),
        )
        for site, accession, row, codes, severities, fieldss in rows
    ]


def _severity(value: str) -> str:
    return {"REJECT_RECORD": "reject", "WARNING": "warning", "REJECT_FILE": "file reject"}.get(value, value.lower())
