"""One examination's current state -> the national verdict and the records to publish (pure).

cleanse -> local-code map -> national rules -> derivations -> privacy. The output record carries
no NHS number, postcode or birth date: the person is a keyed HMAC (Person_ID), blank for
restricted procedure codes; a withdrawn-consent person's records are not published at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dids.kernel.pseudonyms import Pseudonymiser
from streams.cleanse import cleanse
from streams.derive import NATIONAL_COLUMNS, DeriveContext, derive_all, map_local_code
from streams.lifecycle import PENDING_EVENTS
from streams.privacy import RESTRICTED_PERSON_ID, SURROGATE, coarsen_restricted
from streams.refdata.protocols import ReferenceData
from streams.rules import check
from streams.rules.context import GracePeriod, context_for

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


def evaluate(key: str, state: dict[str, Any], ctx: StreamContext, now: datetime | None = None) -> Verdict:
    meta = state["meta"]
    event_type = meta["event_type"]
    if event_type in PENDING_EVENTS:
        return Verdict("pending")
    record = cleanse(state["items"])
    # a surrogate NHS number (a restricted record's state, streams.privacy) names nobody: no person id
    person_id = None if state.get(SURROGATE) else ctx.pseudonymiser.person_id(record.nhs_number)
    if person_id is not None and ctx.is_withdrawn(person_id):
        # withdrawn consent: dropped at collection; an earlier published version is suppressed
        return Verdict("withdrawn", record=_base(key, state, "withdrawn", now), person_id=person_id)
    if event_type == "cancelled":
        return Verdict("cancelled", record=_base(key, state, "cancelled", now), person_id=person_id)

    submitter = meta.get("submitter_org")
    derive_ctx = DeriveContext(refdata=ctx.refdata, submitter_org=submitter, grace=ctx.grace)
    mapped = map_local_code(record, derive_ctx)
    submission_time = datetime.fromtimestamp(state["received_time"] / 1000, tz=timezone.utc)
    rules_ctx = context_for(state["items"], submission_time=submission_time, refdata=ctx.refdata, grace=ctx.grace)
    # DIDS071 needs the whole file: `dids submit` found the key twice and flagged the event; an event
    # from no submission (HL7, the simulator) has nothing to be unique in
    duplicate = True if meta.get("duplicate_in_submission") else False if meta.get("submission_id") else None
    outcome = check(mapped.record, rules_ctx, duplicate=duplicate)
    derivation = derive_all(mapped.record, derive_ctx)
    national = derivation.national
    flags = []
    if person_id and state.get("person_id") and person_id != state["person_id"]:
        flags.append(REUSED_ACCESSION)
    published_person = RESTRICTED_PERSON_ID if derivation.restricted else person_id

    if not outcome.accepted:
        reject = _base(key, state, "rejected", now)
        reject.update(
            provider_code=national.get("PROVIDER_CODE"),
            modality=national.get("MODALITY"),
            diagnostic_test_date=national.get("DIAGNOSTIC_TEST_DATE"),
            month_of_test=national.get("MONTH_OF_TEST"),
            year_of_test=national.get("YEAR_OF_TEST"),
            rejects=list(outcome.rejects),
            warnings=list(outcome.warnings),
            not_checked=list(outcome.not_checked),
            failures=[
                {"code": f.code, "severity": f.severity.name, "fields": list(f.fields)} for f in outcome.failures
            ],
        )
        return Verdict(
            "rejected",
            record=_base(key, state, "rejected", now),
            reject=reject,
            person_id=person_id,
            rejects=tuple(outcome.rejects),
            warnings=tuple(outcome.warnings),
            restricted=derivation.restricted,
        )

    out = _base(key, state, "active", now)
    names = _LOWER_NAMES
    out.update(
        {
            names[col] if col in names else col.lower(): value
            for col, value in national.items()
            if col not in _NOT_PUBLISHED
        }
    )
    out.update(
        imaging_code_snomed=national.get("IMAGING_CODE_SNOMED_CT"),
        person_id=published_person,
        age_at_event=derivation.age_at_event,
        local_code=mapped.local_code,
        warnings=list(outcome.warnings),
        not_checked=list(outcome.not_checked),
        flags=flags,
        restricted=derivation.restricted,
    )
    if derivation.restricted:
        out = coarsen_restricted(out)
    return Verdict(
        "accepted", record=out, person_id=person_id, warnings=tuple(outcome.warnings), restricted=derivation.restricted
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
