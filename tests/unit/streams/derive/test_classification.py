"""Clinical classification, SNOMED CT first, with descriptions and the derived concept (DIDS-SPEC §7.5, §7.6)."""

from __future__ import annotations

from streams.derive.classification import AXIS_COLUMNS, classify
from streams.rules.context import GracePeriod

from .fixtures import CT, CT_ABDOMEN, NICIP, SNOMED, US, XR, day

ON = day("2024-06-10")
GRACE = GracePeriod()


def run(nicip: str | None, snomed: str | None, on=ON, grace=GRACE):
    return classify(nicip, snomed, NICIP, SNOMED, on, grace)


def test_axis_columns_are_the_national_names() -> None:
    assert list(AXIS_COLUMNS.values()) == [
        "MORPHOLOGY_ID", "MORPHOLOGY", "MODALITY_ID", "MODALITY", "SUB_MODALITY_ID", "SUB_MODALITY", "REGION_ID",
        "REGION", "SUB_REGION_ID", "SUB_REGION", "SYSTEM_ID", "SYSTEM", "SUB_SYSTEM_ID", "SUB_SYSTEM",
        "SUB_SYSTEM_COMPONENT_ID", "SUB_SYSTEM_COMPONENT", "FETAL_ID", "FETAL", "EARLY_CANCER_DIAGNOSIS",
        "SUB_EARLY_CANCER_DIAGNOSIS",
    ]  # fmt: skip


def test_both_codes_snomed_wins_every_axis_and_the_nicip_description_stays() -> None:
    # CSHRB maps to 303686006, but 419940006 was sent: the submitted SNOMED CT row is used
    result = run("CSHRB", "419940006")
    assert result.classification == CT_ABDOMEN
    assert result.nicip_description == "CT Shoulder Both"
    assert result.snomed_description == "CT guided biopsy of abdomen"
    assert (result.derived_snomed, result.derived_snomed_description) == ("419940006", "CT guided biopsy of abdomen")
    columns = result.columns()
    assert columns["REGION"] == "Abdominal structure" and columns["MODALITY_ID"] == "77477000"


def test_nicip_only_uses_the_lookup_row_of_the_mapped_concept() -> None:
    result = run("CABDOB", None)
    assert result.classification == CT_ABDOMEN  # from the lookup, not the NICIP row's own axes (CT only)
    assert result.nicip_description == "CT guided biopsy abdomen"
    assert result.snomed_description is None
    assert (result.derived_snomed, result.derived_snomed_description) == ("419940006", "CT guided biopsy of abdomen")


def test_nicip_only_without_a_mapped_concept_uses_the_nicip_row_itself() -> None:
    result = run("XCHES", None)
    assert result.classification == XR
    assert result.columns()["EARLY_CANCER_DIAGNOSIS"] == "Chest X-ray"
    assert (result.derived_snomed, result.derived_snomed_description) == (None, None)


def test_nicip_only_whose_lookup_row_has_no_axes_keeps_the_nicip_axes() -> None:
    result = run("CMSPWT", None)
    assert result.classification == CT
    assert result.derived_snomed_description == "CT myelogram of whole spine"


def test_snomed_only() -> None:
    result = run(None, "168884001")
    assert result.classification == US
    assert result.nicip_description is None
    assert result.snomed_description == "Fertility-related ultrasound"
    assert result.derived_snomed == "168884001"


def test_unknown_snomed_falls_back_to_the_nicip() -> None:
    result = run("CABDOB", "999999999")
    assert result.classification == CT_ABDOMEN
    assert result.snomed_description is None
    assert result.derived_snomed == "419940006"  # the concept actually used


def test_nicip_is_matched_in_upper_case() -> None:
    assert run("cabdob", None).classification == CT_ABDOMEN


def test_grace_period_code_is_classified_with_its_last_active_version() -> None:
    # OLDCD ended 2024-01-31; 2024-06-10 is inside the 6-month grace window
    result = run("OLDCD", None)
    assert result.nicip_description == "Old code v2"
    assert result.classification == CT
    assert run("OLDCD", None, on=day("2024-07-31")).nicip_description == "Old code v2"
    # outside the window (a DIDS057 reject): unclassified
    assert run("OLDCD", None, on=day("2024-08-01")).classification is None
    # active dates pick their own version
    assert run("OLDCD", None, on=day("2020-12-31")).nicip_description == "Old code v1"
    assert run("OLDCD", None, on=day("2021-01-01")).nicip_description == "Old code v2"


def test_grace_before_a_code_starts_and_with_a_days_grace() -> None:
    assert run("NEWCD", None).nicip_description == "New code"  # 2024-06-10 is within 6 months of 2024-12-01
    assert run("NEWCD", None, on=day("2024-05-31")).nicip_description is None
    assert run("OLDCD", None, grace=GracePeriod(30, "days")).classification is None


def test_retired_snomed_in_grace_still_wins() -> None:
    result = run("XCHES", "718431003")
    assert result.classification == US and result.derived_snomed == "718431003"


def test_nothing_found_or_no_tables() -> None:
    assert run(None, None).columns() == dict.fromkeys(run(None, None).columns())
    empty = classify("CABDOB", "419940006", None, None, ON, GRACE)
    assert set(empty.columns().values()) == {None}
    nicip_only_table = classify("CABDOB", "419940006", NICIP, None, ON, GRACE)
    assert nicip_only_table.classification == CT and nicip_only_table.derived_snomed == "419940006"
    assert nicip_only_table.snomed_description is None


def test_without_a_usable_test_date_the_latest_version_is_used() -> None:
    assert run("OLDCD", None, on=None).nicip_description == "Old code v2"
