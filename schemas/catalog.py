"""Every published schema version, keyed by fingerprint.

Files are ``schemas/avro/<name>.v<N>.avsc``. Nothing is ever deleted from that folder: old
messages in Kafka stay readable because their writer schema is still here. The newest version of a
name is the reader schema used by this code base.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from schemas.codec import (
    SchemaVersion,
    UnknownSchemaError,
    decode_body,
    encode,
    split_header,
)

AVRO_DIR = Path(__file__).parent / "avro"
_FILE_RE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.avsc$")

EXAMINATION_EVENT = "examination_event"
EXAMINATION_RECORD = "examination_record"
SUBMISSION_MANIFEST = "submission_manifest"
EXAMINATION_REJECT = "examination_reject"
CONSENT_CHANGE = "consent_change"
OPTOUT_CHANGE = "optout_change"  # the national data opt-out list (`dids optout`)
LINKAGE_PSEUDONYM = "linkage_pseudonym"  # the cancer-registry linkage pseudonym of a record (`dids linkage`)
EXAMINATION_CHUNK = "examination_chunk"  # many examination events in one message (`dids submit`)
EXAMINATION_FEEDBACK = "examination_feedback"  # the verdict on one HL7 event, for its application ACK


class Catalog:
    def __init__(self, versions: list[SchemaVersion]):
        self._by_fp: dict[bytes, SchemaVersion] = {}
        self._by_name: dict[str, list[SchemaVersion]] = {}
        for v in sorted(versions, key=lambda s: (s.name, s.version)):
            if v.fingerprint in self._by_fp:
                other = self._by_fp[v.fingerprint]
                raise ValueError(f"{v.name} v{v.version} has the same canonical form as {other.name} v{other.version}")
            self._by_fp[v.fingerprint] = v
            self._by_name.setdefault(v.name, []).append(v)

    @classmethod
    def from_directory(cls, directory: Path = AVRO_DIR) -> Catalog:
        versions = []
        for path in sorted(directory.glob("*.avsc")):
            m = _FILE_RE.match(path.name)
            if not m:
                raise ValueError(f"{path}: schema files must be named <name>.v<N>.avsc")
            raw = json.loads(path.read_text())
            versions.append(SchemaVersion.from_dict(m["name"], int(m["version"]), raw))
        return cls(versions)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def versions(self, name: str) -> list[SchemaVersion]:
        return list(self._by_name[name])

    def latest(self, name: str) -> SchemaVersion:
        return self._by_name[name][-1]

    def by_fingerprint(self, fp: bytes) -> SchemaVersion:
        try:
            return self._by_fp[fp]
        except KeyError:
            known = ", ".join(f"{v.name} v{v.version}={v.fingerprint.hex()}" for v in self._by_fp.values())
            raise UnknownSchemaError(
                f"unknown writer schema fingerprint {fp.hex()} (known: {known}); "
                "was the message written by a newer release whose schema is missing from schemas/avro/?"
            ) from None

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        return encode(self.latest(name), record)

    def writer_name(self, data: bytes) -> str:
        """The schema name a message was written with (its header's fingerprint), without decoding it."""
        fp, _ = split_header(data)
        return self.by_fingerprint(fp).name

    def decode(self, data: bytes, name: str | None = None) -> dict[str, Any]:
        """Decode with the writer schema named in the header, resolved to the latest version of
        ``name`` (or of the writer's own name)."""
        fp, body = split_header(data)
        writer = self.by_fingerprint(fp)
        reader = self.latest(name or writer.name)
        if reader.name != writer.name:
            raise UnknownSchemaError(f"message is a {writer.name}, expected a {reader.name}")
        return decode_body(body, writer, reader)


@cache
def default_catalog() -> Catalog:
    """The catalog of this release's schema files (read once; files do not change at run time)."""
    return Catalog.from_directory()
