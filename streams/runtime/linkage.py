"""The cancer-registry linkage pseudonym (``dids linkage``), computed beside each published record when a
linkage key is configured (DIDS_LINKAGE_KEY_FILE), and sent to the compacted ``dids.linkage`` topic.

The registry must link DIDS records to its own patients without the warehouse ever holding NHS numbers:
it holds the same key and hashes its patients' NHS numbers the same way (HMAC-SHA256, hex, of the
10-digit number). The key is not the pseudonymisation key and must differ from it: with the registry
holding the pseudonymisation key every ``person_id`` would reverse. A restricted (fertility-related)
code, a version that is not active and a record without a valid NHS number get no linkage pseudonym.
The agent calls ``publish`` once per published record; nothing else of the worker changes.
"""

from __future__ import annotations

import logging
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dids.kernel.errors import ConfigError
from dids.kernel.pseudonyms import (
    MIN_KEY_BYTES,
    PrivacyConfigError,
    Pseudonymiser,
    _check_entropy,
    load_pseudonymisation_key,
)
from dids.kernel.settings import Settings
from dids.kernel.topics import LINKAGE
from schemas.catalog import LINKAGE_PSEUDONYM, default_catalog
from streams.privacy import SURROGATE

log = logging.getLogger(__name__)

MAKE_A_LINKAGE_KEY = (
    'make one with: python -c "import secrets; print(secrets.token_hex(32))" > dids-linkage.key, chmod 600 it, '
    "set DIDS_LINKAGE_KEY_FILE=dids-linkage.key for `dids streams`, and give the key to the registry by a secure "
    "channel (it hashes its patients' NHS numbers with it)"
)


def load_linkage_key(settings: Settings) -> bytes | None:
    """The key in DIDS_LINKAGE_KEY_FILE (less a trailing newline), or None when none is configured."""
    if not settings.linkage_key_file:
        return None
    path = Path(settings.linkage_key_file)
    where = f"DIDS_LINKAGE_KEY_FILE={path}"
    try:
        mode = path.stat().st_mode
        key = path.read_bytes().rstrip(b"\r\n")
    except OSError as exc:
        raise ConfigError(
            f"{where}: cannot read it ({exc.strerror or type(exc).__name__}); {MAKE_A_LINKAGE_KEY}"
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{where} holds {len(key)} bytes, at least {MIN_KEY_BYTES} are needed; {MAKE_A_LINKAGE_KEY}")
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(f"{where} can be read by group or others (mode {stat.S_IMODE(mode):o}): `chmod 600 {path}`")
    try:
        _check_entropy(key, where)
    except PrivacyConfigError as exc:  # its advice is about the pseudonymisation key: give this key's
        raise ConfigError(f"{str(exc).split(';')[0]}; {MAKE_A_LINKAGE_KEY}") from None
    if key == load_pseudonymisation_key(settings):
        raise ConfigError(
            f"{where} is the pseudonymisation key: the registry holding it could reverse every person_id; "
            f"use a key of its own ({MAKE_A_LINKAGE_KEY})"
        )
    return key


def linkage_record(routed, keyer: Pseudonymiser, now: datetime) -> dict[str, Any] | None:
    """The linkage_pseudonym of a routed event that publishes a record (None when it publishes none)."""
    verdict = routed.verdict
    if routed.examination is None or verdict is None or verdict.record is None:
        return None
    record, state = verdict.record, routed.state or {}
    linkage_id = None
    if record["status"] == "active" and not verdict.restricted and not state.get(SURROGATE):
        linkage_id = keyer.person_id((state.get("items") or {}).get("nhs_number"))
    return {
        "record_key": record["record_key"],
        "version": record["version"],
        "linkage_id": linkage_id,
        "processed_time": now,
    }


class LinkageFeed:
    """Sends each published record's linkage pseudonym through the worker's outputs."""

    def __init__(self, settings: Settings, key: bytes):
        self._keyer = Pseudonymiser(key)
        self._topic = settings.topic(LINKAGE)
        self._catalog = default_catalog()
        log.info("linkage pseudonyms on: %s (linkage key id %s)", self._topic, self._keyer.key_id)

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkageFeed | None:
        key = load_linkage_key(settings)
        return None if key is None else cls(settings, key)

    def publish(self, outputs, routed) -> None:
        record = linkage_record(routed, self._keyer, datetime.now(timezone.utc))
        if record is not None:
            key = record["record_key"].encode()
            outputs.send(self._topic, key, self._catalog.encode(LINKAGE_PSEUDONYM, record))
