"""Every national derived column (DIDS-SPEC §7.11) over a judged batch, the batch form of ``streams.derive``.

Code-list labels, dates, intervals, ages and bands, and the referrer fields are column expressions;
everything that reads a reference table (ODS names, provider, commissioner, classification, LSOA/MSOA,
restricted codes) is asked once per distinct key with the per-key functions of ``streams.derive`` and
joined back (``streams.columnar.lookups``). Derivations are taken as at the test date; code grace is the
record's (v1, or v2.0 for records with a procedure end timestamp).
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from streams.columnar import lookups
from streams.columnar.checks import ASCII, NICIP, REFERRER_PATTERN, SITE, SNOMED, TEST, col
from streams.columnar.engine import V2_CODE_GRACE, Options
from streams.derive import codes, organisations
from streams.derive.ages import AGE_NOT_KNOWN, BANDS
from streams.derive.classification import classify
from streams.derive.context import NHS_PROVIDER_ROLES
from streams.derive.geography import derive_location
from streams.derive.national import NATIONAL_COLUMNS, NULL_COLUMNS
from streams.derive.referrer import NOT_KNOWN_CODE, NOT_KNOWN_TYPE, TYPES
from streams.derive.restricted import is_restricted
from streams.formats import parse_calendar_date

_IMAGING_COLUMNS = tuple(classify(None, None, None, None, None, Options().grace).columns())
_INTERVALS = {
    "TEST_REQUEST_TO_TEST_REQUEST_RECEIVED": ("diagnostic_test_request_date", "diag_test_request_rec_date"),
    "TEST_REQUEST_TO_TEST": ("diagnostic_test_request_date", TEST),
    "TEST_REQUEST_TO_SERVICE_REPORT_ISSUED": ("diagnostic_test_request_date", "service_report_date"),
    "TEST_REQUEST_RECEIVED_TO_TEST": ("diag_test_request_rec_date", TEST),
    "TEST_REQUEST_RECEIVED_TO_SERVICE_REPORT_ISSUED": ("diag_test_request_rec_date", "service_report_date"),
    "TEST_TO_SERVICE_REPORT_ISSUED": (TEST, "service_report_date"),
}
_NATIONAL_DATES = {
    "DATE_OF_BIRTH": "person_birth_date",
    "DIAGNOSTIC_TEST_REQUEST_DATE": "diagnostic_test_request_date",
    "DIAGNOSTIC_TEST_REQUEST_RECEIVED_DATE": "diag_test_request_rec_date",
    "DIAGNOSTIC_TEST_DATE": TEST,
    "SERVICE_REPORT_ISSUE_DATE": "service_report_date",
}


def _label(item: str, labels: dict[str, str], *, upper: bool = False) -> pl.Expr:
    value = col(item).str.to_uppercase() if upper else col(item)
    return value.replace_strict(labels, default=None, return_dtype=pl.String)


def age_at_event() -> pl.Expr:
    """Whole years from birth to test (``streams.derive.ages.age_at_event``); null unless both are valid."""
    b, t = "person_birth_date", TEST
    before_birthday = (col(f"{t}_m") < col(f"{b}_m")) | (
        (col(f"{t}_m") == col(f"{b}_m")) & (col(f"{t}_d") < col(f"{b}_d"))
    )
    return col(f"{t}_y") - col(f"{b}_y") - before_birthday.cast(pl.Int64)


def _band(lowers: tuple[int, ...]) -> pl.Expr:
    age = col("age_at_event")
    chain = pl.when(age.is_null() | (age < 0)).then(pl.lit(AGE_NOT_KNOWN))
    for low, next_low in zip(lowers, lowers[1:], strict=False):
        high = next_low - 1
        chain = chain.when(age < next_low).then(pl.lit(str(low) if high == low else f"{low}-{high}"))
    return chain.otherwise(pl.lit(f"{lowers[-1]} and over"))


def _referrer() -> list[pl.Expr]:
    value = col("referrer")
    valid = value.str.contains(REFERRER_PATTERN) & value.str.contains(ASCII)
    code = pl.when(value.is_null()).then(None).when(valid).then(value).otherwise(pl.lit(NOT_KNOWN_CODE))
    kind = pl.when(value.is_null()).then(pl.lit(NOT_KNOWN_TYPE))
    for pattern, label in TYPES:
        kind = kind.when(value.str.contains(f"(?i)^(?:{pattern})$") & value.str.contains(ASCII)).then(pl.lit(label))
    return [
        code.alias("REFERRER_CODE"),
        pl.coalesce(code, pl.lit(NOT_KNOWN_CODE)).alias("DERIVED_REFERRER_CODE"),
        kind.otherwise(pl.lit(NOT_KNOWN_TYPE)).alias("DERIVED_REFERRER_TYPE"),
    ]


def derive(frame: pl.DataFrame, options: Options) -> pl.DataFrame:
    """``frame`` (from ``engine.prepare``) with every national column by its exact name, plus
    ``age_at_event`` and ``restricted``."""
    frame = frame.with_columns(age_at_event().alias("age_at_event"))
    # blank key parts become '' so that they are still asked (the answer functions read '' as blank),
    # and the test date (null when unusable) is the last key of every point-in-time question
    blanks = [pl.coalesce(c, pl.lit("")).alias(f"_{c}") for c in (NICIP, SNOMED, "test_text")]
    frame = frame.with_columns(*_column_expressions(), *blanks)
    tables, ods = options.tables, options.tables.ods
    first = lookups.Lookups()
    described = (
        ("practice_code", organisations.gp_description, "GP_DESCRIPTION"),
        (SITE, organisations.site_description, "PROVIDER_SITE_CODE_DESCRIPTION"),
        ("referring_org_code", organisations.ods_name, "REFERRER_ORGANISATION_DESCRIPTION"),
        ("submitter_org", organisations.ods_name, "SUBMITTER_ORGANISATION_NAME"),
    )
    for item, describe, column in described:
        first.ask([item], lambda c, describe=describe: describe(c, ods), {column: pl.String})
    on_date(
        first,
        [SITE],
        lambda c, on: organisations.provider_code(c, ods, on, NHS_PROVIDER_ROLES),
        {"PROVIDER_CODE": pl.String},
    )
    on_date(
        first,
        ["practice_code"],
        lambda c, on: organisations.commissioner(c, ods, on),
        {"CCG_CODE": pl.String, "CCG_NAME": pl.String},
    )

    def imaging(nicip: str, snomed: str, v2: bool, on):
        grace = V2_CODE_GRACE if v2 else options.grace
        result = classify(nicip or None, snomed or None, tables.nicip, tables.snomed, on, grace)
        return tuple(result.columns().values())

    on_date(first, [f"_{NICIP}", f"_{SNOMED}", "v2"], imaging, dict.fromkeys(_IMAGING_COLUMNS, pl.String))
    geography = tables.geography
    if geography is not None:
        on_date(
            first,
            ["postcode"],
            lambda postcode, on: derive_location(postcode, geography, on),
            {"LOCATION_LSOA": pl.String, "LOCATION_MSOA": pl.String},
        )
    frame = first.answered(frame)
    if geography is None:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in ("LOCATION_LSOA", "LOCATION_MSOA"))
    # the provider's name and the restricted flag read what the first questions answered
    frame = frame.with_columns(pl.coalesce("DERIVED_IMAGING_CODE_SNOMED_CT", pl.lit("")).alias("_derived_snomed"))
    second = lookups.Lookups()
    second.ask(["PROVIDER_CODE"], lambda c: organisations.ods_name(c, ods), {"PROVIDER_NAME": pl.String})
    restricted = tables.restricted
    on_date(
        second,
        [f"_{NICIP}", f"_{SNOMED}", "_derived_snomed"],
        lambda n, s, ds, on: is_restricted(n or None, s or None, ds or None, restricted, on),
        {"restricted": pl.Boolean},
    )
    return second.answered(frame).drop(f"_{NICIP}", f"_{SNOMED}", "_test_text", "_derived_snomed")


def on_date(questions: lookups.Lookups, keys: list[str], answer, schema) -> None:
    """Ask ``answer(*keys, on)`` with ``on`` the test date as a CalendarDate (None when unusable)."""
    questions.ask(
        [*keys, "_test_text"], lambda *values: answer(*values[:-1], parse_calendar_date(values[-1] or None)), schema
    )


@lru_cache(maxsize=1)  # immutable expressions, built once
def _column_expressions() -> list[pl.Expr]:
    """The national columns that are expressions of the record alone."""
    return [
        *[_band(lowers).alias(column) for column, lowers in BANDS.items()],
        *[pl.when(col(f"{item}_ok")).then(col(item)).alias(column) for column, item in _NATIONAL_DATES.items()],
        *[(col(f"{b}_day") - col(f"{a}_day")).alias(column) for column, (a, b) in _INTERVALS.items()],
        *_referrer(),
        col("radiological_accession_num").alias("RADIOLOGICAL_ACCESSION_NUMBER"),
        col("nhs_number").alias("NHS_NUMBER"),
        col("nhs_number_status_ind").alias("NHS_NUMBER_STATUS"),
        _label("nhs_number_status_ind", codes.NHS_NUMBER_STATUS_LABELS).alias("NHS_NUMBER_STATUS_DESCRIPTION"),
        col("nhs_number").is_not_null().cast(pl.Int64).alias("NHS_NUMBER_SUPPLIED"),
        col("ethnic_category").alias("ETHNIC_CATEGORY_CODE"),
        _label("ethnic_category", {k: v[0] for k, v in codes.ETHNIC_CATEGORIES.items()}, upper=True).alias(
            "ETHNIC_CATEGORY_DESCRIPTION"
        ),
        _label("ethnic_category", {k: v[1] for k, v in codes.ETHNIC_CATEGORIES.items() if v[1]}, upper=True).alias(
            "ETHNIC_CATEGORY_GROUP"
        ),
        pl.when(col("person_gender_code").is_in(list(codes.GENDER_LABELS)))
        .then(col("person_gender_code").cast(pl.Int64, strict=False))
        .alias("GENDER_CODE"),
        _label("person_gender_code", codes.GENDER_LABELS).alias("GENDER_DESCRIPTION"),
        col("postcode").alias("POSTCODE"),
        col("practice_code").alias("GP_CODE"),
        col("referring_org_code").alias("REFERRER_ORGANISATION_CODE"),
        col(SITE).alias("PROVIDER_SITE_CODE"),
        col("submitter_org").alias("SUBMITTER_ORGANISATION"),
        col("patient_source_setting").alias("PATIENT_SOURCE_SETTING"),
        _label("patient_source_setting", codes.PATIENT_SOURCE_SETTING_LABELS).alias(
            "PATIENT_SOURCE_SETTING_DESCRIPTION"
        ),
        col(f"{TEST}_m").alias("MONTH_OF_TEST"),
        col(f"{TEST}_y").alias("YEAR_OF_TEST"),
        col(NICIP).alias("IMAGING_CODE_NICIP"),
        col(SNOMED).alias("IMAGING_CODE_SNOMED_CT"),
        *[pl.lit(None, pl.String).alias(column) for column in NULL_COLUMNS],
    ]


def national(frame: pl.DataFrame) -> pl.DataFrame:
    """The national columns alone, in national order."""
    return frame.select(NATIONAL_COLUMNS)
