"""LOCATION_LSOA / LOCATION_MSOA as at the test date (DIDS-SPEC §7.4)."""

from __future__ import annotations

import pytest

from streams.derive.geography import derive_location

from .fixtures import POSTCODES, day


@pytest.mark.parametrize(
    ("postcode", "on", "expected"),
    [
        ("LS1 3EX", "2022-12-31", ("E01009990", "E02002000")),
        ("LS1 3EX", "2023-01-01", ("E01010000", "E02002000")),
        ("ls13ex", "2024-06-10", ("E01010000", "E02002000")),  # case and spacing do not matter
        ("LS1  3EX", "2024-06-10", ("E01010000", "E02002000")),
        ("LS1 3EX", "1979-12-31", (None, None)),  # before its first row
        ("LS2 9ZZ", "2015-06-30", ("E01010999", "E02002001")),
        ("LS2 9ZZ", "2015-07-01", (None, None)),  # terminated
        ("ZZ99 3VZ", "2024-06-10", (None, None)),  # pseudo-postcode
        ("zz99 3vz", "2024-06-10", (None, None)),
        ("SW1A 1AA", "2024-06-10", (None, None)),  # unknown
        (None, "2024-06-10", (None, None)),
    ],
)
def test_location(postcode: str | None, on: str, expected: tuple[str | None, str | None]) -> None:
    assert derive_location(postcode, POSTCODES, day(on)) == expected


def test_location_without_directory_or_date() -> None:
    assert derive_location("LS1 3EX", None, day("2024-06-10")) == (None, None)
    assert derive_location("LS1 3EX", POSTCODES, None) == ("E01010000", "E02002000")  # the latest row
