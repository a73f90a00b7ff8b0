"""The national verdict of a whole batch: cleanse -> local codes -> rules -> outcome columns.

``judge(raw, options)`` takes a frame of raw records (``cleansing.raw_frame``, or a CSV read as text)
with per-record metadata columns beside the items:

* ``submitted_ms`` - S, when the platform received the record (epoch ms, UTC); null: rules needing it
  are not checked;
* ``duplicate`` - DIDS071: the record's key occurs more than once in its submission; null when the
  record came in no submission (HL7, the simulator), so DIDS071 does not run;
* ``submitter_org`` - the submitting organisation (local code mapping, SUBMITTER_ORGANISATION).

and gives back the cleansed (and local-code mapped) items with, per record, ``accepted``, the sorted
code lists ``rejects`` / ``warnings`` / ``not_checked`` and, per rule code, ``r_<code>``: null when
the rule passed, 0 when not checked, ``i`` >= 1 when its ``i``-th failing alternative held
(``checks.Check``: it says which fields the failure names). Reference data and options are the
batch's (``Options``); everything per record is a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl

from dids.kernel.timestamps import local_date
from streams.columnar import lookups
from streams.columnar.checks import CHECKS, LOOKUP_DEFAULTS, NICIP, REQUEST, SITE, SITE_PATTERN, SNOMED, TEST
from streams.columnar.cleansing import cleansed
from streams.columnar.dates import add_months_day, days_in_month, with_dates
from streams.derive.asat import as_at
from streams.formats import is_valid_snomed_id, parse_calendar_date
from streams.refdata.protocols import ReferenceData
from streams.rules import UNIQUENESS_CODE, imaging_codes, organisations, site
from streams.rules.accession import UNIQUENESS_FIELDS
from streams.rules.context import V2_CODE_GRACE, Context, GracePeriod
from streams.rules.imaging_codes import CodeStatus, code_status
from streams.rules.registry import RECORD_RULES, RULES
from streams.rules.results import Need, Severity

DATE_ITEMS = ("person_birth_date", REQUEST, "diag_test_request_rec_date", TEST, "service_report_date")
META_COLUMNS = {"submitted_ms": pl.Int64, "duplicate": pl.Boolean, "submitter_org": pl.String}


@dataclass(frozen=True)
class Options:
    """What is the same for a whole batch: reference data (None, or any table None: the rules needing it
    are not checked), the v1 code grace period, the DIDS049/055 formula and the NICIP upper-casing."""

    refdata: ReferenceData | None = None
    grace: GracePeriod = field(default_factory=GracePeriod)
    reference_month_formula: bool = False
    upper_case_nicip: bool = True

    @property
    def tables(self) -> ReferenceData:
        return self.refdata if self.refdata is not None else ReferenceData()

    def unavailable(self) -> frozenset[Need]:
        """The tables this batch lacks (the submission time is judged per record: ``submitted_ms``)."""
        context = Context(submission_time=None, refdata=self.refdata)
        return frozenset(context.missing(need for need in Need if need is not Need.SUBMISSION_TIME))


def with_metadata(raw: pl.DataFrame) -> pl.DataFrame:
    """``raw`` with every metadata column present (null when the caller gave none)."""
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in META_COLUMNS.items() if name not in raw.columns]
    return raw.with_columns(missing) if missing else raw


def judge(raw: pl.DataFrame, options: Options) -> pl.DataFrame:
    """The verdict columns of every record of ``raw`` (module docstring), in input order."""
    frame = prepare(with_metadata(raw), options)
    return outcome(frame, options)


# ---- preparing the batch: cleansed items, date parts, reference answers ----


def prepare(raw: pl.DataFrame, options: Options) -> pl.DataFrame:
    frame = raw.with_columns(cleansed(upper_case_nicip=options.upper_case_nicip))
    frame = _code_dates(frame)
    frame = with_dates(frame, {TEST: TEST})
    frame = frame.with_columns(pl.when(pl.col(f"{TEST}_ok")).then(pl.col(TEST)).alias("test_text"))
    frame = map_local_codes(frame, options)
    frame = with_dates(frame, {**{item: item for item in DATE_ITEMS if item != TEST}, "code_date_text": "code"})
    frame = frame.with_columns(
        [
            days_in_month(pl.col(f"{TEST}_y"), pl.col(f"{TEST}_m")).alias(f"{TEST}_dim"),
            add_months_day(TEST, 1).alias("test_plus_month_day"),
            pl.col(SITE).str.contains(SITE_PATTERN).fill_null(False).alias("site_well_formed"),
            pl.lit(options.reference_month_formula).alias("reference_month_formula"),
            pl.when(pl.col("code_ok")).then(pl.col("code_date_text")).alias("code_text"),
        ]
    )
    frame = _submission_dates(frame)
    return _reference_answers(frame, options)


def _code_dates(frame: pl.DataFrame) -> pl.DataFrame:
    """v2.0 records have code validity judged at the local date of the procedure end (DIDS-RULES §8.2)."""
    frame = lookups.join_answers(frame, ["coded_procedure_end_timestamp"], local_date, {"v2_code_date": pl.String})
    return frame.with_columns(
        pl.col("v2_code_date").is_not_null().alias("v2"),
        pl.coalesce("v2_code_date", TEST).alias("code_date_text"),
    )


def _submission_dates(frame: pl.DataFrame) -> pl.DataFrame:
    day = pl.from_epoch(pl.col("submitted_ms"), time_unit="ms").dt.date()
    return frame.with_columns(
        (pl.col("submitted_ms") // 86_400_000).alias("sub_day"),
        (day.dt.year().cast(pl.Int64) * 12 + day.dt.month().cast(pl.Int64)).alias("sub_mi"),
        days_in_month(day.dt.year().cast(pl.Int64), day.dt.month().cast(pl.Int64)).alias("sub_dim"),
    )


def _grace(options: Options, v2: bool) -> GracePeriod:
    return V2_CODE_GRACE if v2 else options.grace


_VALID_CODE = (CodeStatus.ACTIVE, CodeStatus.GRACE)


def map_local_codes(frame: pl.DataFrame, options: Options) -> pl.DataFrame:
    """DIDS-SPEC §7.7 before the rules: a submitter's local exam code in IMAGING_CODE_NICIP becomes its
    NICIP code, the original kept in ``local_code``. Mapped only when the submitted value is not itself a
    valid NICIP code on the test date (active or in its grace window); the entry is taken as at the test
    date (the latest when the date is unusable); submitter and code are matched upper-cased."""
    tables = options.tables
    if tables.local_codes is None:
        return frame.with_columns(pl.lit(None, pl.String).alias("local_code"))

    def mapped(code: str, submitter: str, test: str | None, v2: bool) -> tuple[str | None, str | None]:
        on = parse_calendar_date(test)
        if tables.nicip is not None:
            versions = tables.nicip.versions(code.strip().upper())
            if versions and (on is None or code_status(versions, on, _grace(options, v2)) in _VALID_CODE):
                return code, None
        entry = as_at(tables.local_codes.versions(submitter, code), on, lambda row: (row.start, row.end))
        return (code, None) if entry is None else (entry.nicip_code.strip().upper(), code)

    keys = [NICIP, "submitter_org", "test_key", "v2"]
    # an unusable test date is a key part too ('': the latest entry applies)
    frame = frame.with_columns(pl.coalesce("test_text", pl.lit("")).alias("test_key"))
    frame = lookups.join_answers(
        frame,
        keys,
        lambda code, submitter, test, v2: mapped(code, submitter, test or None, v2),
        {"mapped_nicip": pl.String, "local_code": pl.String},
    )
    return frame.with_columns(pl.coalesce("mapped_nicip", NICIP).alias(NICIP)).drop("mapped_nicip", "test_key")


def _upper_unless_default(item: str, *, upper: bool = True) -> pl.Expr:
    code = pl.col(item).str.to_uppercase() if upper else pl.col(item)
    return pl.when(~code.is_in(sorted(LOOKUP_DEFAULTS[item]))).then(code)


def _reference_answers(frame: pl.DataFrame, options: Options) -> pl.DataFrame:
    """The ``lk_*`` columns the checks read, for each table the batch has (``streams.columnar.lookups``)."""
    tables = options.tables
    frame = frame.with_columns(
        _upper_unless_default("practice_code").alias("practice_key"),
        _upper_unless_default("referring_org_code").alias("referring_key"),
        _upper_unless_default(SITE).alias("site_key"),
        # DIDS079 judges the request date when one is given (an invalid one skips it), else the test date
        pl.when(pl.col(REQUEST).is_not_null())
        .then(pl.when(pl.col(f"{REQUEST}_ok")).then(pl.col(REQUEST)))
        .otherwise(pl.col("test_text"))
        .alias("referral_text"),
    )
    questions = lookups.Lookups()
    ask = questions.ask
    ask([SNOMED], lambda code: is_valid_snomed_id(code.strip()), {"snomed_well_formed": pl.Boolean})
    ods = tables.ods
    if ods is not None:
        gp, referring = organisations.GP_PRACTICE_ROLES, organisations.REFERRING_ROLES
        holds = organisations.holds_role
        ask(["practice_key"], lambda c: holds(ods, c, gp), {"lk_practice_known": pl.Boolean})
        ask(
            ["practice_key", "test_text"],
            lambda c, t: holds(ods, c, gp, on=parse_calendar_date(t)),
            {"lk_practice_live": pl.Boolean},
        )
        ask(["referring_key"], lambda c: holds(ods, c, referring), {"lk_referring_known": pl.Boolean})
        ask(
            ["referring_key", "referral_text"],
            lambda c, t: holds(ods, c, referring, on=parse_calendar_date(t)),
            {"lk_referring_live": pl.Boolean},
        )
        ask([SITE], lambda c: bool(organisations.ods_history(ods, c)), {"lk_site_in_ods": pl.Boolean})
        ask(
            ["site_key", "test_text"],
            lambda c, t: site.closed_on(ods, c, parse_calendar_date(t)),
            {"lk_site_closed": pl.Boolean},
        )
    if tables.postcodes is not None:
        postcodes = tables.postcodes
        ask(["postcode"], postcodes.contains, {"lk_postcode_known": pl.Boolean})
    if tables.nicip is not None:
        nicip = tables.nicip
        ask(
            [NICIP, "code_text", "v2"],
            lambda c, t, v2: _status(nicip, c.strip().upper(), t, options, v2),
            {"lk_nicip_status": pl.String},
        )
    if tables.snomed is not None:
        snomed = tables.snomed
        ask(
            [SNOMED, "code_text", "v2"],
            # a malformed id has no status: DIDS059's syntax part fails it
            lambda c, t, v2: _status(snomed, c.strip(), t, options, v2) if is_valid_snomed_id(c.strip()) else None,
            {"lk_snomed_status": pl.String},
        )
    if tables.nicip is not None and tables.snomed is not None:
        ask(
            [NICIP, SNOMED, "code_text"],
            lambda n, s, t: _nicip_snomed(tables, n, s, parse_calendar_date(t)),
            {"lk_nicip_snomed": pl.String},
        )
    return questions.answered(frame)


def _status(table, code: str, on: str, options: Options, v2: bool) -> str:
    """DIDS057/059/077/078's status of a code on a date (``imaging_codes.code_status``), as text."""
    return imaging_codes.table_status(table, code, parse_calendar_date(on), _grace(options, v2)).value


def _nicip_snomed(tables: ReferenceData, nicip: str, snomed: str, on) -> str | None:
    """DIDS082 for one (NICIP, SNOMED CT, date): ``differs``, ``unmapped`` (not checked) or None."""
    return imaging_codes.nicip_snomed_mismatch(tables.nicip, tables.snomed, nicip, snomed, on)


# ---- the verdict columns ----


def _rule_column(rule, unavailable: frozenset[Need]) -> pl.Expr:
    """``r_<code>`` of one rule: the index of its first failing alternative, 0 not checked, null passed."""
    check = CHECKS[rule.code]
    table_missing = bool(rule.needs & unavailable)
    branches = [
        (condition, pl.lit(index, pl.Int8))
        for index, (condition, _) in enumerate(check.precheck if table_missing else check.fails, start=1)
    ]
    if not table_missing and check.unavailable is not None:
        branches.append((check.unavailable.fill_null(False), pl.lit(0, pl.Int8)))
    # a whole missing table: not checked unless the precheck fails (DIDS-RULES §1.4, never a silent pass)
    otherwise = pl.lit(0 if table_missing else None, pl.Int8)
    expr = otherwise
    for condition, value in reversed(branches):
        expr = pl.when(condition).then(value).otherwise(expr)
    if Need.SUBMISSION_TIME in rule.needs:  # S is per record: a record without one is not checked
        expr = pl.when(pl.col("submitted_ms").is_null()).then(pl.lit(0, pl.Int8)).otherwise(expr)
    return expr.alias(f"r_{rule.code}")


_CODES = tuple(sorted([rule.code for rule in RECORD_RULES] + [UNIQUENESS_CODE]))
_SEVERITY = {code: RULES[code].severity for code in _CODES}


def _codes_where(codes, condition) -> pl.Expr:
    """The sorted list of ``codes`` whose ``r_<code>`` meets ``condition``. Joined as text and split:
    a list of 58 nullable entries per row, then dropping the nulls, costs twenty times as much."""
    joined = pl.concat_str(
        [pl.when(condition(pl.col(f"r_{code}"))).then(pl.lit(code)) for code in codes], separator=",", ignore_nulls=True
    )
    empty = pl.lit([], dtype=pl.List(pl.String))
    return pl.when(joined.str.len_bytes() > 0).then(joined.str.split(",")).otherwise(empty)


def outcome(frame: pl.DataFrame, options: Options) -> pl.DataFrame:
    """Add ``r_<code>`` for every rule, then ``rejects``, ``warnings``, ``not_checked`` and ``accepted``."""
    rules, lists = _outcome_expressions(options.unavailable())
    frame = frame.with_columns(rules).with_columns(lists)
    return frame.with_columns((pl.col("rejects").list.len() == 0).alias("accepted"))


@lru_cache(maxsize=32)  # expressions are immutable: built once per set of missing tables, not per batch
def _outcome_expressions(unavailable: frozenset[Need]) -> tuple[list[pl.Expr], list[pl.Expr]]:
    rules = [_rule_column(rule, unavailable) for rule in RECORD_RULES]
    # DIDS071: decided by the caller over the whole submission; not run for a record from none
    rules.append(pl.when(pl.col("duplicate")).then(pl.lit(1, pl.Int8)).alias(f"r_{UNIQUENESS_CODE}"))
    warning = Severity.WARNING
    lists = [
        _codes_where([c for c in _CODES if _SEVERITY[c] is not warning], lambda r: r >= 1).alias("rejects"),
        _codes_where([c for c in _CODES if _SEVERITY[c] is warning], lambda r: r >= 1).alias("warnings"),
        _codes_where(_CODES, lambda r: r == 0).alias("not_checked"),
    ]
    return rules, lists


def fields_of(code: str, index: int) -> tuple[str, ...]:
    """The fields a failure of ``code`` names when its ``index``-th failing alternative held."""
    if code == UNIQUENESS_CODE:
        return UNIQUENESS_FIELDS
    return CHECKS[code].fails[index - 1][1]  # a precheck is a prefix of the failing alternatives


def failures(row: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(code, severity name, fields) of every failed rule of one judged row, in code order."""
    return [
        (code, RULES[code].severity.name, fields_of(code, row[f"r_{code}"]))
        for code in sorted(row["rejects"] + row["warnings"])
    ]
