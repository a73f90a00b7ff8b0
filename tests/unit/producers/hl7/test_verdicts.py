"""Feedback messages as the listener reads them: checked before anything reaches an acknowledgement."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from producers.hl7.verdicts import MalformedFeedbackError, read_feedback
from schemas.catalog import EXAMINATION_FEEDBACK, EXAMINATION_REJECT, default_catalog
from schemas.codec import SchemaVersion, encode

CATALOG = default_catalog()
GOOD = {
    "event_id": "0f3d5a77-0000-5b7a-9e61-6a1b2c3d4e5f",
    "verdict": "rejected",
    "duplicate": False,
    "processed_time": datetime(2026, 11, 20, tzinfo=UTC),
    "failures": [{"code": "DIDS001", "severity": "error", "fields": ["nhs_number"], "description": "NHS number"}],
}


def test_a_verdict_is_read():
    feedback = read_feedback(CATALOG, CATALOG.encode(EXAMINATION_FEEDBACK, GOOD))
    assert feedback.event_id == GOOD["event_id"] and feedback.rejected
    assert feedback.failures[0].fields == ("nhs_number",)


def _failure(**changes):
    return dict(GOOD, failures=[dict(GOOD["failures"][0], **changes)])


@pytest.mark.parametrize(
    "record",
    [
        dict(GOOD, verdict="hacked"),
        dict(GOOD, event_id=""),
        dict(GOOD, event_id="x" * 101),
        _failure(code="X|Y"),
        _failure(severity="fatal"),
        _failure(fields=["nhs_number", "PID-3"]),
        _failure(description="d" * 301),
        dict(GOOD, failures=GOOD["failures"] * 101),
    ],
)
def test_a_record_of_the_right_schema_with_wrong_content_is_refused(record):
    with pytest.raises(MalformedFeedbackError):
        read_feedback(CATALOG, CATALOG.encode(EXAMINATION_FEEDBACK, record))


def test_other_bytes_and_other_schemas_are_refused():
    extra = copy.deepcopy(CATALOG.latest(EXAMINATION_FEEDBACK).raw)
    extra["fields"].append({"name": "nhs_number", "type": "string"})
    with_extra = encode(SchemaVersion.from_dict(EXAMINATION_FEEDBACK, 99, extra), dict(GOOD, nhs_number="9434765919"))
    reject = CATALOG.encode(
        EXAMINATION_REJECT,
        {
            "record_key": "A|B",
            "site_code": "A",
            "accession_number": "B",
            "version": 1,
            "event_id": "e",
            "event_type": "reported",
            "event_time": 0,
            "received_time": 0,
            "processed_time": 0,
            "source": "hl7",
            "rejects": [],
        },
    )
    for value in (None, b"", b"plain text", b'{"event_id": "e"}', with_extra, reject):
        with pytest.raises(MalformedFeedbackError) as caught:
            read_feedback(CATALOG, value)
        assert "9434765919" not in str(caught.value)


def test_the_board_settles_every_waiter_of_an_event_and_forgets_cleanly():
    import asyncio

    from producers.hl7.verdicts import VerdictBoard

    async def scenario():
        board = VerdictBoard()
        verdict = read_feedback(CATALOG, CATALOG.encode(EXAMINATION_FEEDBACK, GOOD))
        first, second = board.expect([verdict.event_id]), board.expect([verdict.event_id])  # a resend meanwhile
        gone = board.expect(["other"])
        board.forget(["other"], gone)
        board.forget(["nothing waited"], [])  # a refused message registered nothing
        assert board.size == 2 and gone[0].cancelled()
        board.settle(verdict)
        assert first[0].result() is verdict and second[0].result() is verdict and board.size == 0
        board.settle(verdict)  # again (a redelivery): nobody waits, nothing breaks

    asyncio.run(scenario())
