"""Data-sharing agreements: what is accepted, and every way a file can be wrong or hostile."""

from __future__ import annotations

from datetime import date

import pytest

from sinks.dissemination.agreement import AgreementError, load_agreement, parse_months
from sinks.dissemination.pseudonyms import RecipientPseudonymiser

TODAY = date(2026, 11, 15)  # fixed: no test here reads the clock
GOOD = """\
recipient: University of Example
reference: DARS-NIC-123456-ABCDE
purpose: CT waiting times by deprivation
legal_basis: UK GDPR 6(1)(e) and 9(2)(j)
expires: 2027-03-31
columns: [person_id, provider_code, modality, diagnostic_test_date]
months: 2026-01..2026-03
providers: [RBB, RAA]
national_data_opt_out: apply
"""


def load(tmp_path, text: str | bytes, today=TODAY):
    path = tmp_path / "agreement.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_agreement(path, today)


def refused(tmp_path, text, match, today=TODAY):
    with pytest.raises(AgreementError, match=match):
        load(tmp_path, text, today)


def test_a_good_agreement(tmp_path):
    a = load(tmp_path, GOOD)
    assert a.recipient == "University of Example" and a.reference == "DARS-NIC-123456-ABCDE"
    assert a.expires == date(2027, 3, 31) and a.applies_opt_out
    assert a.columns == ("person_id", "provider_code", "modality", "diagnostic_test_date")
    assert a.months == ("2026-01", "2026-02", "2026-03") and a.providers == ("RAA", "RBB") and a.modalities == ()
    assert len(a.sha256) == 64 and a.describe()["months"] == ["2026-01", "2026-02", "2026-03"]


def test_the_last_day_of_an_agreement_is_its_expiry_date(tmp_path):
    assert load(tmp_path, GOOD, today=date(2027, 3, 31)).expires == date(2027, 3, 31)
    refused(tmp_path, GOOD, "expired on 2027-03-31", today=date(2027, 4, 1))


def test_exempt_needs_a_legal_basis(tmp_path):
    exempt = GOOD.replace("national_data_opt_out: apply", "national_data_opt_out: exempt")
    assert not load(tmp_path, exempt).applies_opt_out
    refused(tmp_path, exempt.replace("legal_basis: UK GDPR 6(1)(e) and 9(2)(j)\n", ""), "exempt needs a legal_basis")
    refused(tmp_path, exempt.replace("UK GDPR 6(1)(e) and 9(2)(j)", '"  "'), "exempt needs a legal_basis")


@pytest.mark.parametrize(
    ("column", "match"),
    [
        ("nhs_number", "nhs_number is an identifier"),
        ("accession_number", "accession_number is an identifier"),
        ("birth_date", "birth_date is an identifier"),
        ("kafka_offset", "transport identifier"),
        ("flags", "not on the published allow-list"),
        ("provider_code FROM system.users --", "entry 2 is not a column name"),
        ("PROVIDER_CODE", "entry 2 is not a column name"),
    ],
)
def test_a_column_off_the_allow_list_is_refused(tmp_path, column, match):
    refused(tmp_path, GOOD.replace("columns: [person_id,", f'columns: [person_id, "{column}",'), match)


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        (["2026-10", "2026-09", "2026-10"], ("2026-09", "2026-10")),
        ("2025-11..2026-02", ("2025-11", "2025-12", "2026-01", "2026-02")),
        ({"from": "2026-12", "to": "2026-12"}, ("2026-12",)),
        ("2026-10", ("2026-10",)),
    ],
)
def test_months_as_a_list_a_range_or_a_mapping(months, expected):
    assert parse_months(months) == expected


@pytest.mark.parametrize(
    ("months", "match"),
    [
        ("2026-10..2026-01", "runs backwards"),
        ("1990-01..2099-12", "1320 months; at most 120"),
        ("0001-01..9999-12", "not a month"),
        ("2026-13", "not a month"),
        ("2026-00", "not a month"),
        ("2026-1", "not a month"),
        (202610, "not a month"),
        ([], "from 1 to 120 months"),
        ([f"20{y:02d}-{m:02d}" for y in range(0, 11) for m in range(1, 13)], "from 1 to 120 months"),
        ({"from": "2026-01"}, "a list"),
        ("2026-01..2026-02..2026-03", "not a month"),
        ("\u0662\u0660\u0662\u0666-10", "not a month"),  # Arabic-Indic digits match \\d
    ],
)
def test_odd_and_huge_month_ranges_are_refused(months, match):
    with pytest.raises(AgreementError, match=match):
        parse_months(months)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("recipient: [unclosed\n", "not valid YAML|expected"),
        ("- just\n- a list\n", "a YAML mapping"),
        ("", "a YAML mapping"),
        (b"recipient: \xff\xfe\n", "not UTF-8"),
        (GOOD + "providers: [RCC]\n", "'providers' is given twice"),
        (GOOD + "provider: [RCC]\n", "unknown key"),
        (GOOD.replace("reference: DARS-NIC-123456-ABCDE", 'reference: "A;DROP"'), "reference: letters"),
        (GOOD.replace("expires: 2027-03-31", "expires: 2027-03-31T10:00:00"), "expires: a date"),
        (GOOD.replace("expires: 2027-03-31", "expires: soon"), "expires: a date"),
        (GOOD.replace("national_data_opt_out: apply", "national_data_opt_out: no"), "`apply` .* or `exempt`"),
        (GOOD.replace("providers: [RBB, RAA]", "providers: [rbb]"), "providers: entry 1 is not an ODS code"),
        (GOOD.replace("providers: [RBB, RAA]", "providers: []"), "providers: a list of 1 to 500"),
        (GOOD.replace("recipient: University of Example", "recipient: 42"), "recipient: give it as text"),
        (GOOD.replace("purpose: CT waiting times by deprivation\n", ""), "lacks purpose"),
        (GOOD + "x: " + "y" * 70_000 + "\n", "larger than 64 KiB"),
    ],
)
def test_malformed_agreements_are_refused_with_the_reason(tmp_path, text, match):
    refused(tmp_path, text, match)


def test_yaml_tags_that_would_build_objects_run_nothing(tmp_path):
    marker = tmp_path / "ran"
    hostile = GOOD.replace(
        "purpose: CT waiting times by deprivation", f'purpose: !!python/object/apply:os.system ["touch {marker}"]'
    )
    refused(tmp_path, hostile, "could not determine a constructor|python/object")
    assert not marker.exists()
    refused(tmp_path, GOOD.replace("recipient: University of Example", "recipient: !!binary aGVsbG8="), "recipient")


def test_aliases_cannot_blow_up(tmp_path):
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for name in "bcdefghi":
        prev = chr(ord(name) - 1)
        bomb += f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    refused(tmp_path, bomb, "unknown key")


def test_recipient_pseudonyms_differ_between_recipients_and_keep_placeholders_unlinkable():
    key = b"k" * 16 + b"0123456789abcdef0123456789"
    person = "0a" * 32
    first, second = RecipientPseudonymiser(key, "University of Example"), RecipientPseudonymiser(key, "NDRS")
    assert first.pseudonym(person) != second.pseudonym(person) != person
    assert RecipientPseudonymiser(key, " university  of EXAMPLE ").pseudonym(person) == first.pseudonym(person)
    assert first.pseudonym("U0000001") is None and first.pseudonym(None) is None
    assert "0123456789" not in repr(first) and "kkkk" not in repr(first)
