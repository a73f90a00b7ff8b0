"""Small in-memory reference data for the derivation tests, each row there for one expectation.

Test dates are mostly 2024-06-10 (``BASE`` in the rules fixtures). Records are raw item dicts: the
columnar engine cleanses, maps and derives them (``tests.unit.streams.one_record``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from streams.formats import CalendarDate
from streams.refdata.memory import (
    MemoryLocalCodes,
    MemoryNicip,
    MemoryOds,
    MemoryPostcodeAreas,
    MemoryRestrictedCodes,
    MemorySnomed,
)
from streams.refdata.protocols import (
    Classification,
    LocalCode,
    NicipVersion,
    OdsOrganisation,
    PostcodeArea,
    ReferenceData,
    Relationship,
    RestrictedCode,
    RolePeriod,
    SnomedVersion,
)
from tests.unit.streams.one_record import derive_many

D = date.fromisoformat


def day(text: str) -> CalendarDate:
    return CalendarDate.from_date(D(text))


def _org(code: str, name: str, roles=(), links=(), open_="1990-01-01", close: str | None = None) -> OdsOrganisation:
    return OdsOrganisation(
        code,
        D(open_),
        None if close is None else D(close),
        tuple(RolePeriod(role, D(start), None if end is None else D(end)) for role, start, end in roles),
        name,
        tuple(
            Relationship(kind, target, D(start), None if end is None else D(end)) for kind, target, start, end in links
        ),
    )


ODS = MemoryOds(
    (
        _org("RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", [("RO197", "1998-04-01", None)]),
        _org("RR801", "LEEDS GENERAL INFIRMARY", [("RO198", "1998-04-01", None)], [("RE6", "RR8", "1998-04-01", None)]),
        # a site without roles of its own, run by a trust that closed on 2019-12-31
        _org("RQ6", "OLD NHS TRUST", [("RO197", "1990-01-01", "2019-12-31")], close="2019-12-31"),
        _org("RQ601", "OLD TRUST HOSPITAL", links=[("RE6", "RQ6", "1990-01-01", "2019-12-31")], close="2019-12-31"),
        # independent sector: company and site
        _org("NT3", "SPIRE HEALTHCARE LIMITED", [("RO172", "2007-08-01", None)]),
        _org("NT325", "SPIRE LEEDS HOSPITAL", links=[("RE6", "NT3", "2007-08-01", None)]),
        # a site that only became NHS on 2024-06-11 (the day after the test date)
        _org("AB123", "LATE JOINER SITE", [("RO198", "2024-06-11", None)]),
        # practices and commissioners
        _org("B86001", "LEEDS NORTH MEDICAL CENTRE", [("RO76", "1974-04-01", None)],
             [("RE4", "02V", "2013-04-01", "2018-03-31"), ("RE4", "15F", "2018-04-01", None)]),
        _org("B86004", "ORPHAN SURGERY", [("RO76", "1974-04-01", None)], [("RE4", "Y99999", "2013-04-01", None)]),
        _org("02V", "NHS LEEDS NORTH CCG", [("RO98", "2013-04-01", "2018-03-31")], close="2018-03-31"),
        _org("15F", "NHS WEST YORKSHIRE ICB - 15F", [("RO98", "2018-04-01", None)]),
        _org("Y99999", "NOT A COMMISSIONER", [("RO157", "2000-01-01", None)]),
    ),
    successions=(("OLDST1", "RR801"), ("P11111", "B86001")),
)  # fmt: skip

CT = Classification(modality_id="77477000", modality="Computerized axial tomography")
CT_ABDOMEN = replace(CT, region="Abdominal structure")
XR = Classification(
    modality="Plain radiography", early_cancer_diagnosis="Chest X-ray", sub_early_cancer_diagnosis="Lung"
)
US = Classification(modality="Diagnostic ultrasonography")

NICIP = MemoryNicip(
    (
        NicipVersion("CABDOB", D("2010-01-01"), None, "419940006", "CT guided biopsy abdomen", CT),
        NicipVersion("CSHRB", D("2010-01-01"), None, "303686006", "CT Shoulder Both", CT),
        NicipVersion("XCHES", D("2010-01-01"), None, None, "XR Chest", XR),  # no mapped concept
        NicipVersion("CMSPWT", D("2010-01-01"), None, "1833431000000104", "CT whole spine myelogram", CT),
        NicipVersion("UFOTA", D("2010-01-01"), None, "252939009", "US Follicular tracking", US),
        # retired: two versions, the last ending 2024-01-31 (grace runs to 2024-07-31)
        NicipVersion("OLDCD", D("2010-01-01"), D("2020-12-31"), None, "Old code v1", US),
        NicipVersion("OLDCD", D("2021-01-01"), D("2024-01-31"), None, "Old code v2", CT),
        # not yet started on 2024-06-10 but inside the grace window before its start
        NicipVersion("NEWCD", D("2024-12-01"), None, None, "New code", CT),
    )
)

SNOMED = MemorySnomed(
    (
        SnomedVersion("419940006", D("2010-01-01"), None, "CT guided biopsy of abdomen", CT_ABDOMEN),
        SnomedVersion("303686006", D("2010-01-01"), None, "CT of both shoulders", CT),
        SnomedVersion("1833431000000104", D("2020-04-01"), None, "CT myelogram of whole spine", None),  # no axes
        SnomedVersion("252939009", D("2010-01-01"), None, "Ultrasound follicle tracking", US),
        SnomedVersion("168884001", D("2010-01-01"), None, "Fertility-related ultrasound", US),
        SnomedVersion("718431003", D("2010-01-01"), D("2024-01-31"), "Retired concept", US),
    )
)

POSTCODES = MemoryPostcodeAreas(
    (
        PostcodeArea("LS1 3EX", "E01009990", "E02002000", D("1980-01-01"), D("2022-12-31")),
        PostcodeArea("LS1 3EX", "E01010000", "E02002000", D("2023-01-01"), None),
        PostcodeArea("LS2 9ZZ", "E01010999", "E02002001", D("1980-01-01"), D("2015-06-30")),  # terminated
    )
)

LOCAL_CODES = MemoryLocalCodes(
    (
        LocalCode("RXX", "XCHESTPA", "XCHES", D("2020-01-01"), None),
        LocalCode("RXX", "CSHRB", "XCHES", D("2020-01-01"), None),  # a local code that is also a national one
        LocalCode("RXX", "LATE", "XCHES", D("2024-06-11"), None),  # starts the day after the test date
    )
)

RESTRICTED = MemoryRestrictedCodes(
    (RestrictedCode("NICIP", "UFOTA"), RestrictedCode("SNOMED", "168884001", D("2024-06-11"), None))
)

REFDATA = ReferenceData(
    ods=ODS,
    postcodes=POSTCODES,
    nicip=NICIP,
    snomed=SNOMED,
    geography=POSTCODES,
    local_codes=LOCAL_CODES,
    restricted=RESTRICTED,
)
SUBMITTER = "RR8"  # the submitting organisation of the derivation tests

BASE: dict[str, str | None] = {
    "nhs_number": "9434765919",
    "nhs_number_status_ind": "01",
    "person_birth_date": "1980-05-17",
    "ethnic_category": "A",
    "person_gender_code": "1",
    "postcode": "LS1 3EX",
    "practice_code": "B86001",
    "patient_source_setting": "04",
    "referrer": "G1234567",
    "referring_org_code": "RR8",
    "diagnostic_test_request_date": "2024-06-03",
    "diag_test_request_rec_date": "2024-06-04",
    "diagnostic_test_date": "2024-06-10",
    "imaging_code_nicip": "CABDOB",
    "imaging_code_snomed": "419940006",
    "service_report_date": "2024-06-12",
    "site_code_imaging": "RR801",
    "radiological_accession_num": "ACC0001",
}


def record(**changes: str | None) -> dict[str, str | None]:
    """The baseline with some items changed."""
    return {**BASE, **changes}


def derived_by_key(records: Mapping[Hashable, Mapping[str, Any]], **options: Any) -> dict[Hashable, dict[str, Any]]:
    """Every record derived in one batch (a batch costs ~40 ms: not one per parametrized case), by its key.
    ``options`` are ``derive_many``'s (refdata, submitter, grace)."""
    keys = list(records)
    return dict(zip(keys, derive_many([records[key] for key in keys], **options), strict=True))
