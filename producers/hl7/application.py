"""Application acknowledgements: waiting, bounded, for the stream's verdict on every event of a message,
and turning the verdicts into an ``AA``/``AE`` with one ERR per failed rule located in the message.

Enhanced mode (``application_ack``): what MSH-16 asked for, or None (not asked, or no verdict within the
verdict timeout). Original mode with ``--ack-wait`` (``original_ack``): the single ACK with the verdict,
or None when the verdict is late (the caller then answers a plain AA: Kafka has the message).
"""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Counter

from producers.hl7.ack import RuleFailure, build_application_ack
from producers.hl7.decode import MshHeader
from producers.hl7.mapping import item_location
from producers.hl7.modes import AckModes
from producers.hl7.verdicts import Feedback, VerdictBoard

log = logging.getLogger(__name__)

APPLICATION_ACKS = Counter(
    "dids_hl7_application_acks_total", "Application acknowledgements, by outcome", ["outcome"]
)  # AA, AE; not_asked (MSH-16 ER/SU said no), timeout (no verdict in time), dropped (connection gone)
for _outcome in ("AA", "AE", "not_asked", "timeout", "dropped"):
    APPLICATION_ACKS.labels(_outcome)


class ApplicationAcks:
    def __init__(self, board: VerdictBoard, verdict_timeout: float, ack_wait: float) -> None:
        self._board = board
        self._timeout = verdict_timeout
        self._wait = ack_wait

    async def application_ack(
        self, header: MshHeader, modes: AckModes, event_ids: list[str], futures: list[asyncio.Future]
    ) -> bytes | None:
        """Enhanced mode: the application ACK once every verdict is in, or None if not to be sent."""
        verdicts = await self._verdicts(event_ids, futures, self._timeout)
        if verdicts is None:
            APPLICATION_ACKS.labels("timeout").inc()
            log.warning(
                "no verdict within %gs for message %r: no application ACK", self._timeout, header.control_id[:20]
            )
            return None
        failures = rule_failures(header.message_type, verdicts)
        success = not any(f.severity == "error" for f in failures)
        if not modes.sends_application(success):
            APPLICATION_ACKS.labels("not_asked").inc()
            return None
        APPLICATION_ACKS.labels("AA" if success else "AE").inc()
        return build_application_ack(header, failures)

    async def original_ack(
        self, header: MshHeader, event_ids: list[str], futures: list[asyncio.Future]
    ) -> tuple[str, bytes] | None:
        """Original mode with ``ack_wait``: (AA or AE, the ACK with the rules), or None when the verdict is late."""
        verdicts = await self._verdicts(event_ids, futures, self._wait)
        if verdicts is None:
            return None
        failures = rule_failures(header.message_type, verdicts)
        code = "AE" if any(f.severity == "error" for f in failures) else "AA"
        return code, build_application_ack(header, failures, enhanced=False)

    async def _verdicts(
        self, event_ids: list[str], futures: list[asyncio.Future], timeout: float
    ) -> list[Feedback] | None:
        try:
            return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))
        except TimeoutError:
            return None
        finally:
            self._board.forget(event_ids, futures)


def rule_failures(kind: str, verdicts: list[Feedback]) -> list[RuleFailure]:
    """The ERR lines of an application ACK: each event's failed rules, located in the message by the
    mapping (the OBR's place for order fields)."""
    found = []
    for ordinal, verdict in enumerate(verdicts, start=1):
        for failure in verdict.failures:
            places = (item_location(kind, name, ordinal) for name in failure.fields)
            locations = tuple(dict.fromkeys(p for p in places if p is not None))
            found.append(RuleFailure(failure.code, failure.severity, failure.description, locations))
    return found
