"""Local code -> NICIP mapping before validation (§7.7) and the restricted-code flag (§7.8)."""

from __future__ import annotations

from streams.derive.restricted import is_restricted
from streams.refdata.protocols import ReferenceData
from tests.unit.streams.one_record import derive, derive_many

from .fixtures import REFDATA, RESTRICTED, SUBMITTER, day, record

ON = day("2024-06-10")


def test_local_code_is_mapped_and_the_original_kept() -> None:
    # cleansing upper-cases the NICIP item, so a lower-case local code maps too
    mapped, lower = derive_many(
        [record(imaging_code_nicip="XCHESTPA"), record(imaging_code_nicip="xchestpa")], REFDATA, submitter="RXX"
    )
    assert mapped["IMAGING_CODE_NICIP"] == "XCHES"
    assert mapped["local_code"] == "XCHESTPA"
    assert mapped["IMAGING_CODE_SNOMED_CT"] == "419940006"  # nothing else changes
    assert lower["IMAGING_CODE_NICIP"] == "XCHES"


def test_local_code_is_not_mapped_when() -> None:
    unchanged = [  # (record, reference data, submitter)
        (record(imaging_code_nicip="XCHESTPA"), REFDATA, SUBMITTER),  # another submitter
        (record(imaging_code_nicip="XCHESTPA"), REFDATA, None),
        (record(imaging_code_nicip="CSHRB"), REFDATA, "RXX"),  # the code is itself a valid NICIP code
        (record(imaging_code_nicip="LATE"), REFDATA, "RXX"),  # the entry starts after the test date
        (record(imaging_code_nicip=None), REFDATA, "RXX"),
        (record(imaging_code_nicip="XCHESTPA"), None, "RXX"),  # no map loaded
    ]
    for rec, refdata, submitter in unchanged:
        derived = derive(rec, refdata, submitter=submitter)
        assert (derived["IMAGING_CODE_NICIP"], derived["local_code"]) == (rec["imaging_code_nicip"], None)


def test_without_a_nicip_table_a_map_entry_applies() -> None:
    refdata = ReferenceData(local_codes=REFDATA.local_codes)
    assert derive(record(imaging_code_nicip="CSHRB"), refdata, submitter="RXX")["IMAGING_CODE_NICIP"] == "XCHES"


def test_restricted_with_the_built_in_list() -> None:
    for nicip, snomed, derived in [
        ("FHYSG", None, None),
        ("uhystc", None, None),
        (None, "432787004", None),
        ("XCHES", None, "252939009"),  # through the derived concept
    ]:
        assert is_restricted(nicip, snomed, derived, None, ON)
    assert not is_restricted("XCHES", "419940006", "419940006", None, ON)
    assert not is_restricted(None, None, None, None, ON)


def test_restricted_with_a_dated_table() -> None:
    assert is_restricted("UFOTA", None, None, RESTRICTED, ON)
    assert not is_restricted("FHYSG", None, None, RESTRICTED, ON)  # not in this table
    assert not is_restricted(None, "168884001", None, RESTRICTED, ON)  # listed from 2024-06-11
    assert is_restricted(None, "168884001", None, RESTRICTED, day("2024-06-11"))
    assert is_restricted(None, "168884001", None, RESTRICTED, None)
