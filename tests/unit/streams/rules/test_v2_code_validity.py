"""DIDS v2.0 code validity (DIDS-RULES §8.2): checked at the local date of the procedure end timestamp,
valid up to 183 days after a code goes inactive, and no grace before it starts."""

from __future__ import annotations

from datetime import date

import pytest

from streams.refdata.memory import MemoryNicip
from streams.refdata.protocols import NicipVersion, ReferenceData
from streams.rules.context import Context
from tests.unit.streams.one_record import judge

NICIP = MemoryNicip(
    (
        NicipVersion("OLDCD", date(2010, 1, 1), date(2025, 12, 31), None),
        NicipVersion("NEWCD", date(2026, 6, 1), None, None),
    )
)
REFDATA = ReferenceData(nicip=NICIP)


def outcome(nicip: str, test_date: str, end_timestamp: str | None):
    items = {
        "imaging_code_nicip": nicip,
        "diagnostic_test_date": test_date,
        "coded_procedure_end_timestamp": end_timestamp,
    }
    result = judge(items, Context(refdata=REFDATA))
    return set(result.rejects) | set(result.warnings)


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("2025-12-31T23:00:00Z", set()),  # still active on its last day
        ("2026-06-30T10:00:00+01:00", {"DIDS077"}),  # 181 days after: inside the 183-day grace
        ("2026-07-02T00:30:00+01:00", {"DIDS077"}),  # local date 2026-07-02 = day 183
        ("2026-07-03T00:30:00+01:00", {"DIDS057"}),  # day 184: rejected
    ],
)
def test_grace_of_183_days_after_the_end_at_the_end_timestamp(end, expected):
    assert outcome("OLDCD", "2025-12-01", end) & {"DIDS057", "DIDS077"} == expected


def test_no_grace_before_a_code_starts_in_v2_but_six_months_in_v1():
    assert "DIDS057" in outcome("NEWCD", "2026-05-20", "2026-05-20T10:00:00+01:00")
    assert "DIDS077" in outcome("NEWCD", "2026-05-20", None)  # v1: grace at both ends, test date


def test_without_a_v2_timestamp_validity_is_v1_at_the_test_date():
    # v2: the local date of the timestamp, 2026-05-01, before NEWCD starts (the test date is inside it)
    assert outcome("NEWCD", "2026-06-15", "2026-05-01T14:32:00+01:00") & {"DIDS057", "DIDS077"} == {"DIDS057"}
    # a malformed timestamp is left to the format rules; validity falls back to the test date and v1's grace
    assert outcome("NEWCD", "2026-05-20", "2026-05-01 14:32") & {"DIDS057", "DIDS077"} == {"DIDS077"}
    assert outcome("NEWCD", "2026-05-20", None) & {"DIDS057", "DIDS077"} == {"DIDS077"}
