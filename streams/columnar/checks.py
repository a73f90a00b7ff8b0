"""Every national record rule (DIDS-RULES §2) as column expressions over a prepared batch.

``CHECKS`` has one entry per record-rule code of ``streams.rules.registry.RULES`` (checked at import):
a function of nothing that gives the rule's ``Check`` - its failing conditions, each with the fields
it names (the first that holds wins: DIDS057 names the test date only when the code is outside its
window), the condition that makes it not checked for one record (DIDS082's missing map entry), and the
part that still runs without its reference table (DIDS059's syntax). Severity, needs and whole-table
"not checked" stay in the registry, the one table of codes.

The columns a check reads are made by ``streams.columnar.engine.prepare``: the 18 cleansed items; for
each date item ``<item>_ok`` / ``_day`` / ``_mi`` / ``_d``; ``code_*`` for the date codes are valid at
(the test date, or a v2.0 procedure end date); ``sub_*`` for the submission date; ``duplicate``;
and the reference answers ``lk_*`` (``streams.columnar.lookups``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import polars as pl

from streams.formats import CalendarDate
from streams.rules.demographics import ETHNIC_CATEGORY_CODES, PERSON_GENDER_CODES
from streams.rules.nhs_number import NHS_NUMBER_STATUS_CODES
from streams.rules.organisations import GP_PRACTICE_DEFAULTS, REFERRING_ORG_DEFAULTS
from streams.rules.referral import PATIENT_SOURCE_SETTING_CODES
from streams.rules.registry import RECORD_RULES
from streams.rules.site import SITE_DEFAULTS

Alternative = tuple[pl.Expr, tuple[str, ...]]


@dataclass(frozen=True)
class Check:
    """A rule over a batch: ``fails`` (condition, fields) tried in order; ``unavailable`` makes the rule
    not checked for the rows where it holds; ``precheck`` is what still fails without the rule's table."""

    fails: tuple[Alternative, ...]
    unavailable: pl.Expr | None = None
    precheck: tuple[Alternative, ...] = ()


def col(name: str) -> pl.Expr:
    return pl.col(name)


def present(item: str) -> pl.Expr:
    return col(item).is_not_null()


def invalid_date(item: str) -> pl.Expr:
    return present(item) & ~col(f"{item}_ok")


def after(earlier: str, later: str) -> pl.Expr:
    """Pair rule A <= B broken: both usable and A after B."""
    return (col(f"{earlier}_day") > col(f"{later}_day")).fill_null(False)


def not_in(item: str, allowed) -> pl.Expr:
    return present(item) & ~col(item).is_in(sorted(allowed))


def fails(condition: pl.Expr, *fields: str) -> Check:
    return Check(((condition.fill_null(False), fields),))


def _day(value: CalendarDate) -> int:
    return value.ordinal - CalendarDate(1970, 1, 1).ordinal


BIRTH, REQUEST, RECEIVED = "person_birth_date", "diagnostic_test_request_date", "diag_test_request_rec_date"
TEST, REPORT = "diagnostic_test_date", "service_report_date"
NICIP, SNOMED, SITE = "imaging_code_nicip", "imaging_code_snomed", "site_code_imaging"
DEMOGRAPHICS = ("nhs_number", BIRTH, "ethnic_category", "person_gender_code", "postcode", "practice_code")

_LAST_REJECTED_BIRTH = _day(CalendarDate(1900, 1, 1))
_EARLIEST_REFERRAL = _day(CalendarDate(1970, 1, 1))
# ASCII only: Python's re.ASCII | re.IGNORECASE folds no other letter into A-Z (the Kelvin sign, the long s)
ASCII = r"^[\x00-\x7f]*$"
POSTCODE_PATTERN = r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[ \t\n\r\x0b\x0c]+[0-9][A-Za-z]{2}$"
SITE_PATTERN = r"^[A-Za-z0-9]{5,12}$"
REFERRER_PATTERN = (
    r"(?i)^(?:[CDGS][0-9]{1,7}|(?:CH|DT|CD|PH|SL)[0-9]{1,6}|[0-9]{2}[A-Z][0-9]{4}[A-Z]|Z[ENSW][0-9]{6}"
    r"|H9999998|M9999998|R9999981|A9999998|P9999981|X9999998|N9999998)$"
)


def matches(item: str, pattern: str) -> pl.Expr:
    return col(item).str.contains(pattern) & col(item).str.contains(ASCII)


def is_pseudo_postcode(item: str = "postcode") -> pl.Expr:
    return col(item).str.slice(0, 4).str.to_uppercase() == "ZZ99"


def _nhs_number_valid() -> pl.Expr:
    """§5: 10 ASCII digits, modulus 11 (check 10 invalid), not N00000000N, 0123456789 or 1234567890."""
    value = col("nhs_number")
    digits = [value.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(10)]
    total = pl.sum_horizontal(d * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = pl.when(check == 11).then(0).otherwise(check)
    shaped = value.str.contains(r"^[0-9]{10}$")
    listed = ((value.str.slice(0, 1) == value.str.slice(9, 1)) & (value.str.slice(1, 8) == "00000000")) | value.is_in(
        ["0123456789", "1234567890"]
    )
    return (shaped & ~listed & (check == digits[9])).fill_null(False)


def _months_before_submission() -> pl.Expr:
    """31 x the months T lies before the submission month (DIDS049/055), kept exact in integers.

    S is ``Context.submission_time`` (UTC) and SM its calendar month. Without S these rules are not checked
    (the registry reports that); with a blank or invalid date they skip.

    DIDS049/055 come in two forms:

    * **calendar-month form** (default, what the published rules mean): with
      ``m = monthIndex(SM) - monthIndex(T)``, DIDS055 rejects ``m >= 7`` (T before start(SM) - 6 months)
      and DIDS049 warns for ``4 <= m <= 6`` (T in [start(SM) - 6 months, start(SM) - 3 months)).
      Submission received 2024-07-10: T <= 2023-12-31 rejected, 2024-01-01..2024-03-31 warned,
      from 2024-04-01 clean.
    * **reference formula** (``Context.reference_month_formula``): the fractional month count
      ``mb(T) = 12*(year(SMend) - year(T)) + (month(SMend) - month(T)) + (0 if T is a month end else
      (day(SMend) - day(T)) / 31)``; DIDS055 when ``mb >= 7``, DIDS049 when ``4 <= mb < 7``.

    They differ only when SM is February and T is the 29th or 30th (only the 30th when February has 29 days)
    of July seven months earlier, or of October four months earlier: the reference gives ``mb`` just under 7
    (or 4) and lets such a date through one band early (DIDS049 instead of DIDS055, clean instead of
    DIDS049). The 31st is a month end, so it is classified as expected.
    """
    whole = col("sub_mi") - col(f"{TEST}_mi")
    fraction = col("sub_dim") - col(f"{TEST}_d")
    test_month_end = col(f"{TEST}_d") == col(f"{TEST}_dim")
    reference = col("reference_month_formula") & ~test_month_end
    return pl.when(reference).then(31 * whole + fraction).otherwise(31 * whole)


def _status(lookup: str, item: str) -> Check:
    return Check(((col(lookup) == "unknown", (item,)), (col(lookup) == "outside", (item, TEST))))


def _snomed_syntax() -> tuple[Alternative, ...]:
    return ((present(SNOMED) & ~col("snomed_well_formed"), (SNOMED,)),)


def _referring_live() -> Check:
    known_not_live = col("lk_referring_known") & ~col("lk_referring_live")
    on_request = present(REQUEST)
    return Check(
        (
            ((known_not_live & on_request).fill_null(False), ("referring_org_code", REQUEST)),
            ((known_not_live & ~on_request).fill_null(False), ("referring_org_code", TEST)),
        )
    )


_CHECKS: dict[str, Callable[[], Check]] = {
    "DIDS001": lambda: fails(present("nhs_number") & ~_nhs_number_valid(), "nhs_number"),
    "DIDS002": lambda: fails(present("nhs_number") & (col("nhs_number").str.len_chars() != 10), "nhs_number"),
    "DIDS003": lambda: fails(not_in("nhs_number_status_ind", NHS_NUMBER_STATUS_CODES), "nhs_number_status_ind"),
    "DIDS005": lambda: fails(invalid_date(BIRTH), BIRTH),
    "DIDS006": lambda: fails(after(BIRTH, TEST), BIRTH, TEST),
    "DIDS008": lambda: fails(after(BIRTH, REPORT), BIRTH, REPORT),
    "DIDS009": lambda: fails(col(f"{BIRTH}_day") <= _LAST_REJECTED_BIRTH, BIRTH),
    "DIDS010": lambda: fails(col(f"{BIRTH}_mi") - col(f"{REQUEST}_mi") > 6, BIRTH, REQUEST),
    "DIDS012": lambda: fails(not_in("ethnic_category", ETHNIC_CATEGORY_CODES), "ethnic_category"),
    "DIDS014": lambda: fails(not_in("person_gender_code", PERSON_GENDER_CODES), "person_gender_code"),
    "DIDS016": lambda: fails(present("postcode") & ~is_pseudo_postcode() & ~col("lk_postcode_known"), "postcode"),
    "DIDS017": lambda: fails(present("postcode") & ~matches("postcode", POSTCODE_PATTERN), "postcode"),
    "DIDS073": lambda: fails(pl.all_horizontal(col(i).is_null() for i in DEMOGRAPHICS), *DEMOGRAPHICS),
    "DIDS074": lambda: fails(
        present("postcode")
        & is_pseudo_postcode()
        & pl.all_horizontal(col(i).is_null() for i in DEMOGRAPHICS if i != "postcode"),
        *DEMOGRAPHICS,
    ),
    "DIDS018": lambda: fails(~col("lk_practice_known"), "practice_code"),
    "DIDS080": lambda: fails(col("lk_practice_known") & ~col("lk_practice_live"), "practice_code", TEST),
    "DIDS024": lambda: fails(~col("lk_referring_known"), "referring_org_code"),
    "DIDS079": _referring_live,
    "DIDS020": lambda: fails(col("patient_source_setting").is_null(), "patient_source_setting"),
    "DIDS021": lambda: fails(not_in("patient_source_setting", PATIENT_SOURCE_SETTING_CODES), "patient_source_setting"),
    "DIDS023": lambda: fails(present("referrer") & ~matches("referrer", REFERRER_PATTERN), "referrer"),
    "DIDS026": lambda: fails(invalid_date(REQUEST), REQUEST),
    "DIDS027": lambda: fails(after(REQUEST, RECEIVED), REQUEST, RECEIVED),
    "DIDS028": lambda: fails(col(f"{TEST}_day") - col(f"{REQUEST}_day") > 365, REQUEST, TEST),
    "DIDS031": lambda: fails(col(f"{REQUEST}_day") < _EARLIEST_REFERRAL, REQUEST),
    "DIDS034": lambda: fails(after(REQUEST, TEST), REQUEST, TEST),
    "DIDS035": lambda: fails(after(REQUEST, REPORT), REQUEST, REPORT),
    "DIDS036": lambda: fails(invalid_date(RECEIVED), RECEIVED),
    "DIDS038": lambda: fails(col(f"{TEST}_day") - col(f"{RECEIVED}_day") > 365, RECEIVED, TEST),
    "DIDS040": lambda: fails(col(f"{BIRTH}_mi") - col(f"{RECEIVED}_mi") > 6, RECEIVED, BIRTH),
    "DIDS041": lambda: fails(col(f"{RECEIVED}_day") < _EARLIEST_REFERRAL, RECEIVED),
    "DIDS043": lambda: fails(after(RECEIVED, TEST), RECEIVED, TEST),
    "DIDS044": lambda: fails(after(RECEIVED, REPORT), RECEIVED, REPORT),
    "DIDS045": lambda: fails(invalid_date(TEST), TEST),
    "DIDS050": lambda: fails(col(TEST).is_null(), TEST),
    "DIDS049": lambda: fails(_months_before_submission().is_between(31 * 4, 31 * 7, closed="left"), TEST),
    "DIDS051": lambda: fails(col(f"{TEST}_day") > col("sub_day"), TEST),
    "DIDS055": lambda: fails(_months_before_submission() >= 31 * 7, TEST),
    "DIDS048": lambda: fails(after(TEST, REPORT), TEST, REPORT),
    "DIDS061": lambda: fails(invalid_date(REPORT), REPORT),
    "DIDS062": lambda: fails(col(f"{REPORT}_day") > col("test_plus_month_day"), TEST, REPORT),
    "DIDS066": lambda: fails(col(f"{REPORT}_day") > col("sub_day"), REPORT),
    "DIDS056": lambda: fails(col(NICIP).is_null() & col(SNOMED).is_null(), NICIP, SNOMED),
    "DIDS057": lambda: _status("lk_nicip_status", NICIP),
    "DIDS059": lambda: Check(_snomed_syntax() + _status("lk_snomed_status", SNOMED).fails, precheck=_snomed_syntax()),
    "DIDS077": lambda: fails(col("lk_nicip_status") == "grace", NICIP, TEST),
    "DIDS078": lambda: fails(col("lk_snomed_status") == "grace", SNOMED, TEST),
    "DIDS082": lambda: Check(
        ((col("lk_nicip_snomed") == "differs", (NICIP, SNOMED)),),
        unavailable=col("lk_nicip_snomed") == "unmapped",  # an active NICIP version maps to no concept
    ),
    "DIDS067": lambda: fails(col(SITE).is_null(), SITE),
    "DIDS068": lambda: fails(
        col("site_well_formed") & ~col(SITE).is_in(sorted(SITE_DEFAULTS)) & ~col("lk_site_in_ods"), SITE
    ),
    "DIDS069": lambda: fails(present(SITE) & ~col("site_well_formed"), SITE),
    "DIDS081": lambda: fails(col("lk_site_closed"), SITE, TEST),
    "DIDS070": lambda: fails(col("radiological_accession_num").is_null(), "radiological_accession_num"),
    "DIDS072": lambda: fails(col("radiological_accession_num").str.len_chars() > 20, "radiological_accession_num"),
}

# the code lists the lookups use to leave default codes out (streams.rules.organisations, .site)
LOOKUP_DEFAULTS = MappingProxyType(
    {"practice_code": GP_PRACTICE_DEFAULTS, "referring_org_code": REFERRING_ORG_DEFAULTS, SITE: SITE_DEFAULTS}
)


def _build() -> MappingProxyType:
    codes = [rule.code for rule in RECORD_RULES]
    missing, extra = set(codes) - set(_CHECKS), set(_CHECKS) - set(codes)
    if missing or extra:
        raise RuntimeError(f"checks differ from the rule table: missing {sorted(missing)}, extra {sorted(extra)}")
    built = {}
    for code in codes:
        check = _CHECKS[code]()
        if check.precheck and [f for _, f in check.precheck] != [f for _, f in check.fails[: len(check.precheck)]]:
            raise RuntimeError(f"{code}: a precheck must be the first failing alternatives")
        wrapped = tuple((condition.fill_null(False), fields) for condition, fields in check.fails)
        built[code] = Check(wrapped, check.unavailable, check.precheck)
    return MappingProxyType(built)


CHECKS: MappingProxyType = _build()
