"""Local code -> NICIP mapping before validation (§7.7) and the restricted-code flag (§7.8)."""

from __future__ import annotations

from dataclasses import replace

from streams.derive import DeriveContext, map_local_code
from streams.derive.restricted import is_restricted
from streams.refdata.protocols import ReferenceData

from .fixtures import CONTEXT, REFDATA, RESTRICTED, day, record

RXX = replace(CONTEXT, submitter_org="RXX")
ON = day("2024-06-10")


def test_local_code_is_mapped_and_the_original_kept() -> None:
    mapped = map_local_code(record(imaging_code_nicip="XCHESTPA"), RXX)
    assert mapped.record.imaging_code_nicip == "XCHES"
    assert mapped.local_code == "XCHESTPA"
    assert mapped.record.imaging_code_snomed == "419940006"  # nothing else changes
    assert map_local_code(record(imaging_code_nicip="xchestpa"), RXX).record.imaging_code_nicip == "XCHES"


def test_local_code_is_not_mapped_when() -> None:
    unchanged = [
        (record(imaging_code_nicip="XCHESTPA"), CONTEXT),  # another submitter
        (record(imaging_code_nicip="XCHESTPA"), replace(RXX, submitter_org=None)),
        (record(imaging_code_nicip="CSHRB"), RXX),  # the code is itself a valid NICIP code
        (record(imaging_code_nicip="LATE"), RXX),  # the entry starts after the test date
        (record(imaging_code_nicip=None), RXX),
        (record(imaging_code_nicip="XCHESTPA"), DeriveContext(submitter_org="RXX")),  # no map loaded
    ]
    for rec, context in unchanged:
        mapped = map_local_code(rec, context)
        assert mapped.record is rec and mapped.local_code is None


def test_without_a_nicip_table_a_map_entry_applies() -> None:
    context = DeriveContext(ReferenceData(local_codes=REFDATA.local_codes), submitter_org="RXX")
    assert map_local_code(record(imaging_code_nicip="CSHRB"), context).record.imaging_code_nicip == "XCHES"


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
