"""Reference data from CSV files: the shipped samples, errors naming file/line/column, missing files, as-at dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from producers.catalogue import MODALITIES, PROVIDERS, PSEUDO_POSTCODE, RESTRICTED
from streams.derive.asat import as_at, code_as_at
from streams.derive.organisations import commissioner
from streams.formats import CalendarDate
from streams.refdata.loaders import (
    LAYOUTS,
    SAMPLES_DIR,
    ReferenceDataError,
    load_reference_data,
    load_samples,
)
from streams.refdata.protocols import ReferenceData
from streams.rules.context import GracePeriod


@pytest.fixture(scope="module")
def samples() -> ReferenceData:
    return load_samples()


def day(text: str) -> CalendarDate:
    return CalendarDate.from_date(date.fromisoformat(text))


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- the shipped samples ----


def test_every_sample_file_has_a_layout_and_every_layout_a_sample() -> None:
    assert sorted(path.name for path in SAMPLES_DIR.glob("*.csv")) == sorted(LAYOUTS)


def test_samples_load_every_table(samples: ReferenceData) -> None:
    assert None not in (
        samples.ods,
        samples.postcodes,
        samples.nicip,
        samples.snomed,
        samples.geography,
        samples.local_codes,
        samples.restricted,
    )
    assert samples.postcodes is samples.geography


def test_samples_cover_the_simulator_organisations(samples: ReferenceData) -> None:
    ods = samples.ods
    assert ods is not None
    for provider in PROVIDERS:
        trust = ods.lookup(provider.code)
        assert trust is not None and trust.name == provider.name.upper()
        assert "RO197" in {role.role for role in trust.roles}
        for site in provider.sites:
            found = ods.lookup(site.code)
            assert found is not None and found.name == site.name.upper()
            assert [(link.relationship, link.target) for link in found.relationships] == [("RE6", provider.code)]
        for practice in provider.practices:
            found = ods.lookup(practice)
            assert found is not None and "RO76" in {role.role for role in found.roles}
            assert commissioner(practice, ods, day("2025-06-01"))[0] is not None


def test_samples_cover_the_simulator_postcodes_and_codes(samples: ReferenceData) -> None:
    assert samples.postcodes is not None and samples.nicip is not None and samples.snomed is not None
    assert samples.geography is not None
    for provider in PROVIDERS:
        for postcode in provider.postcodes:
            (area,) = [a for a in samples.geography.areas(postcode) if a.end is None]
            assert area.lsoa.startswith("E01") and len(area.lsoa) == 9
            assert area.msoa.startswith("E02") and len(area.msoa) == 9
    assert not samples.postcodes.contains(PSEUDO_POSTCODE)
    codes = [code for modality in MODALITIES for code in modality.codes] + [code for _, code in RESTRICTED]
    for code in codes:
        if code.nicip is not None:
            versions = samples.nicip.versions(code.nicip)
            assert versions, code.nicip
            assert {v.snomed_id for v in versions} == {code.snomed}, code.nicip  # the pairing DIDS082 checks
        if code.snomed is not None:
            assert samples.snomed.versions(code.snomed), code.snomed


def test_samples_include_an_independent_sector_site_and_the_local_code_example(samples: ReferenceData) -> None:
    assert samples.ods is not None and samples.local_codes is not None
    site = samples.ods.lookup("NT325")
    assert site is not None and site.roles == ()
    operator = samples.ods.lookup(site.relationships[0].target)
    assert operator is not None and [role.role for role in operator.roles] == ["RO172"]
    (entry,) = samples.local_codes.versions("rxx", "xchestpa")
    assert entry.nicip_code == "XCHES"


# ---- as-at lookups at the boundaries of valid_from / valid_to ----


def test_practice_commissioner_changes_on_the_boundary(samples: ReferenceData) -> None:
    assert commissioner("B86001", samples.ods, day("2018-03-31")) == ("02V", "NHS LEEDS NORTH CCG")
    assert commissioner("B86001", samples.ods, day("2018-04-01")) == ("15F", "NHS WEST YORKSHIRE ICB - 15F")
    assert commissioner("B86001", samples.ods, day("2013-03-31")) == (None, None)  # before the first relationship
    assert commissioner("B86001", samples.ods, day("2013-04-01"))[0] == "02V"


def test_postcode_area_changes_on_the_boundary(samples: ReferenceData) -> None:
    assert samples.geography is not None
    rows = samples.geography.areas("ls13ex")

    def lsoa(on: str) -> str | None:
        row = as_at(rows, day(on), lambda area: (area.start, area.end))
        return None if row is None else row.lsoa

    assert lsoa("2022-12-31") == "E01009990"
    assert lsoa("2023-01-01") == "E01010000"
    assert lsoa("1979-12-31") is None
    assert samples.postcodes is not None and samples.postcodes.contains("LS2 9ZZ")  # terminated still counts


def test_nicip_version_changes_on_the_boundary(samples: ReferenceData) -> None:
    assert samples.nicip is not None
    versions = samples.nicip.versions("XCHES")
    grace = GracePeriod()
    assert code_as_at(versions, day("2016-03-31"), grace).description == "Chest"
    assert code_as_at(versions, day("2016-04-01"), grace).description == "XR Chest"
    assert code_as_at(versions, day("2010-04-01"), grace).description == "Chest"
    assert code_as_at(versions, day("2010-03-31"), grace).description == "Chest"  # grace before the start


# ---- missing files ----


def test_an_empty_directory_gives_no_tables(tmp_path: Path) -> None:
    assert load_reference_data(tmp_path) == ReferenceData()


def test_only_the_supplied_tables_are_loaded(tmp_path: Path) -> None:
    write(tmp_path, "nicip.csv", "nicip_code,valid_from\nXCHES,2010-04-01\n")
    loaded = load_reference_data(tmp_path)
    assert loaded.nicip is not None and loaded.nicip.versions("xches")[0].eff_from == date(2010, 4, 1)
    assert (loaded.ods, loaded.postcodes, loaded.snomed, loaded.geography, loaded.local_codes, loaded.restricted) == (
        (None,) * 6
    )


def test_a_header_only_file_is_an_empty_table(tmp_path: Path) -> None:
    write(tmp_path, "postcodes.csv", "postcode,lsoa,msoa,valid_from,valid_to\n")
    loaded = load_reference_data(tmp_path)
    assert loaded.postcodes is not None and not loaded.postcodes.contains("LS1 3EX")


def test_ods_side_files_need_the_organisations_file(tmp_path: Path) -> None:
    write(tmp_path, "ods_roles.csv", "org_code,role\nRR8,RO197\n")
    with pytest.raises(ReferenceDataError, match=r"ods_roles\.csv: needs ods_organisations\.csv"):
        load_reference_data(tmp_path)


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="directory not found"):
        load_reference_data(tmp_path / "nowhere")


# ---- reading details ----


def test_header_case_order_bom_blank_lines_and_padding(tmp_path: Path) -> None:
    (tmp_path / "restricted_codes.csv").write_bytes(
        b"\xef\xbb\xbfCODE , Scheme\r\n\r\n  ufota , nicip \r\n168884001,SNOMED\r\n"
    )
    loaded = load_reference_data(tmp_path)
    assert loaded.restricted is not None
    assert loaded.restricted.versions("NICIP", "UFOTA")[0].code == "ufota"
    assert loaded.restricted.versions("snomed", "168884001")


def test_ods_rows_are_assembled(tmp_path: Path) -> None:
    write(tmp_path, "ods_organisations.csv", "org_code,name,valid_from,valid_to\nRQ6,OLD TRUST,1990-01-01,2019-12-31\n")
    write(tmp_path, "ods_roles.csv", "org_code,role,valid_from,valid_to\nRQ6,RO197,1990-01-01,2019-12-31\n")
    write(tmp_path, "ods_relationships.csv", "org_code,relationship,target_code\nRQ6,RE5,QWO\n")
    write(tmp_path, "ods_successions.csv", "old_code,new_code\nRQ6,RR8\n")
    ods = load_reference_data(tmp_path).ods
    assert ods is not None
    trust = ods.lookup("RQ6")
    assert trust is not None
    assert (trust.name, trust.open_date, trust.close_date) == ("OLD TRUST", date(1990, 1, 1), date(2019, 12, 31))
    assert trust.roles[0].role == "RO197" and trust.relationships[0].target == "QWO"
    assert ods.successors("RQ6") == ("RR8",)


# ---- bad files: the error names file, line and column ----

BAD_FILES = [
    pytest.param(
        "local_codes.csv",
        "submitter_org,local_code,nicip_code,valid_from\nRXX,XCHESTPA,XCHES,2020-13-01\n",
        "local_codes.csv",
        2,
        "valid_from",
        "not a valid CCYY-MM-DD date",
        id="bad-date",
    ),
    pytest.param(
        "nicip.csv",
        "nicip_code,description,valid_from,valid_to\nXCHES,XR Chest,2020-01-01,2019-12-31\n",
        "nicip.csv",
        2,
        "valid_to",
        "before valid_from",
        id="period-reversed",
    ),
    pytest.param(
        "nicip.csv", "nicip_code,modalty\nXCHES,CT\n", "nicip.csv", 1, "modalty", "unknown column", id="unknown-column"
    ),
    pytest.param(
        "local_codes.csv",
        "submitter_org,local_code\nRXX,XCHESTPA\n",
        "local_codes.csv",
        1,
        "nicip_code",
        "required column missing",
        id="missing-column",
    ),
    pytest.param(
        "postcodes.csv",
        "postcode,lsoa,msoa\nLS1 3EX,E01000001\n",
        "postcodes.csv",
        2,
        None,
        "2 fields, but the header has 3",
        id="field-count",
    ),
    pytest.param(
        "snomed.csv",
        "snomed_id,term\n77477000,CT\n\n,blank id\n",
        "snomed.csv",
        4,
        "snomed_id",
        "value is blank",
        id="blank-required",
    ),
    pytest.param(
        "snomed.csv", "snomed_id,term\n7747-7000,CT\n", "snomed.csv", 2, "snomed_id", "not a SNOMED CT id", id="snomed"
    ),
    pytest.param(
        "snomed.csv",
        "snomed_id,modality_id\n77477000,CT\n",
        "snomed.csv",
        2,
        "modality_id",
        "not a SNOMED CT id",
        id="axis-id",
    ),
    pytest.param(
        "restricted_codes.csv",
        "scheme,code\nICD10,N97\n",
        "restricted_codes.csv",
        2,
        "scheme",
        "not NICIP or SNOMED",
        id="scheme",
    ),
    pytest.param(
        "ods_organisations.csv",
        "org_code,name\nRR8,A\nRR8,B\n",
        "ods_organisations.csv",
        3,
        "org_code",
        "already on line 2",
        id="duplicate-org",
    ),
    pytest.param(
        "ods_organisations.csv",
        "org_code,name\nRR8 01,A\n",
        "ods_organisations.csv",
        2,
        "org_code",
        "not a code of letters and digits",
        id="bad-code",
    ),
    pytest.param("nicip.csv", "", "nicip.csv", 1, None, "empty file", id="empty-file"),
    pytest.param(
        "nicip.csv", "nicip_code,NICIP_CODE\nA,B\n", "nicip.csv", 1, "nicip_code", "named twice", id="duplicate-column"
    ),
]


@pytest.mark.parametrize(("name", "text", "file", "line", "column", "problem"), BAD_FILES)
def test_bad_files_name_file_line_and_column(
    tmp_path: Path, name: str, text: str, file: str, line: int, column: str | None, problem: str
) -> None:
    write(tmp_path, name, text)
    with pytest.raises(ReferenceDataError) as caught:
        load_reference_data(tmp_path)
    error = caught.value
    assert (error.file, error.line, error.column) == (file, line, column)
    assert problem in str(error)
    assert str(error).startswith(f"{file}, line {line}")


def test_a_role_for_an_unknown_organisation_names_its_line(tmp_path: Path) -> None:
    write(tmp_path, "ods_organisations.csv", "org_code\nRR8\n")
    write(tmp_path, "ods_roles.csv", "org_code,role\nRR8,RO197\nRQ6,RO197\n")
    with pytest.raises(ReferenceDataError, match=r"ods_roles\.csv, line 3, column org_code: 'RQ6' is not in"):
        load_reference_data(tmp_path)


def test_non_utf8_text_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "nicip.csv").write_bytes(b"nicip_code,description\nXCHES,R\xe9sum\xe9\n")
    with pytest.raises(ReferenceDataError, match=r"nicip\.csv: not UTF-8"):
        load_reference_data(tmp_path)
