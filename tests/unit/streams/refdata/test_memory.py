"""In-memory reference data: lookups, normalisation and succession."""

from __future__ import annotations

from datetime import date

from streams.refdata.memory import MemoryNicip, MemoryOds, MemoryPostcodes, MemorySnomed
from streams.refdata.protocols import NicipVersion, RolePeriod, SnomedVersion, postcode_key
from streams.rules.organisations import ods_history


def test_ods_from_rows_groups_roles_and_successions() -> None:
    ods = MemoryOds.from_rows(
        organisations=[("A1", date(2000, 1, 1), date(2010, 1, 1)), ("B2", date(2010, 1, 2), None)],
        roles=[("A1", "RO76", date(2000, 1, 1), date(2010, 1, 1)), ("A1", "RO177", None, None)],
        successions=[("A1", "B2"), ("B2", "A1"), ("OLD", "A1")],  # the cycle must not hang
    )
    a1 = ods.lookup("A1")
    assert a1 is not None and a1.roles == (RolePeriod("RO76", date(2000, 1, 1), date(2010, 1, 1)), RolePeriod("RO177"))
    assert ods.lookup("a1") is None  # exact codes: rules upper-case before the lookup where the spec says so
    assert ods.successors("A1") == ("B2",)
    assert ods.successors("B2") == ("A1",)
    assert [org.code for org in ods_history(ods, "OLD")] == ["A1", "B2"]
    assert ods_history(ods, "NONE") == ()


def test_postcodes_ignore_case_and_spaces() -> None:
    postcodes = MemoryPostcodes(("LS1 4AP",))
    assert postcodes.contains("ls14ap") and postcodes.contains("LS1   4AP")
    assert not postcodes.contains("LS1 4AQ")
    assert postcode_key(" sw1a\t1aa ") == "SW1A1AA"


def test_code_tables_return_every_version() -> None:
    nicip = MemoryNicip(
        (NicipVersion("XCHES", date(2010, 1, 1), date(2015, 1, 1), "1"), NicipVersion("xches", date(2015, 1, 2)))
    )
    assert len(nicip.versions("XCHES")) == 2
    assert len(nicip.versions("xches")) == 2
    assert nicip.versions("NOPE") == ()
    snomed = MemorySnomed((SnomedVersion("77477000", date(2002, 1, 31)),))
    assert snomed.versions("77477000")[0].eff_to is None
    assert snomed.versions("77477001") == ()
