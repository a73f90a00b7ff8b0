"""What goes with a message to the dead-letter topic: the error and where the message came from.

Headers only name the error class, its message and the source topic/partition/offset: never a
patient identifier. Used by the stream processors and the sink alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeadLetter:
    error: str  # the error class, e.g. UnknownSchemaError
    message: str  # what went wrong; never a patient identifier

    def headers(self, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
        return [
            ("dids.error", self.error.encode()),
            ("dids.error.message", self.message[:1000].encode()),
            ("dids.source.topic", topic.encode()),
            ("dids.source.partition", str(partition).encode()),
            ("dids.source.offset", str(offset).encode()),
        ]
