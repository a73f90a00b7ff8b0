"""Can each schema version read data written with every older one? (`dids schemas check`)

Checked by doing it: records written with each older version, one with every optional field empty
and one with every field filled, are decoded with each newer version as the reader schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from schemas.catalog import Catalog
from schemas.codec import CodecError, SchemaVersion, decode_body, encode, split_header


@dataclass(frozen=True)
class Problem:
    name: str
    writer: int
    reader: int
    message: str

    def __str__(self) -> str:
        return f"{self.name}: v{self.reader} cannot read v{self.writer} data: {self.message}"


def sample(schema: dict[str, Any], *, filled: bool = True) -> dict[str, Any]:
    """A record for ``schema``: every field set (``filled``) or only the required ones."""
    out: dict[str, Any] = {}
    for f in schema["fields"]:
        t = f["type"]
        if isinstance(t, list):
            if not filled and "null" in t:
                out[f["name"]] = None
                continue
            t = next(x for x in t if x != "null")
        out[f["name"]] = _value(f["name"], t, filled)
    return out


def _value(name: str, t: Any, filled: bool) -> Any:
    if isinstance(t, dict):
        if t.get("logicalType") == "timestamp-millis":
            return datetime(2026, 5, 1, 12, 30, tzinfo=timezone.utc)
        if t.get("type") == "array":
            items = t["items"]
            if not filled:
                return []
            return [sample(items)] if isinstance(items, dict) else [f"v-{name}"]
        if t.get("type") == "record":
            return sample(t, filled=filled)
        t = t.get("type")
    if t == "boolean":
        return filled
    if t in ("int", "long"):
        return 7
    return f"v-{name}"


def check_catalog(catalog: Catalog) -> list[Problem]:
    problems = []
    for name in catalog.names():
        versions = catalog.versions(name)
        for i, writer in enumerate(versions):
            for reader in versions[i:]:
                for filled in (False, True):
                    message = _try(writer, reader, sample(writer.raw, filled=filled))
                    if message:
                        problems.append(Problem(name, writer.version, reader.version, message))
    return problems


def _try(writer: SchemaVersion, reader: SchemaVersion, record: dict[str, Any]) -> str | None:
    try:
        _, body = split_header(encode(writer, record))
        decode_body(body, writer, reader)
    except CodecError as exc:
        return str(exc)
    except Exception as exc:  # schema resolution errors come in several types
        return f"{type(exc).__name__}: {exc}"
    return None
