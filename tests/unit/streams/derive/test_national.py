"""Every national column (§7.11) through the columnar engine, hand-computed for one record, robust on bad
values, and on simulated traffic with the shipped sample reference data."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from dids.kernel.items import ITEM_NAMES
from producers.catalogue import GP_PRACTICE_DEFAULTS, PSEUDO_POSTCODE
from producers.generator import SimulationConfig, records
from streams.derive import NATIONAL_COLUMNS
from streams.refdata.loaders import load_samples
from streams.refdata.protocols import ReferenceData
from streams.rules.context import Context
from tests.unit.streams.one_record import derive, derive_many, judge_many

from .fixtures import REFDATA, SUBMITTER, record

# what the helper gives beside the national columns
EXTRAS = ("age_at_event", "restricted", "local_code")

EXPECTED_BASE = {
    "RADIOLOGICAL_ACCESSION_NUMBER": "ACC0001",
    "NHS_NUMBER": "9434765919",
    "NHS_NUMBER_STATUS": "01",
    "NHS_NUMBER_STATUS_DESCRIPTION": "Number present and verified",
    "NHS_NUMBER_SUPPLIED": 1,
    "DATE_OF_BIRTH": "1980-05-17",
    "AGE_BAND_5_YEARS": "40-44",
    "AGE_BAND_10_YEARS": "40-49",
    "AGE_BAND_CHILDREN_INC_0_YEARS": "16 and over",
    "AGE_BAND_INC_50_TO_74": "19-49",
    "AGE_BAND_INC_WORKING_AGE_16_TO_60": "16-60",
    "AGE_BAND_INC_WORKING_AGE_16_TO_64": "16-64",
    "ETHNIC_CATEGORY_CODE": "A",
    "ETHNIC_CATEGORY_DESCRIPTION": "British",
    "ETHNIC_CATEGORY_GROUP": "White",
    "GENDER_CODE": 1,
    "GENDER_DESCRIPTION": "Male",
    "POSTCODE": "LS1 3EX",
    "LOCATION_LSOA": "E01010000",
    "LOCATION_MSOA": "E02002000",
    "GP_CODE": "B86001",
    "GP_DESCRIPTION": "LEEDS NORTH MEDICAL CENTRE",
    "CCG_CODE": "15F",
    "CCG_NAME": "NHS WEST YORKSHIRE ICB - 15F",
    "PATIENT_SOURCE_SETTING": "04",
    "PATIENT_SOURCE_SETTING_DESCRIPTION": "GP Direct Access",
    "REFERRER_CODE": "G1234567",
    "DERIVED_REFERRER_TYPE": "GP",
    "REFERRER_ORGANISATION_CODE": "RR8",
    "REFERRER_ORGANISATION_DESCRIPTION": "LEEDS TEACHING HOSPITALS NHS TRUST",
    "DIAGNOSTIC_TEST_REQUEST_DATE": "2024-06-03",
    "DIAGNOSTIC_TEST_REQUEST_RECEIVED_DATE": "2024-06-04",
    "DIAGNOSTIC_TEST_DATE": "2024-06-10",
    "MONTH_OF_TEST": 6,
    "YEAR_OF_TEST": 2024,
    "SERVICE_REPORT_ISSUE_DATE": "2024-06-12",
    "TEST_REQUEST_TO_TEST_REQUEST_RECEIVED": 1,
    "TEST_REQUEST_TO_TEST": 7,
    "TEST_REQUEST_TO_SERVICE_REPORT_ISSUED": 9,
    "TEST_REQUEST_RECEIVED_TO_TEST": 6,
    "TEST_REQUEST_RECEIVED_TO_SERVICE_REPORT_ISSUED": 8,
    "TEST_TO_SERVICE_REPORT_ISSUED": 2,
    "IMAGING_CODE_NICIP": "CABDOB",
    "IMAGING_CODE_NICIP_DESCRIPTION": "CT guided biopsy abdomen",
    "IMAGING_CODE_SNOMED_CT": "419940006",
    "IMAGING_CODE_SNOMED_CT_DESCRIPTION": "CT guided biopsy of abdomen",
    "MORPHOLOGY_ID": None,
    "MORPHOLOGY": None,
    "MODALITY_ID": "77477000",
    "MODALITY": "Computerized axial tomography",
    "SUB_MODALITY_ID": None,
    "SUB_MODALITY": None,
    "REGION_ID": None,
    "REGION": "Abdominal structure",
    "SUB_REGION_ID": None,
    "SUB_REGION": None,
    "SYSTEM_ID": None,
    "SYSTEM": None,
    "SUB_SYSTEM_ID": None,
    "SUB_SYSTEM": None,
    "SUB_SYSTEM_COMPONENT_ID": None,
    "SUB_SYSTEM_COMPONENT": None,
    "FETAL_ID": None,
    "FETAL": None,
    "EARLY_CANCER_DIAGNOSIS": None,
    "SUB_EARLY_CANCER_DIAGNOSIS": None,
    "PROVIDER_SITE_CODE": "RR801",
    "PROVIDER_SITE_CODE_DESCRIPTION": "LEEDS GENERAL INFIRMARY",
    "PROVIDER_CODE": "RR8",
    "PROVIDER_NAME": "LEEDS TEACHING HOSPITALS NHS TRUST",
    "COMMISSIONING_ORGANISATION_CODE": None,
    "COMMISSIONING_ORGANISATION_NAME": None,
    "SUBMITTER_ORGANISATION": "RR8",
    "PROVIDER_SHA_CODE": None,
    "PROVIDER_SHA_NAME": None,
    "DERIVED_IMAGING_CODE_SNOMED_CT": "419940006",
    "DERIVED_IMAGING_CODE_SNOMED_CT_DESCRIPTION": "CT guided biopsy of abdomen",
    "DERIVED_REFERRER_CODE": "G1234567",
    "SUBMITTER_ORGANISATION_NAME": "LEEDS TEACHING HOSPITALS NHS TRUST",
    "MIGRATION_DATE": None,
    "Person_ID": None,
    "MPSConfidence": None,
    "SUBMISSION_DATA_ID": None,
}

REFERENCE_COLUMNS = (
    "LOCATION_LSOA", "LOCATION_MSOA", "GP_DESCRIPTION", "CCG_CODE", "CCG_NAME", "REFERRER_ORGANISATION_DESCRIPTION",
    "IMAGING_CODE_NICIP_DESCRIPTION", "IMAGING_CODE_SNOMED_CT_DESCRIPTION", "MODALITY_ID", "MODALITY", "REGION",
    "PROVIDER_SITE_CODE_DESCRIPTION", "PROVIDER_CODE", "PROVIDER_NAME", "DERIVED_IMAGING_CODE_SNOMED_CT",
    "DERIVED_IMAGING_CODE_SNOMED_CT_DESCRIPTION", "SUBMITTER_ORGANISATION_NAME",
)  # fmt: skip


def test_columns_are_the_national_record_without_meta() -> None:
    assert len(NATIONAL_COLUMNS) == 83 == len(set(NATIONAL_COLUMNS))
    assert NATIONAL_COLUMNS[0] == "RADIOLOGICAL_ACCESSION_NUMBER"
    assert NATIONAL_COLUMNS[27 - 2] == "PATIENT_SOURCE_SETTING_DESCRIPTION"  # national position 27
    assert NATIONAL_COLUMNS[77 - 2] == "DERIVED_IMAGING_CODE_SNOMED_CT"  # national position 77
    assert NATIONAL_COLUMNS[-3:] == ("Person_ID", "MPSConfidence", "SUBMISSION_DATA_ID")
    assert tuple(EXPECTED_BASE) == NATIONAL_COLUMNS


def test_a_clean_record_hand_computed() -> None:
    derived = derive(record(), REFDATA, submitter=SUBMITTER)
    assert {column: derived[column] for column in NATIONAL_COLUMNS} == EXPECTED_BASE
    assert set(derived) == {*NATIONAL_COLUMNS, *EXTRAS}  # nothing else


def test_derive_all_carries_age_and_restricted_flag() -> None:
    plain, restricted = derive_many(
        [record(), record(imaging_code_nicip="UFOTA", imaging_code_snomed=None)], REFDATA, submitter=SUBMITTER
    )
    assert (plain["age_at_event"], plain["restricted"]) == (44, False)
    assert restricted["restricted"]


def test_without_reference_data_reference_fields_are_null() -> None:
    derived = derive(record(), None, submitter=SUBMITTER)
    assert {column: derived[column] for column in REFERENCE_COLUMNS} == dict.fromkeys(REFERENCE_COLUMNS)
    # defaults have fixed labels, and everything record-only is still derived
    assert derive(record(site_code_imaging="89999"))["PROVIDER_SITE_CODE_DESCRIPTION"] == "Non-NHS UK Provider"
    assert derived["AGE_BAND_5_YEARS"] == "40-44" and derived["TEST_REQUEST_TO_TEST"] == 7
    assert derived["SUBMITTER_ORGANISATION"] == "RR8"


def test_a_rejected_record_is_derived_as_far_as_its_values_allow() -> None:
    bad = record(
        person_birth_date="1980-02-30",
        diagnostic_test_date="2024-06-31",
        person_gender_code="X",
        ethnic_category="Q",
        referrer="ZE1234",
        nhs_number="12345",
    )
    derived = derive(bad, REFDATA, submitter=SUBMITTER)
    assert derived["DATE_OF_BIRTH"] is None and derived["DIAGNOSTIC_TEST_DATE"] is None
    assert derived["AGE_BAND_5_YEARS"] == "Age not known"
    assert derived["MONTH_OF_TEST"] is None and derived["TEST_REQUEST_TO_TEST"] is None
    assert derived["TEST_REQUEST_TO_TEST_REQUEST_RECEIVED"] == 1
    assert (derived["GENDER_CODE"], derived["ETHNIC_CATEGORY_DESCRIPTION"]) == (None, None)
    assert (derived["REFERRER_CODE"], derived["DERIVED_REFERRER_TYPE"]) == ("99", "GP N.Ireland")
    assert derived["NHS_NUMBER_SUPPLIED"] == 1
    # no usable test date: the latest reference rows are used
    assert (derived["PROVIDER_CODE"], derived["CCG_CODE"], derived["MODALITY"]) == (
        "RR8",
        "15F",
        "Computerized axial tomography",
    )


def _garbage(rng: random.Random) -> str | None:
    choice = rng.random()
    if choice < 0.2:
        return None
    alphabet = "0123456789-/ AZaz\u00e9\u0130\u017f\u212a\t:+ZZ99"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25))).strip() or None


@pytest.mark.parametrize("seed", range(5))
def test_never_raises_on_bad_values(seed: int) -> None:
    rng = random.Random(seed)
    garbage = [{name: _garbage(rng) for name in ITEM_NAMES} for _ in range(300)]  # one batch per seed
    derived = derive_many(garbage, REFDATA, submitter=SUBMITTER)
    assert [len(row) - len(EXTRAS) for row in derived] == [83] * 300


@pytest.mark.parametrize("test_date", ["0000-01-01", "0000-02-29", "9999-12-31"])
def test_extreme_valid_dates(test_date: str) -> None:
    derived = derive(record(diagnostic_test_date=test_date, imaging_code_nicip="OLDCD"), REFDATA, submitter=SUBMITTER)
    assert derived["DIAGNOSTIC_TEST_DATE"] == test_date
    assert derived["YEAR_OF_TEST"] == int(test_date[:4])


# ---- simulated traffic with the shipped samples ----

NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def samples() -> ReferenceData:
    return load_samples()


def _ordinary(derived: dict) -> bool:
    defaults = {code for code, _ in GP_PRACTICE_DEFAULTS if code}
    return (
        derived["GP_CODE"] is not None
        and derived["GP_CODE"] not in defaults
        and derived["POSTCODE"] not in (None, PSEUDO_POSTCODE)
        and derived["PROVIDER_SITE_CODE"] is not None
    )


def test_simulated_records_are_classified_and_located(samples: ReferenceData) -> None:
    config = SimulationConfig(seed=7, providers=16, invalid_rate=0.0)
    raws = list(records(config, 1500, now=NOW))
    verdicts = judge_many(raws, Context(submission_time=NOW, refdata=samples))
    checked = 0
    # GP_CODE, POSTCODE, PROVIDER_SITE_CODE and the imaging codes are the cleansed items
    for derived, verdict in zip(derive_many(raws, samples), verdicts, strict=True):
        assert derived["MODALITY"] is not None, derived["IMAGING_CODE_NICIP"] or derived["IMAGING_CODE_SNOMED_CT"]
        assert derived["PROVIDER_CODE"] == derived["PROVIDER_SITE_CODE"][:3]
        assert derived["PROVIDER_NAME"] is not None
        assert verdict.accepted, verdict.rejects  # the samples cover the simulator: nothing rejected
        if _ordinary(derived):
            checked += 1
            assert derived["CCG_CODE"] is not None and derived["CCG_NAME"].startswith("NHS ")
            assert derived["LOCATION_LSOA"].startswith("E01") and derived["LOCATION_MSOA"].startswith("E02")
    assert checked > 1000


def test_simulated_records_with_breakage_never_raise(samples: ReferenceData) -> None:
    config = SimulationConfig(seed=11, providers=4, invalid_rate=0.5)
    derived = derive_many(list(records(config, 500, now=NOW)), samples)
    assert [len(row) - len(EXTRAS) for row in derived] == [83] * 500


def test_sample_local_code_maps_then_classifies(samples: ReferenceData) -> None:
    # the local code is mapped before the rules and the derivations, for its submitter only
    derived = derive(record(imaging_code_nicip="XCHESTPA", imaging_code_snomed=None), samples, submitter="RXX")
    assert derived["local_code"] == "XCHESTPA"
    assert (derived["IMAGING_CODE_NICIP"], derived["MODALITY"]) == ("XCHES", "Plain radiography")
    assert derived["EARLY_CANCER_DIAGNOSIS"] == "Chest X-ray"
