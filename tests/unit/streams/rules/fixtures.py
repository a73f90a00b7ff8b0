"""A clean baseline record, reference data around it, and the contexts the rule tests use.

The baseline passes every rule under ``FULL``; each test case changes only what it is about. Records are
plain dicts of the 18 items, which the engine cleanses as it would a submitted record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from dids.kernel.items import ITEM_NAMES
from streams.refdata.memory import MemoryNicip, MemoryOds, MemoryPostcodes, MemorySnomed
from streams.refdata.protocols import NicipVersion, ReferenceData, SnomedVersion
from streams.rules.context import Context, GracePeriod

BASE: dict[str, str | None] = dict(
    nhs_number="9434765919",
    nhs_number_status_ind="01",
    person_birth_date="1980-05-17",
    ethnic_category="A",
    person_gender_code="1",
    postcode="LS1 4AP",
    practice_code="B86001",
    patient_source_setting="04",
    referrer="G1234567",
    referring_org_code="RR8",
    diagnostic_test_request_date="2024-06-03",
    diag_test_request_rec_date="2024-06-04",
    diagnostic_test_date="2024-06-10",
    imaging_code_nicip="CABDO",
    imaging_code_snomed="77477000",
    service_report_date="2024-06-12",
    site_code_imaging="RR801",
    radiological_accession_num="ACC0001",
)

# S: the submission month is July 2024, as in DIDS-RULES §4
SUBMITTED = datetime(2024, 7, 10, 9, 30, tzinfo=UTC)

ODS = MemoryOds.from_rows(
    organisations=[
        ("B86001", date(1990, 1, 1), None),  # GP practice, live
        ("A81001", date(1990, 1, 1), date(2020, 3, 31)),  # GP practice, closed 2020-03-31
        ("Y99999", date(2000, 1, 1), None),  # an organisation that was never a practice or referrer
        ("RR8", date(1990, 1, 1), None),  # NHS trust
        ("RQ6", date(1990, 1, 1), date(2019, 12, 31)),  # NHS trust, dissolved
        ("RR801", date(2000, 1, 1), None),  # site, open
        ("RX101", date(2000, 1, 1), date(2020, 12, 31)),  # site, closed
    ],
    roles=[
        ("B86001", "RO76", date(1990, 1, 1), None),
        ("A81001", "RO76", date(1990, 1, 1), date(2020, 3, 31)),
        ("Y99999", "RO98", date(2000, 1, 1), None),
        ("RR8", "RO197", date(1990, 1, 1), None),
        ("RQ6", "RO197", date(1990, 1, 1), date(2019, 12, 31)),
    ],
    # P11111 and OLDST1 are not in ODS themselves; they were re-coded to live codes
    successions=[("P11111", "B86001"), ("OLDST1", "RR801")],
)

NICIP = MemoryNicip(
    (
        NicipVersion("CABDO", date(2010, 1, 1), None, "77477000"),  # CT abdomen
        NicipVersion("CCHES", date(2010, 1, 1), None, "169069000"),  # CT chest
        NicipVersion("OLDCD", date(2010, 1, 1), date(2024, 1, 31), "77477000"),  # retired 2024-01-31
        NicipVersion("NEWCD", date(2024, 12, 15), None, "77477000"),  # starts 2024-12-15
        NicipVersion("ENDCD", date(2010, 1, 1), date(2024, 8, 31), "77477000"),  # +6 months clamps to Feb 28
        NicipVersion("XUNMAP", date(2010, 1, 1), None, None),  # active but with no SNOMED CT mapping
    )
)

SNOMED = MemorySnomed(
    (
        SnomedVersion("77477000", date(2002, 1, 31)),
        SnomedVersion("169069000", date(2002, 1, 31)),
        SnomedVersion("718431003", date(2010, 1, 1), date(2024, 1, 31)),  # retired 2024-01-31
        SnomedVersion("1833431000000104", date(2020, 4, 1)),
    )
)

POSTCODES = MemoryPostcodes(("LS1 4AP", "SW1A 1AA"))

REFDATA = ReferenceData(ods=ODS, postcodes=POSTCODES, nicip=NICIP, snomed=SNOMED)

CONTEXTS = {
    "full": Context(submission_time=SUBMITTED, refdata=REFDATA),
    "bare": Context(),  # no submission time, no reference data
    "no_tables": Context(submission_time=SUBMITTED, refdata=ReferenceData()),
    "grace_days": Context(submission_time=SUBMITTED, refdata=REFDATA, grace=GracePeriod(183, "days")),
    # 2024-07-10 23:30 at UTC-1 is 2024-07-11 00:30 UTC: date(S) = 2024-07-11
    "late_evening_west": Context(submission_time=datetime.fromisoformat("2024-07-10T23:30:00-01:00")),
    "feb_2023": Context(submission_time=datetime(2023, 2, 14, 12, 0)),
    "feb_2023_reference": Context(submission_time=datetime(2023, 2, 14, 12, 0), reference_month_formula=True),
}


def record(**changes: str | None) -> dict[str, str | None]:
    """The baseline with some items changed (a new dict: ``BASE`` is never touched)."""
    unknown = set(changes) - set(ITEM_NAMES)
    if unknown:  # a misspelt item would otherwise test the baseline
        raise TypeError(f"not items: {sorted(unknown)}")
    return {**BASE, **changes}


def blank_demographics(**changes: str | None) -> dict[str, str | None]:
    """The baseline with all six demographic items blank, then ``changes``."""
    blanks = dict.fromkeys(
        ("nhs_number", "person_birth_date", "ethnic_category", "person_gender_code", "postcode", "practice_code")
    )
    return record(**{**blanks, **changes})
