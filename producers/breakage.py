"""Deliberate breakage: one function per national rule code, each making a record fail that rule.

A breaker changes the sent values (``Draft.overrides``) and, where needed, nudges the real timeline
so that the record fails its named rule and, as far as the rules allow, no other record-only rule
(DIDS-RULES §2). The one unavoidable overlap: a wrong-length NHS number (DIDS002) is also an invalid
one (DIDS001) by definition. Rules needing reference data or the submission are not broken here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from random import Random

from producers.catalogue import PSEUDO_POSTCODE
from producers.record import DEMOGRAPHIC_FIELDS, Draft, iso_date

Breaker = Callable[[Draft, Random], None]

_MAX_WAIT_FOR_BIRTH_AFTER_TEST = 150  # keeps DIDS010/040 (birth > request + 6 months) quiet


def bad_date(ordinal: int, rng: Random) -> str:
    """A plausible mis-keyed date that is not a valid ``CCYY-MM-DD`` calendar date (DIDS-RULES §1.3)."""
    d = date.fromordinal(ordinal)
    kind = rng.randrange(5)
    if kind == 0:
        return f"{d.day:02d}/{d.month:02d}/{d.year}"
    if kind == 1:
        return f"{d.year}{d.month:02d}{d.day:02d}"
    if kind == 2 and (d.month < 10 or d.day < 10):
        return f"{d.year}-{d.month}-{d.day}"
    if kind == 3:
        return f"{d.year}-02-{rng.choice((30, 31))}"
    return f"{d.isoformat()}T{rng.randrange(8, 18):02d}:{rng.randrange(60):02d}:00"


def _nhs(d: Draft) -> str:
    return d.items["nhs_number"] or d.spare_nhs


def _dids001(d: Draft, rng: Random) -> None:  # valid length, invalid number
    n = _nhs(d)
    if rng.random() < 0.8:
        d.overrides["nhs_number"] = n[:9] + str((int(n[9]) + rng.randrange(1, 10)) % 10)
    else:
        pos = rng.randrange(10)
        d.overrides["nhs_number"] = n[:pos] + rng.choice("OIlS") + n[pos + 1 :]


def _dids002(d: Draft, rng: Random) -> None:  # 9 or 11 digits (also DIDS001 by definition)
    n = _nhs(d)
    d.overrides["nhs_number"] = n[:9] if rng.random() < 0.5 else n + str(rng.randrange(10))


def _dids003(d: Draft, rng: Random) -> None:
    d.overrides["nhs_number_status_ind"] = rng.choice(("1", "00", "09", "10", "99", "1A"))


def _dids005(d: Draft, rng: Random) -> None:
    d.overrides["person_birth_date"] = bad_date(d.birth_day, rng)


def _dids006(d: Draft, rng: Random) -> None:  # born after the test, but not after the report
    birth = d.test_day + rng.randint(1, 5)
    d.overrides["person_birth_date"] = iso_date(birth)
    if d.test_day - d.request_day > _MAX_WAIT_FOR_BIRTH_AFTER_TEST:
        d.request_day = d.test_day - _MAX_WAIT_FOR_BIRTH_AFTER_TEST
        d.received_day = max(d.received_day, d.request_day)
    if d.report_day is not None:
        d.report_day = max(d.report_day, birth)


def _dids009(d: Draft, rng: Random) -> None:
    d.overrides["person_birth_date"] = rng.choice(("1900-01-01", f"18{rng.randint(80, 99)}-06-15"))


def _dids012(d: Draft, rng: Random) -> None:  # case-sensitive: "a" fails
    d.overrides["ethnic_category"] = rng.choice(("a", "b", "X", "O", "98", "ZZ", "T"))


def _dids014(d: Draft, rng: Random) -> None:
    d.overrides["person_gender_code"] = rng.choice(("M", "F", "3", "U", "X", "10"))


def _dids017(d: Draft, rng: Random) -> None:  # ZZ99 or real postcode without its space, or truncated
    pc = d.items["postcode"] or d.home_postcode
    d.overrides["postcode"] = pc.replace(" ", "") if rng.random() < 0.8 else pc[:-1]


def _dids020(d: Draft, rng: Random) -> None:
    d.overrides["patient_source_setting"] = None


def _dids021(d: Draft, rng: Random) -> None:
    d.overrides["patient_source_setting"] = rng.choice(("1", "3", "08", "00", "99", "OP"))


def _dids023(d: Draft, rng: Random) -> None:  # a warning: invalid referrer codes (ZE1234: quirk)
    d.overrides["referrer"] = rng.choice(("C12345678", "GMC1234567", "12345678", "ZE1234", "G-1234567"))


def _dids026(d: Draft, rng: Random) -> None:
    d.overrides["diagnostic_test_request_date"] = bad_date(d.request_day, rng)


def _dids027(d: Draft, rng: Random) -> None:  # request after received, still on or before the test
    gap = rng.randint(1, 3)
    if d.test_day - d.received_day < gap:
        d.received_day = d.test_day - gap
        d.request_day = min(d.request_day, d.received_day)
    d.overrides["diagnostic_test_request_date"] = iso_date(d.received_day + gap)


def _dids034(d: Draft, rng: Random) -> None:
    # Request after the test: sending the received date too would also break DIDS027 or DIDS043.
    shown = d.test_day + rng.randint(1, 3)
    d.overrides["diagnostic_test_request_date"] = iso_date(shown)
    d.overrides["diag_test_request_rec_date"] = None
    if d.report_day is not None:
        d.report_day = max(d.report_day, shown)  # DIDS035: report before request


def _dids036(d: Draft, rng: Random) -> None:
    d.overrides["diag_test_request_rec_date"] = bad_date(d.received_day, rng)


def _dids045(d: Draft, rng: Random) -> None:
    d.overrides["diagnostic_test_date"] = bad_date(d.test_day, rng)


def _report(d: Draft) -> None:  # the broken item only exists once a report is issued
    if d.report_day is None:
        d.report_day = d.test_day + d.report_delay


def _dids048(d: Draft, rng: Random) -> None:  # report the day before the test, after request and receipt
    _report(d)
    shown = d.test_day - 1
    if d.received_day > shown:
        d.received_day = shown
        d.request_day = min(d.request_day, shown)
    d.overrides["service_report_date"] = iso_date(shown)


def _dids050(d: Draft, rng: Random) -> None:
    d.overrides["diagnostic_test_date"] = None


def _dids056(d: Draft, rng: Random) -> None:
    d.overrides["imaging_code_nicip"] = None
    d.overrides["imaging_code_snomed"] = None


def _dids061(d: Draft, rng: Random) -> None:
    _report(d)
    d.overrides["service_report_date"] = bad_date(d.report_day or d.test_day, rng)


def _dids067(d: Draft, rng: Random) -> None:
    d.overrides["site_code_imaging"] = None


def _dids069(d: Draft, rng: Random) -> None:
    site = d.items["site_code_imaging"] or "RXX01"
    d.overrides["site_code_imaging"] = rng.choice(
        (f"{site[:3]}-{site[3:]}", site[:3], f"{site[:3]} {site[3:]}", f"{site}{rng.randrange(10**7, 10**8)}")
    )


def _dids070(d: Draft, rng: Random) -> None:
    d.overrides["radiological_accession_num"] = None


def _dids072(d: Draft, rng: Random) -> None:  # keeps the site's accession numbers unique
    acc = d.items["radiological_accession_num"] or ""
    d.overrides["radiological_accession_num"] = f"{acc}/{rng.randrange(10**7, 10**8)}".rjust(21, "0")


def _dids073(d: Draft, rng: Random) -> None:
    for name in DEMOGRAPHIC_FIELDS:
        d.overrides[name] = None
    d.overrides["nhs_number_status_ind"] = "03"  # trace required


def _dids074(d: Draft, rng: Random) -> None:  # the only demographic is a pseudo-postcode
    _dids073(d, rng)
    d.overrides["postcode"] = PSEUDO_POSTCODE


BREAKERS: dict[str, Breaker] = {
    "DIDS001": _dids001,
    "DIDS002": _dids002,
    "DIDS003": _dids003,
    "DIDS005": _dids005,
    "DIDS006": _dids006,
    "DIDS009": _dids009,
    "DIDS012": _dids012,
    "DIDS014": _dids014,
    "DIDS017": _dids017,
    "DIDS020": _dids020,
    "DIDS021": _dids021,
    "DIDS023": _dids023,
    "DIDS026": _dids026,
    "DIDS027": _dids027,
    "DIDS034": _dids034,
    "DIDS036": _dids036,
    "DIDS045": _dids045,
    "DIDS048": _dids048,
    "DIDS050": _dids050,
    "DIDS056": _dids056,
    "DIDS061": _dids061,
    "DIDS067": _dids067,
    "DIDS069": _dids069,
    "DIDS070": _dids070,
    "DIDS072": _dids072,
    "DIDS073": _dids073,
    "DIDS074": _dids074,
}
SUPPORTED_RULES: tuple[str, ...] = tuple(BREAKERS)

# The default set: record-only reject rules (no warnings, nothing needing reference data).
DEFAULT_BREAK_RULES: tuple[str, ...] = (
    "DIDS001", "DIDS002", "DIDS003", "DIDS005", "DIDS006", "DIDS012", "DIDS014", "DIDS017", "DIDS020",
    "DIDS021", "DIDS026", "DIDS034", "DIDS045", "DIDS048", "DIDS050", "DIDS056", "DIDS067", "DIDS069",
    "DIDS070", "DIDS072", "DIDS073",
)  # fmt: skip

# Which items a correction must leave alone so that it cannot undo or double the breakage.
IMAGING_RULES = frozenset({"DIDS056"})
SETTING_RULES = frozenset({"DIDS020", "DIDS021"})
