"""HL7 v2 over MLLP: the real-time RIS adapter (``dids hl7``).

* ``mllp``: framing over asyncio streams (size limit, junk skipping, truncation, idle timeout).
* ``decode``: frame bytes -> ``hl7.Message`` (character-set and structure checks; AR on failure).
* ``mapping``: ORM^O01 / OMI^O23 / ORU^R01 -> examination events, pure (AE on failure); the table is
  in ``MAPPING.md``.
* ``ack``: AA / AE / AR acknowledgements with MSA-3 and ERR.
* ``listener``: the asyncio server, Kafka delivery before AA, dead letters, metrics, shutdown.
* ``writer``: events -> HL7 v2.4 messages (simulator feed, round-trip tests).
"""

from producers.hl7.decode import Decoded, MshHeader, decode_message
from producers.hl7.errors import DecodeError, DeliveryError, Hl7Error, MappingError
from producers.hl7.mapping import map_message
from producers.hl7.writer import encode_message, write_message

__all__ = [
    "DecodeError",
    "Decoded",
    "DeliveryError",
    "Hl7Error",
    "MappingError",
    "MshHeader",
    "decode_message",
    "encode_message",
    "map_message",
    "write_message",
]
