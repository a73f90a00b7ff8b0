"""Publishing the national data opt-out: each NHS number hashed with the pseudonymisation key, one
``optout_change`` per person on the compacted ``dids.optout`` topic (what ``dids optout`` calls).
Only hashes leave this module; an invalid number is named by its position, never its value."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone

from dids.kernel.optout import OPTED_OUT, REMOVED, OptOutError
from dids.kernel.producer import EventProducer
from dids.kernel.pseudonyms import Pseudonymiser
from dids.kernel.settings import Settings
from dids.kernel.topics import OPTOUT
from schemas.catalog import OPTOUT_CHANGE, default_catalog

log = logging.getLogger(__name__)


def hash_numbers(pseudonymiser: Pseudonymiser, numbers: Iterable[tuple[str, str]]) -> list[str]:
    """The distinct person ids of ``(where, nhs_number)`` pairs, in order. Every number is checked first:
    invalid ones raise OptOutError naming where they are (a line of a file, an argument), never the value."""
    person_ids: dict[str, None] = {}
    invalid: list[str] = []
    for where, number in numbers:
        person_id = pseudonymiser.person_id(number)
        if person_id is None:
            invalid.append(where)
        else:
            person_ids[person_id] = None
    if invalid:
        shown = ", ".join(invalid[:20]) + (f" and {len(invalid) - 20} more" if len(invalid) > 20 else "")
        raise OptOutError(
            f"{len(invalid)} invalid NHS number(s) (10 digits, modulus 11 check) at {shown}; "
            "nothing was published: correct or remove them and run the command again"
        )
    return list(person_ids)


def publish_optouts(settings: Settings, person_ids: list[str], *, remove: bool = False, timeout: float = 60.0) -> int:
    """Publish one OptOutChange per person id (opted out, or ``remove``d from the list); returns how many.
    The topic must exist (``ensure_topics``); the producer is idempotent and flushed before return."""
    catalog = default_catalog()
    topic = settings.topic(OPTOUT)
    status = REMOVED if remove else OPTED_OUT
    now = datetime.now(timezone.utc)
    producer = EventProducer(settings)
    for person_id in person_ids:
        record = {
            "person_id": person_id,
            "status": status,
            "created_date": now.date().isoformat(),
            "processed_time": now,
        }
        producer.send(topic, person_id, catalog.encode(OPTOUT_CHANGE, record))
    producer.flush(timeout)
    log.info("published %d opt-out change(s) (%s) to %s", len(person_ids), status, topic)
    return len(person_ids)
