"""Helpers building HL7 messages field by field, so golden tests say which field holds what."""

from __future__ import annotations

from datetime import UTC, datetime

RECEIVED = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def segment(name: str, fields: dict[int, str]) -> str:
    """``name|f1|f2...`` with ``fields[n]`` in field n (MSH: n >= 3, MSH-1/2 are written for you)."""
    if name == "MSH":
        top = max(fields, default=2)
        return "MSH|^~\\&|" + "|".join(fields.get(n, "") for n in range(3, top + 1))
    top = max(fields, default=0)
    return "|".join([name, *(fields.get(n, "") for n in range(1, top + 1))])


def message(*segments: str) -> bytes:
    return ("\r".join(segments) + "\r").encode()


def msh(kind: str = "ORM^O01", control: str = "MSG0001", when: str = "20240615093000", **extra: str) -> str:
    """An MSH segment; ``m18="UNICODE UTF-8"`` and the like set any other MSH-n."""
    fields = {3: "CRIS", 4: "RR8", 5: "DIDS", 6: "NHS", 7: when, 9: kind, 10: control, 11: "P", 12: "2.4"}
    fields.update({int(k[1:]): v for k, v in extra.items()})
    return segment("MSH", fields)


PID = segment(
    "PID",
    {
        1: "1",
        3: "R123456^^^RR8^MR~9434765919^^^NHS^NH",
        5: "SMITH^JANE",
        7: "19800131",
        8: "F",
        11: "1 Work St^^Leeds^^LS2 9JT^^B~1 Home Lane^^Leeds^^LS1 3EX^^H",
        22: "C^Any other White background^NHS",
        32: "01",
    },
)
PD1 = segment("PD1", {3: "Park Surgery^^B86016"})
PV1 = segment("PV1", {1: "1", 2: "O", 3: "XRAY^^^RR8", 8: "G7654321^REF", 39: "RR813"})
