r"""The columnar engine against the rule cases at their exact thresholds (tests/unit/streams/rules/cases.py)
and on hostile text: cleansing as Python's own strip and \s mean it, date rules as §1.3's parser
(``streams.formats.parse_calendar_date``) reads the dates, and a consistent verdict for every row."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dids.kernel.items import ITEM_NAMES
from streams.columnar.cleansing import cleansed, raw_frame
from streams.columnar.engine import Options, failures, judge
from streams.formats import parse_calendar_date
from streams.rules.context import Context
from tests.unit.streams.rules.cases import CASES
from tests.unit.streams.rules.fixtures import CONTEXTS, REFDATA, SUBMITTED


def _judged(rows: list[dict], context: Context, duplicate: list[bool | None] | None = None) -> list[dict]:
    submitted = None
    if context.submission_time is not None:
        s = context.submission_time
        s = s.replace(tzinfo=UTC) if s.tzinfo is None else s
        submitted = int(s.timestamp() * 1000)
    raw = raw_frame(rows).with_columns(
        pl.lit(submitted, pl.Int64).alias("submitted_ms"),
        pl.Series("duplicate", duplicate or [None] * len(rows), dtype=pl.Boolean),
    )
    options = Options(
        refdata=context.refdata, grace=context.grace, reference_month_formula=context.reference_month_formula
    )
    return list(judge(raw, options).iter_rows(named=True))


def _kind(row: dict, code: str) -> str:
    value = row[f"r_{code}"]
    return "pass" if value is None else "not_checked" if value == 0 else "fail"


def test_every_rule_case_gives_the_expected_kind():
    by_context = defaultdict(list)
    for rule_case in CASES:
        by_context[rule_case.context].append(rule_case)
    wrong = []
    for name, cases in by_context.items():
        rows = _judged([c.record for c in cases], CONTEXTS[name])
        kinds = [(c, _kind(row, c.code)) for c, row in zip(cases, rows, strict=True)]
        wrong += [(c.id, kind) for c, kind in kinds if kind != c.expect]
    assert wrong == []


# text a RIS or a hostile sender may put in any item: dates near the edges, Unicode whitespace and digits,
# letters that fold into ASCII under Unicode case rules (the Kelvin sign, the long s), separators
_PIECES = st.sampled_from(
    ["2024-02-29", "2023-02-29", "0000-01-01", "1900-01-01", "2024-13-01", "2024-07-00", "9999-12-31", " ", "\u00a0",
     "\u2028", "\x1c", "\t", "-", "943 476 5919", "9434765919", "\u212a", "\u017f", "ZZ99 3VZ", "ls1 3ex", "RR801",
     "G1234567", "ze123456", "\u0661\u0662", "XCHES", "168537006", "01", "1", "A", "a", "99", ""]
)  # fmt: skip
_TEXT = st.one_of(st.none(), st.lists(_PIECES, max_size=3).map("".join), st.text(max_size=12))
_ROW = st.fixed_dictionaries({name: _TEXT for name in ITEM_NAMES})


def _python_cleanse(row: dict) -> dict:
    """DIDS-RULES §1.2 in plain Python, the oracle: strip, blank is None, the NHS number loses every
    whitespace character and hyphen, the NICIP code is upper-cased."""
    out = {}
    for name in ITEM_NAMES:
        value = row.get(name)
        value = None if value is None else value.strip() or None
        if name == "nhs_number" and value is not None:
            value = re.sub(r"[\s\-]+", "", value) or None
        if name == "imaging_code_nicip" and value is not None:
            value = value.upper()
        out[name] = value
    return out


@settings(max_examples=25, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=40))
def test_cleansing_is_pythons_own(rows):
    got = raw_frame(rows).select(cleansed()).iter_rows(named=True)
    assert list(got) == [_python_cleanse(row) for row in rows]


# date format rules and pair rules, by the §1.3 parser: (code, items), A after B for a pair
_FORMATS = {"DIDS005": "person_birth_date", "DIDS026": "diagnostic_test_request_date",
            "DIDS036": "diag_test_request_rec_date", "DIDS045": "diagnostic_test_date",
            "DIDS061": "service_report_date"}  # fmt: skip
_PAIRS = {"DIDS006": ("person_birth_date", "diagnostic_test_date"),
          "DIDS034": ("diagnostic_test_request_date", "diagnostic_test_date"),
          "DIDS048": ("diagnostic_test_date", "service_report_date")}  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=40), st.booleans())
def test_the_verdict_on_hostile_text(rows, with_refdata):
    context = Context(submission_time=SUBMITTED, refdata=REFDATA if with_refdata else None)
    judged = _judged(rows, context)
    assert len(judged) == len(rows)
    for row, got in zip(rows, judged, strict=True):
        clean = _python_cleanse(row)
        assert got["accepted"] == (got["rejects"] == [])
        assert all(fields for _, _, fields in failures(got))
        for code, item in _FORMATS.items():
            invalid = clean[item] is not None and parse_calendar_date(clean[item]) is None
            assert (code in got["rejects"]) == invalid, (code, clean[item])
        for code, (a, b) in _PAIRS.items():
            first, second = parse_calendar_date(clean[a]), parse_calendar_date(clean[b])
            broken = first is not None and second is not None and first > second
            assert (code in got["rejects"]) == broken, (code, clean[a], clean[b])
        if not with_refdata:
            assert {"DIDS016", "DIDS018", "DIDS057", "DIDS068"} <= set(got["not_checked"])


def test_a_value_that_is_not_text_is_refused():
    with pytest.raises(TypeError, match="nhs_number"):
        raw_frame([{"nhs_number": 9434765919}])


def test_dids071_runs_only_for_records_from_a_submission():
    rows = [{"site_code_imaging": "RR801", "radiological_accession_num": "A1"}] * 3
    judged = _judged(rows, CONTEXTS["bare"], duplicate=[True, False, None])
    assert ["DIDS071" in r["rejects"] for r in judged] == [True, False, False]
