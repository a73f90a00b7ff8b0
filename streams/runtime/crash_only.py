"""Crash-only: a send the broker refused, or a consent list that stopped following its topic, stops the worker.

Faust only logs a failed send (``Topic._on_published``) and its next commit flushes the producer and
commits the source offsets all the same: the event whose output was lost would never be read again.
This sensor hears of the failure the moment the producer does, before that commit can run, and ends
the process at once (exit code 70); its supervisor starts it again and the uncommitted events are
processed again (at-least-once, with deterministic outputs). A worker whose consent reader died
stops the same way before judging another event (fail closed): a stale list would publish the records
of someone who has just withdrawn.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from faust.sensors import Sensor

log = logging.getLogger(__name__)

EXIT_SEND_FAILED = 70  # EX_SOFTWARE


EXIT_CONSENT_LOST = 71  # the withdrawn-consent list can no longer be trusted


class CrashOnSendError(Sensor):
    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        stop(
            f"a send to Kafka failed ({type(exc).__name__}: {exc}): stopping before any offset past it is "
            "committed; the events after the last commit are processed again on restart",
            EXIT_SEND_FAILED,
        )


def stop(reason: str, code: int) -> None:
    """End the worker now, whatever Faust is doing: nothing after this line is published or committed."""
    log.critical("%s", reason)
    logging.shutdown()
    os._exit(code)


def install(app) -> None:
    app.sensors.add(CrashOnSendError())
