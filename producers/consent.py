"""Publishing withdrawn consent: each NHS number hashed with the pseudonymisation key, one
``consent_change`` per person on the compacted ``dids.consent`` topic (what ``dids consent`` calls).
Only hashes leave this module; an invalid number is named by its position, never its value."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date, datetime, timezone

from dids.kernel.consent import REINSTATED, WITHDRAWN, ConsentError
from dids.kernel.producer import EventProducer
from dids.kernel.pseudonyms import Pseudonymiser, load_pseudonymisation_key
from dids.kernel.settings import Settings
from dids.kernel.topics import CONSENT
from schemas.catalog import CONSENT_CHANGE, default_catalog

log = logging.getLogger(__name__)


def publish_withdrawals(
    settings: Settings,
    nhs_numbers: Iterable[str],
    *,
    reinstate: bool = False,
    created_date: date | None = None,
    pseudonymiser: Pseudonymiser | None = None,
    timeout: float = 60.0,
) -> int:
    """Hash each NHS number and publish one ConsentChange per distinct person; returns how many.

    Every number is checked before anything is sent: one invalid number (it could not be matched, so the
    objection would silently not apply) raises ConsentError naming its position, never its value.
    The consent topic must exist (``ensure_topics``); the producer is idempotent and flushed before return.
    ``created_date`` defaults to today (UTC); ``pseudonymiser`` defaults to one from the settings' key.
    """
    pseudonymiser = pseudonymiser or Pseudonymiser(load_pseudonymisation_key(settings))
    person_ids: dict[str, None] = {}  # ordered, distinct
    invalid: list[int] = []
    for position, number in enumerate(nhs_numbers, start=1):
        person_id = pseudonymiser.person_id(number)
        if person_id is None:
            invalid.append(position)
        else:
            person_ids[person_id] = None
    if invalid:
        shown = ", ".join(str(i) for i in invalid[:20]) + (", ..." if len(invalid) > 20 else "")
        raise ConsentError(
            f"{len(invalid)} NHS number(s) are not valid (modulus 11, 10 digits), at position(s) {shown}; "
            "nothing was published"
        )
    catalog = default_catalog()
    topic = settings.topic(CONSENT)
    status = REINSTATED if reinstate else WITHDRAWN
    created = (created_date or datetime.now(timezone.utc).date()).isoformat()
    now = datetime.now(timezone.utc)
    producer = EventProducer(settings)
    started = time.monotonic()
    for person_id in person_ids:
        record = {"person_id": person_id, "status": status, "created_date": created, "processed_time": now}
        producer.send(topic, person_id, catalog.encode(CONSENT_CHANGE, record))
    producer.flush(timeout)
    log.info(
        "published %d consent change(s) (%s) to %s in %.1fs (key id %s)",
        len(person_ids),
        status,
        topic,
        time.monotonic() - started,
        pseudonymiser.key_id,
    )
    return len(person_ids)
