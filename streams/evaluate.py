"""Examinations' current states -> the national verdicts and the records to publish (pure).

A batch at a time: cleanse -> local-code map -> national rules -> derivations (the columnar engine,
``streams.columnar``) -> privacy, per record. The output record carries
no NHS number, postcode or birth date: the person is a keyed HMAC (Person_ID), blank for
restricted procedure codes; a withdrawn-consent person's records are not published at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl

from dids.kernel.pseudonyms import Pseudonymiser
from dids.kernel.timestamps import clock_hour
from streams.columnar.cleansing import raw_frame
from streams.columnar.derivations import derive
from streams.columnar.engine import Options, failures, outcome, prepare
from streams.derive import NATIONAL_COLUMNS
from streams.lifecycle import PENDING_EVENTS
from streams.privacy import RESTRICTED_PERSON_ID, SURROGATE, coarsen_restricted
from streams.refdata.protocols import ReferenceData
from streams.rules.context import GracePeriod

# identifying national columns never published; the others go out lower-cased
_NOT_PUBLISHED = {
    "NHS_NUMBER",
    "POSTCODE",
    "DATE_OF_BIRTH",
    "RADIOLOGICAL_ACCESSION_NUMBER",
    "IMAGING_CODE_SNOMED_CT",
    "Person_ID",
    "MPSConfidence",
}
REUSED_ACCESSION = "ACCESSION_REUSED_FOR_OTHER_PATIENT"
START_TIMESTAMP = "coded_procedure_start_timestamp"  # v2 extracts; HL7 OBR-7 with a time
# pending examinations whose rules are reported anyway (to the RIS, in an HL7 application ACK)
PREVIEWED_SOURCE = "hl7"
# failed by a requested or scheduled examination only because it has not happened yet: test date blank
NOT_YET = frozenset({"DIDS050"})
# the published (lower-case) name of every national column, worked out once instead of per record
_LOWER_NAMES = {col: col.lower() for col in NATIONAL_COLUMNS}


@dataclass(frozen=True)
class StreamContext:
    refdata: ReferenceData | None
    pseudonymiser: Pseudonymiser
    grace: GracePeriod = field(default_factory=GracePeriod)
    is_withdrawn: Callable[[str], bool] = lambda person_id: False
    # False once the consent list stopped following dids.consent: nothing may be published then
    consent_healthy: Callable[[], bool] = lambda: True
    # persons withdrawn since last asked, whose lifecycle states are to be erased (streams.erasure)
    take_withdrawals: Callable[[], list[str]] = lambda: []
    requeue_withdrawals: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Verdict:
    kind: str  # pending | accepted | rejected | cancelled | withdrawn
    record: dict[str, Any] | None = None  # examination_record for dids.examinations
    reject: dict[str, Any] | None = None  # examination_reject for dids.rejects
    person_id: str | None = None
    rejects: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    restricted: bool = False  # a restricted code: its person is linked nowhere, the lifecycle state included
    # (code, severity name, item names) of every failed rule, rejects and warnings, in code order
    failures: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


def evaluate(key: str, state: dict[str, Any], ctx: StreamContext, now: datetime | None = None) -> Verdict:
    """The verdict of one examination's state: ``evaluate_batch`` of one."""
    return evaluate_batch([(key, state)], ctx, now)[0]


def evaluate_batch(
    items: Sequence[tuple[str, dict[str, Any]]], ctx: StreamContext, now: datetime | None = None
) -> list[Verdict]:
    """The verdict of each (key, state), in order, judged together by the columnar engine
    (``streams.columnar``): one cleansing, one pass of every national rule and derivation for the batch.

    A pending examination (requested or scheduled) is not judged, except one from HL7: its RIS hears the
    rules its items already fail (``streams.feedback``), so it joins the rules' pass, not the derivations'.
    """
    verdicts: list[Verdict | None] = [None] * len(items)
    judged, previewed = [], []
    for i, (_, state) in enumerate(items):
        if state["meta"]["event_type"] not in PENDING_EVENTS:
            judged.append(i)
        elif state["meta"].get("source") == PREVIEWED_SOURCE:
            previewed.append(i)
        else:
            verdicts[i] = Verdict("pending")
    if not judged and not previewed:
        return verdicts  # type: ignore[return-value]
    states = [items[i][1] for i in judged + previewed]
    raw = raw_frame([state["items"] for state in states]).with_columns(
        pl.Series("submitted_ms", [state["received_time"] for state in states], dtype=pl.Int64),
        pl.Series("duplicate", [_duplicate(state["meta"]) for state in states], dtype=pl.Boolean),
        pl.Series("submitter_org", [state["meta"].get("submitter_org") for state in states], dtype=pl.String),
    )
    options = Options(refdata=ctx.refdata, grace=ctx.grace)
    frame = prepare(raw, options)
    rows = list(outcome(frame, options).select(*_VERDICT_COLUMNS, pl.col("^r_DIDS.*$")).iter_rows(named=True))
    derived = derive(frame.head(len(judged)), options).select(*NATIONAL_COLUMNS, *_DERIVED_EXTRAS)
    for i, row, columns in zip(judged, rows[: len(judged)], derived.iter_rows(named=True), strict=True):
        key, state = items[i]
        verdicts[i] = _verdict(key, state, row, columns, ctx, now)
    for i, row in zip(previewed, rows[len(judged) :], strict=True):
        verdicts[i] = Verdict("pending", failures=tuple(f for f in failures(row) if f[0] not in NOT_YET))
    return verdicts  # type: ignore[return-value]


_VERDICT_COLUMNS = ("nhs_number", "accepted", "rejects", "warnings", "not_checked")
_DERIVED_EXTRAS = ("age_at_event", "restricted", "local_code")


def _duplicate(meta: dict[str, Any]) -> bool | None:
    # DIDS071 needs the whole file: `dids submit` found the key twice and flagged the event; an event
    # from no submission (HL7, the simulator) has nothing to be unique in
    return True if meta.get("duplicate_in_submission") else False if meta.get("submission_id") else None


def _verdict(key, state, row, columns, ctx: StreamContext, now) -> Verdict:
    # a surrogate NHS number (a restricted record's state, streams.privacy) names nobody: no person id
    person_id = None if state.get(SURROGATE) else ctx.pseudonymiser.person_id(row["nhs_number"])
    if person_id is not None and ctx.is_withdrawn(person_id):
        # withdrawn consent: dropped at collection; an earlier published version is suppressed
        return Verdict("withdrawn", record=_base(key, state, "withdrawn", now), person_id=person_id)
    if state["meta"]["event_type"] == "cancelled":
        return Verdict("cancelled", record=_base(key, state, "cancelled", now), person_id=person_id)
    restricted = columns["restricted"]
    failed = tuple(failures(row))
    flags = []
    if person_id and state.get("person_id") and person_id != state["person_id"]:
        flags.append(REUSED_ACCESSION)
    if not row["accepted"]:
        reject = _base(key, state, "rejected", now)
        reject.update(
            provider_code=columns["PROVIDER_CODE"],
            modality=columns["MODALITY"],
            diagnostic_test_date=columns["DIAGNOSTIC_TEST_DATE"],
            month_of_test=columns["MONTH_OF_TEST"],
            year_of_test=columns["YEAR_OF_TEST"],
            rejects=list(row["rejects"]),
            warnings=list(row["warnings"]),
            not_checked=list(row["not_checked"]),
            failures=[{"code": code, "severity": level, "fields": list(fields)} for code, level, fields in failed],
        )
        return Verdict(
            "rejected",
            record=_base(key, state, "rejected", now),
            reject=reject,
            person_id=person_id,
            rejects=tuple(row["rejects"]),
            warnings=tuple(row["warnings"]),
            restricted=restricted,
            failures=failed,
        )
    out = _base(key, state, "active", now)
    names = _LOWER_NAMES
    out.update({names[col]: columns[col] for col in NATIONAL_COLUMNS if col not in _NOT_PUBLISHED})
    out.update(
        imaging_code_snomed=columns["IMAGING_CODE_SNOMED_CT"],
        person_id=RESTRICTED_PERSON_ID if restricted else person_id,
        age_at_event=columns["age_at_event"],
        local_code=columns["local_code"],
        warnings=list(row["warnings"]),
        not_checked=list(row["not_checked"]),
        flags=flags,
        restricted=restricted,
        # equipment utilisation: the hour when the source gave the test's time on its date, else None
        test_hour=clock_hour(state["items"].get(START_TIMESTAMP), columns["DIAGNOSTIC_TEST_DATE"]),
    )
    if restricted:
        out = coarsen_restricted(out)
    return Verdict(
        "accepted",
        record=out,
        person_id=person_id,
        warnings=tuple(row["warnings"]),
        restricted=restricted,
        failures=failed,
    )


def _base(key: str, state: dict[str, Any], status: str, now: datetime | None) -> dict[str, Any]:
    """The fields every published record has; no item values beyond the key."""
    site, _, accession = key.partition("|")
    meta = state["meta"]
    processed = now or datetime.now(timezone.utc)
    return {
        "record_key": key,
        "site_code": site,
        "accession_number": accession,
        "version": state["version"],
        "status": status,
        "event_id": meta["event_id"],
        "event_type": meta["event_type"],
        "event_time": state["event_time"],
        "received_time": state["received_time"],
        "processed_time": int(processed.timestamp() * 1000),
        "source": meta["source"],
        "submission_id": meta.get("submission_id"),
        "submitter_org": meta.get("submitter_org"),
        "row_number": meta.get("row_number"),
        # set for every version once the examination was first accepted (streams.process)
        "first_test_date": state.get("first_test_date"),
    }
