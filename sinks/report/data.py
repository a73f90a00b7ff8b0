"""The report's data: the queries over the statistics and data-quality views (DIDS-SPEC 9) and the
shapes they fill. ``fetch_report_data`` runs the queries; everything else here is pure.

By default the statistics come from the published views (``pub_*``, disclosure-controlled: a hidden
count is None); without disclosure control, for internal use, from the raw ``stats_*`` views."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from dids.kernel.errors import DidsError
from sinks import snapshots
from sinks.disclosure import current_rules
from sinks.report.utilisation import UtilisationCell, fetch_utilisation

SOURCES = ("live", "provisional", "final")
WINDOW_MONTHS = 13  # the monthly release's rolling window (DIDS-SPEC 9.1)
TOP_PROVIDERS = 25
TOP_REJECTING_PROVIDERS = 20
PUBLISHED, RAW = "pub", "stats"  # the prefixes of the statistics views, with and without disclosure control


class ReportError(DidsError):
    """The report cannot be made (bad month or source)."""


def check_month(month: str) -> str:
    """The snapshots' month check, raising the report's own error."""
    try:
        return snapshots.check_month(month)
    except snapshots.SnapshotError as exc:
        raise ReportError(str(exc)) from exc


def window(month: str, months: int = WINDOW_MONTHS) -> list[str]:
    """The ``months`` months ending at ``month``, oldest first."""
    year, mon = (int(x) for x in check_month(month).split("-"))
    index = year * 12 + mon - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1)]


@dataclass(frozen=True)
class WaitingTimes:
    """Counts and statistics are None where disclosure control hides them (so are statistics without data)."""

    modality: str
    tests: int | None
    request_to_test_n: int | None
    request_to_test_median: float | None
    request_to_test_p90: float | None
    request_to_test_p95: float | None
    test_to_report_n: int | None
    test_to_report_median: float | None
    test_to_report_p90: float | None
    test_to_report_p95: float | None


@dataclass(frozen=True)
class EarlyCancer:
    test_group: str
    gp_direct_tests: int | None
    all_tests: int | None
    gp_direct_share: float | None
    gp_direct_request_to_test_median: float | None
    all_request_to_test_median: float | None


@dataclass(frozen=True)
class ProviderModality:
    region_code: str | None
    provider_code: str | None
    provider_name: str | None
    modality: str
    tests: int | None


@dataclass(frozen=True)
class SnapshotInfo:
    taken_at: datetime
    cutoff: datetime
    records: int


@dataclass
class ReportData:
    """Everything the report shows. ``activity`` covers the 13-month window and includes the views'
    'Total' rows; every other list is for ``month`` alone."""

    month: str
    source: str
    generated_at: datetime
    database: str = ""
    # False: the raw statistics, for internal use only (the page says so)
    disclosure_control: bool = True
    disclosure_rules: str = ""  # the rules the published views applied, in words
    activity: list[tuple[str, str, int | None]] = field(default_factory=list)  # (month, modality, tests)
    waiting_times: list[WaitingTimes] = field(default_factory=list)
    early_cancer: list[EarlyCancer] = field(default_factory=list)
    providers: list[ProviderModality] = field(default_factory=list)
    # provider -> its total as published (disclosure control: never a sum of rounded cells)
    provider_totals: dict[str | None, int | None] | None = None
    rejects_by_rule: list[tuple[str, int]] = field(default_factory=list)  # (rule, records)
    rejects_by_provider: list[tuple[str | None, int]] = field(default_factory=list)  # (provider, records)
    warnings_by_rule: list[tuple[str, int]] = field(default_factory=list)
    snapshot: SnapshotInfo | None = None  # the snapshot read, for source provisional / final
    # equipment utilisation, live whatever the source (utilisation_hourly / pub_utilisation_hourly)
    utilisation: list[UtilisationCell] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Queries


def _n(value) -> int | None:
    return None if value is None else int(value)


def fetch_report_data(
    client, month: str, source: str, *, disclosure_control: bool = True, now: datetime | None = None
) -> ReportData:
    """Read the report's numbers from the statistics views (client: ``sinks.clickhouse.connect``): the
    published ``pub_*`` views, or with ``disclosure_control=False`` the raw ``stats_*`` ones."""
    check_month(month)
    if source not in SOURCES:
        raise ReportError(f"source {source!r} is not one of {', '.join(SOURCES)}")
    months = window(month)
    p = {"s": source, "m": month, "first": months[0], "last": months[-1]}

    def rows(sql: str):
        return client.query(sql, parameters=p).result_rows

    data = ReportData(
        month=month,
        source=source,
        generated_at=now or datetime.now(timezone.utc),
        database=getattr(client, "database", "") or "",
        disclosure_control=disclosure_control,
    )
    views = PUBLISHED if disclosure_control else RAW
    if disclosure_control:
        rules = current_rules(client, data.database)
        if rules is None:
            raise ReportError("no disclosure rules are recorded: run `dids db migrate`")
        data.disclosure_rules = rules.describe()
    data.activity = [
        (m, mod, _n(n))
        for m, mod, n in rows(
            f"SELECT month, modality, tests FROM {views}_activity_by_modality "
            "WHERE source = {s:String} AND month >= {first:String} AND month <= {last:String} ORDER BY month, modality"
        )
    ]
    data.waiting_times = [
        WaitingTimes(r[0], _n(r[1]), _n(r[2]), *r[3:6], _n(r[6]), *r[7:10])
        for r in rows(
            "SELECT modality, tests, request_to_test_n, request_to_test_median, request_to_test_p90, "
            "request_to_test_p95, test_to_report_n, test_to_report_median, test_to_report_p90, test_to_report_p95 "
            f"FROM {views}_waiting_times "
            "WHERE source = {s:String} AND month = {m:String} ORDER BY tests DESC, modality"
        )
    ]
    data.early_cancer = [
        EarlyCancer(r[0], _n(r[1]), _n(r[2]), *r[3:6])
        for r in rows(
            "SELECT test_group, gp_direct_tests, all_tests, gp_direct_share, gp_direct_request_to_test_median, "
            f"all_request_to_test_median FROM {views}_early_cancer_gp_direct "
            "WHERE source = {s:String} AND month = {m:String} ORDER BY test_group"
        )
    ]
    providers = [
        ProviderModality(r[0], r[1], r[2], r[3], _n(r[4]))
        for r in rows(
            f"SELECT region_code, provider_code, provider_name, modality, tests FROM {views}_provider_modality_month "
            "WHERE source = {s:String} AND month = {m:String} ORDER BY provider_code, modality"
        )
    ]
    data.providers = [r for r in providers if not (disclosure_control and r.modality == "Total")]
    if disclosure_control:  # the published views carry each provider's total
        data.provider_totals = {r.provider_code: r.tests for r in providers if r.modality == "Total"}
    # Data quality is live whatever the source: rejects and warnings are not snapshotted.
    data.rejects_by_rule = [
        (rule, int(n))
        for rule, n in rows(
            "SELECT rule, sum(records) AS n FROM dq_rejects_by_rule WHERE month = {m:String} "
            "GROUP BY rule ORDER BY n DESC, rule"
        )
    ]
    # Records, not rule failures: a record failing three rules counts once here (dq_rejects_by_rule
    # counts it once per rule). Same rows and month as that view.
    data.rejects_by_provider = [
        (provider, int(n))
        for provider, n in rows(
            "SELECT provider_code, count() AS n FROM rejects FINAL "
            "WHERE formatDateTime(diagnostic_test_date, '%Y-%m') = {m:String} "
            "GROUP BY provider_code ORDER BY n DESC, provider_code"
        )
    ]
    data.warnings_by_rule = [
        (rule, int(n))
        for rule, n in rows(
            "SELECT rule, sum(records) AS n FROM dq_warnings_by_rule WHERE month = {m:String} "
            "GROUP BY rule ORDER BY n DESC, rule"
        )
    ]
    data.utilisation = fetch_utilisation(rows, "m", disclosure_control)
    if source != "live":
        snap = rows(
            "SELECT taken_at, cutoff, records FROM snapshots FINAL WHERE month = {m:String} AND kind = {s:String}"
        )
        if snap:
            data.snapshot = SnapshotInfo(snap[0][0], snap[0][1], int(snap[0][2]))
    return data


# --------------------------------------------------------------------------------------------------
# Shaping (pure)


def activity_table(data: ReportData) -> tuple[list[str], list[str], dict[tuple[str, str], int | None]]:
    """(months of the window, modalities by descending volume, (month, modality) -> tests incl. 'Total')."""
    months = window(data.month)
    counts: dict[tuple[str, str], int] = {}
    volume: dict[str, int] = defaultdict(int)
    for m, modality, tests in data.activity:
        counts[(m, modality)] = tests  # None: hidden by disclosure control
        if modality != "Total":
            volume[modality] += tests or 0
    modalities = sorted(volume, key=lambda mod: (-volume[mod], mod))
    return months, modalities, counts


def top_providers(
    rows: list[ProviderModality], limit: int = TOP_PROVIDERS, totals: dict[str | None, int | None] | None = None
):
    """Providers by tests in the month: [(region, code, name, total, {modality: tests})], busiest first.
    ``totals``: the published totals (a hidden one is None, ranked as 0), else the sums of the rows."""
    by: dict[str | None, dict] = {}
    for r in rows:
        p = by.setdefault(r.provider_code, {"region": None, "name": None, "total": 0, "modalities": {}})
        p["region"] = p["region"] or r.region_code
        p["name"] = p["name"] or r.provider_name
        p["total"] += r.tests or 0
        p["modalities"][r.modality] = r.tests
    if totals is not None:
        for code, p in by.items():
            p["total"] = totals.get(code)
    ranked = sorted(by.items(), key=lambda kv: (-(kv[1]["total"] or 0), kv[0] or ""))
    return [(p["region"], code, p["name"], p["total"], p["modalities"]) for code, p in ranked[:limit]]
