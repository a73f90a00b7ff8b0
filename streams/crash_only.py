"""Crash-only sends: a record, reject, dead letter or table write the broker refused stops the worker.

Faust only logs a failed send (``Topic._on_published``) and its next commit flushes the producer and
commits the source offsets all the same: the event whose output was lost would never be read again.
This sensor hears of the failure the moment the producer does, before that commit can run, and ends
the process at once (exit code 70); its supervisor starts it again and the uncommitted events are
processed again (at-least-once, with deterministic outputs).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from faust.sensors import Sensor

log = logging.getLogger(__name__)

EXIT_SEND_FAILED = 70  # EX_SOFTWARE


class CrashOnSendError(Sensor):
    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        log.critical(
            "a send to Kafka failed (%s: %s): stopping before any offset past it is committed; "
            "the events after the last commit are processed again on restart",
            type(exc).__name__,
            exc,
        )
        logging.shutdown()
        os._exit(EXIT_SEND_FAILED)


def install(app) -> None:
    app.sensors.add(CrashOnSendError())
