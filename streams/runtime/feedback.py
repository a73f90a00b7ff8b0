"""The worker's feedback to the HL7 listener: after a batch is judged, one ``dids.feedback`` message per
HL7 event (``streams.feedback``), through the worker's own producer, so it is flushed with the batch's
records before the batch's offsets can be committed (at least once: a redelivered event is judged
again, as a duplicate, and its feedback sent again)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from schemas.catalog import EXAMINATION_FEEDBACK, Catalog
from streams.feedback import VERDICTS, feedback_records
from streams.process import Routed
from streams.runtime.outputs import Outputs

FEEDBACK_OUT = Counter("dids_streams_feedback_total", "Verdicts sent back to the HL7 listener", ["verdict"])
for _verdict in VERDICTS:
    FEEDBACK_OUT.labels(_verdict)


def publish_feedback(
    outputs: Outputs,
    topic: str,
    catalog: Catalog,
    events: Sequence[dict[str, Any]],
    routed: Sequence[Routed],
) -> int:
    """Send the feedback of a judged batch's HL7 events (none for other sources); returns how many."""
    records = feedback_records(events, routed)
    for record in records:
        outputs.send(topic, record["event_id"].encode(), catalog.encode(EXAMINATION_FEEDBACK, record))
        FEEDBACK_OUT.labels(record["verdict"]).inc()
    return len(records)
