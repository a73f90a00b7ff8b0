"""Organisation fields from ODS as at the test date: provider code in 3 steps, names, commissioner (§7.4)."""

from __future__ import annotations

import pytest

from streams.derive.context import NHS_PROVIDER_ROLES
from streams.derive.organisations import commissioner, gp_description, ods_name, provider_code, site_description

from .fixtures import ODS, day

ON = day("2024-06-10")


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        # step 1: not in ODS (defaults included) -> NULL
        ("ZZZ99", None),
        ("89999", None),
        ("89997", None),
        ("R9998", None),
        (None, None),
        # step 2: NHS trust site -> first 3 characters
        ("RR801", "RR8"),
        ("rr801", "RR8"),  # looked up in upper case
        ("RQ601", "RQ6"),  # closed, and its trust held RO197 when it closed
        ("OLDST1", "RR8"),  # re-coded: the successor's trust
        # step 3: in ODS without an NHS role -> the whole site code
        ("NT325", "NT325"),
        ("AB123", "AB123"),  # its NHS role starts the day after the test
    ],
)
def test_provider_code_three_steps(site: str | None, expected: str | None) -> None:
    assert provider_code(site, ODS, ON, NHS_PROVIDER_ROLES) == expected


def test_provider_code_role_is_taken_at_the_test_date() -> None:
    assert provider_code("AB123", ODS, day("2024-06-11"), NHS_PROVIDER_ROLES) == "AB1"
    assert provider_code("AB123", ODS, None, NHS_PROVIDER_ROLES) == "AB1"  # no usable date: any time


def test_provider_code_without_ods_or_with_other_roles() -> None:
    assert provider_code("RR801", None, ON, NHS_PROVIDER_ROLES) is None
    assert provider_code("NT325", ODS, ON, NHS_PROVIDER_ROLES | {"RO172"}) == "NT3"


def test_site_and_gp_descriptions() -> None:
    assert site_description("RR801", ODS) == "LEEDS GENERAL INFIRMARY"
    assert site_description("89999", ODS) == "Non-NHS UK Provider"
    assert site_description("89997", None) == "Non-UK Provider"
    assert site_description("r9998", None) == "Not a Hospital Site"
    assert site_description("ZZZ99", ODS) is None
    assert gp_description("B86001", ODS) == "LEEDS NORTH MEDICAL CENTRE"
    assert gp_description("P11111", ODS) == "LEEDS NORTH MEDICAL CENTRE"  # re-coded practice
    assert gp_description("V81999", None) == "Not Known"
    assert gp_description("S99961", ODS) == "PATIENTS WHERE PRACTICE C"
    assert gp_description("S30063", ODS) == "Grampian Out Of Hours Service"
    assert gp_description(None, ODS) is None


def test_ods_name() -> None:
    assert ods_name("RR8", ODS) == "LEEDS TEACHING HOSPITALS NHS TRUST"
    assert ods_name(" nt3 ", ODS) == "SPIRE HEALTHCARE LIMITED"
    assert ods_name("X99999", ODS) is None  # referring-org default: no ODS name
    assert ods_name("RR8", None) is None


@pytest.mark.parametrize(
    ("practice", "on", "expected"),
    [
        ("B86001", "2018-03-31", ("02V", "NHS LEEDS NORTH CCG")),
        ("B86001", "2018-04-01", ("15F", "NHS WEST YORKSHIRE ICB - 15F")),
        ("B86001", "2013-03-31", (None, None)),
        ("P11111", "2024-06-10", ("15F", "NHS WEST YORKSHIRE ICB - 15F")),  # succession followed
        ("B86004", "2024-06-10", (None, None)),  # commissioned by an organisation without RO98
        ("V81999", "2024-06-10", (None, None)),  # default practice
        ("Q99999", "2024-06-10", (None, None)),  # unknown
        (None, "2024-06-10", (None, None)),
    ],
)
def test_commissioner_as_at_the_test_date(practice: str | None, on: str, expected: tuple) -> None:
    assert commissioner(practice, ODS, day(on)) == expected


def test_commissioner_without_a_usable_date_is_the_latest() -> None:
    assert commissioner("B86001", ODS, None)[0] == "15F"
    assert commissioner("B86001", None, ON) == (None, None)
