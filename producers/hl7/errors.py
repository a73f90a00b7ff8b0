"""Errors of the HL7 collector. Messages name segments, fields and codes, never a submitted value:
a field value may be a patient identifier, and these texts reach ACKs, logs and dead-letter headers.

The numeric codes are HL7 table 0357 (message error condition codes); they go into ERR-3 of the
negative acknowledgement so a sending interface engine can act on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dids.kernel.errors import DidsError

if TYPE_CHECKING:
    from producers.hl7.decode import MshHeader

# HL7 table 0357
SEGMENT_SEQUENCE_ERROR = 100
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
APPLICATION_INTERNAL_ERROR = 207

ERROR_TEXT = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}


class Hl7Error(DidsError):
    """Root of the HL7 collector's errors. ``kind`` is the short, stable name used in the
    ``dids.error`` dead-letter header and in logs."""

    kind = "hl7.error"

    def __init__(self, reason: str, code: int = APPLICATION_INTERNAL_ERROR, location: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.location = location  # e.g. "OBR-4" (ERR-2), empty when it is about the whole message


class DecodeError(Hl7Error):
    """The bytes are not an HL7 v2 message we can read: answered with AR.

    ``header`` is what could still be read of MSH (for the ACK's MSA-2), or None.
    """

    kind = "hl7.undecodable"

    def __init__(self, reason: str, header: MshHeader | None = None, code: int = DATA_TYPE_ERROR) -> None:
        super().__init__(reason, code)
        self.header = header


class MappingError(Hl7Error):
    """A readable HL7 message that cannot become an examination event: answered with AE."""

    kind = "hl7.unmappable"


class DeliveryError(Hl7Error):
    """Kafka did not acknowledge the event: answered with AE (code 207) and not dead-lettered, since
    the sender still holds the message and should send it again."""

    kind = "hl7.delivery"


class RefusedEventError(Hl7Error):
    """Kafka refused the event itself (too large, invalid): answered with AR and dead-lettered."""

    kind = "hl7.refused"


class DeadLetterFailedError(Hl7Error):
    """The dead-letter copy of a refused message was not stored: no AE/AR is sent, the connection drops."""

    kind = "hl7.dead_letter_failed"


class OversizedError(DecodeError):
    """A frame grew past the size limit: answered with AR, then the connection is closed."""

    kind = "hl7.oversized"


class TruncatedFrameError(Hl7Error):
    """The peer disconnected (or restarted a frame) before the end block: no ACK is possible."""

    kind = "hl7.truncated_frame"
