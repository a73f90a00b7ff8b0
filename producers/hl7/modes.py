"""Which acknowledgements a message asks for: MSH-15 (accept) and MSH-16 (application), HL7 table 0155.

Both empty: **original mode**, one ACK (``AA``/``AE``/``AR``) per message, as always. Either valued:
**enhanced mode**: a commit acknowledgement (``CA``, ``CE`` or ``CR``) once Kafka has the events (or
the message was refused), then, on the same connection, an application acknowledgement (``AA`` or
``AE``) once the stream has judged the examination. Each field says when its acknowledgement is sent:

* ``AL`` always; ``NE`` never; ``ER`` only on an error (CE/CR, or AE); ``SU`` only on success (CA, or AA).

In enhanced mode an empty field is ``NE`` (HL7 makes both required in enhanced mode; a sender that
fills only MSH-15 asks for a commit acknowledgement and nothing more). Any other value (lower case,
a typo, a component) is refused with ``AR``, ERR 103 at the field: no acknowledgement the sender did
not ask for is ever sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from producers.hl7.decode import MshHeader
from producers.hl7.errors import TABLE_VALUE_NOT_FOUND, Hl7Error

CONDITIONS = ("AL", "NE", "ER", "SU")


class AckModeError(Hl7Error):
    """MSH-15 or MSH-16 holds something other than AL, NE, ER or SU: answered AR and dead-lettered."""

    kind = "hl7.ack_mode"


@dataclass(frozen=True)
class AckModes:
    accept: str = ""  # MSH-15, "" in original mode
    application: str = ""  # MSH-16, "" in original mode

    @property
    def enhanced(self) -> bool:
        return bool(self.accept or self.application)

    def sends_commit(self, success: bool) -> bool:
        """Whether a commit acknowledgement (CA on success, CE/CR otherwise) is sent."""
        return _sent(self.accept, success)

    def sends_application(self, success: bool) -> bool:
        """Whether the application acknowledgement (AA on success, AE otherwise) is sent."""
        return _sent(self.application, success)

    @property
    def wants_verdict(self) -> bool:
        """Whether an application acknowledgement may be sent at all, so the verdict is waited for."""
        return self.enhanced and self.application != "NE"


ORIGINAL = AckModes()


def _sent(condition: str, success: bool) -> bool:
    return condition == "AL" or (condition == "ER" and not success) or (condition == "SU" and success)


def ack_modes(header: MshHeader) -> AckModes:
    """The acknowledgement modes MSH-15 and MSH-16 ask for, or ``AckModeError`` naming the field."""
    accept, application = _condition(header, 15), _condition(header, 16)
    if not accept and not application:
        return ORIGINAL
    return AckModes(accept or "NE", application or "NE")


def _condition(header: MshHeader, field: int) -> str:
    raw = header.get(field)
    if raw in CONDITIONS:
        return raw
    if raw in ("", '""'):  # empty, or the HL7 null
        return ""
    shown = re.sub(r"[^A-Za-z0-9]", "?", raw)[:10]
    name = "accept" if field == 15 else "application"
    raise AckModeError(
        f"MSH-{field} {name} acknowledgement type {shown!r} is not AL, NE, ER or SU",
        TABLE_VALUE_NOT_FOUND,
        f"MSH-{field}",
    )
