"""Pseudonyms: the keyed HMAC-SHA256 of an NHS number that stands in for the person everywhere
(DESIGN decision 7, DIDS-SPEC §7.10). One key for the stream's ``person_id`` and for the hashed
withdrawn-consent and opt-out lists, so that their entries match; never logged, never shown by
``repr``. A bare hash would be useless: every 10-digit NHS number can be hashed in minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import stat
import zlib
from collections import Counter
from pathlib import Path

from dids.kernel.errors import DidsError
from dids.kernel.nhs_number import is_valid_nhs_number, normalise_nhs_number
from dids.kernel.settings import Settings

log = logging.getLogger(__name__)

# 256 bits: the HMAC-SHA256 block is 64 bytes, a shorter key is padded, so 32 is the useful minimum
MIN_KEY_BYTES = 32
MIN_KEY_ENTROPY_BITS = 128
_DEFLATE_OVERHEAD = 8  # zlib header, checksum and block framing, in bytes

# Public on purpose: anyone can recompute demo pseudonyms, which is why it is refused unless DIDS_DEMO=1.
DEMO_KEY = b"dids-stream-DEMO-ONLY-pseudonymisation-key-not-secret-never-use-with-real-data"

_MAKE_A_KEY = (
    'make one with: python -c "import secrets; print(secrets.token_hex(32))" > dids-pseudonymisation.key, '
    "keep it secret (chmod 600) and set DIDS_PSEUDONYMISATION_KEY_FILE=dids-pseudonymisation.key"
)

_PERSON_ID = re.compile(r"[0-9a-f]{64}")


class PrivacyConfigError(DidsError):
    """No usable pseudonymisation key; the message names the DIDS_* variables and how to make a key."""


def load_pseudonymisation_key(settings: Settings) -> bytes:
    """The HMAC key: the file named by DIDS_PSEUDONYMISATION_KEY_FILE, else DIDS_PSEUDONYMISATION_KEY,
    else (only with DIDS_DEMO=1) the public demo key, with a warning.

    The file's bytes are the key, less a trailing newline (so ``token_hex(32) > file`` gives a 64-byte key).
    Setting both sources is refused: two keys that may differ would silently split the pseudonyms of the
    stream and the consent list. Error messages never contain key material.
    """
    if settings.pseudonymisation_key_file and settings.pseudonymisation_key:
        raise PrivacyConfigError(
            "both DIDS_PSEUDONYMISATION_KEY_FILE and DIDS_PSEUDONYMISATION_KEY are set: set only one "
            "(the file is preferred, it keeps the key out of the environment)"
        )
    if settings.pseudonymisation_key_file:
        return _read_key_file(Path(settings.pseudonymisation_key_file))
    if settings.pseudonymisation_key:
        key = settings.pseudonymisation_key.encode()
        if len(key) < MIN_KEY_BYTES:
            raise PrivacyConfigError(
                f"DIDS_PSEUDONYMISATION_KEY is {len(key)} bytes, at least {MIN_KEY_BYTES} are needed; {_MAKE_A_KEY}"
            )
        _check_entropy(key, "DIDS_PSEUDONYMISATION_KEY")
        return key
    if settings.demo == 1:
        if settings.refdata_dir:
            raise PrivacyConfigError(
                f"DIDS_DEMO=1 with reference data of your own (DIDS_REFDATA_DIR={settings.refdata_dir}): the public "
                f"demo key is for the shipped samples and synthetic data only; {_MAKE_A_KEY}"
            )
        log.warning(
            "DEMO-ONLY pseudonymisation key in use (DIDS_DEMO=1): it is public, so the pseudonyms it makes "
            "protect nothing; never use it with real patient data. Set DIDS_PSEUDONYMISATION_KEY_FILE instead."
        )
        return DEMO_KEY
    raise PrivacyConfigError(
        "no pseudonymisation key: set DIDS_PSEUDONYMISATION_KEY_FILE (a file holding the secret key) or "
        f"DIDS_PSEUDONYMISATION_KEY; {_MAKE_A_KEY}. For a local demo with synthetic data only, DIDS_DEMO=1 "
        "uses a public demo key."
    )


def _read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        key = path.read_bytes()
    except OSError as exc:
        raise PrivacyConfigError(
            f"DIDS_PSEUDONYMISATION_KEY_FILE={path}: cannot read it ({exc.strerror or type(exc).__name__}); "
            f"{_MAKE_A_KEY}"
        ) from None
    key = key.rstrip(b"\r\n")
    if not key:
        raise PrivacyConfigError(f"DIDS_PSEUDONYMISATION_KEY_FILE={path} is empty; {_MAKE_A_KEY}")
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyConfigError(
            f"DIDS_PSEUDONYMISATION_KEY_FILE={path} holds {len(key)} bytes, at least {MIN_KEY_BYTES} are needed; "
            f"{_MAKE_A_KEY}"
        )
    if stat.S_IMODE(mode) & 0o077:
        raise PrivacyConfigError(
            f"DIDS_PSEUDONYMISATION_KEY_FILE={path} can be read by group or others (mode {stat.S_IMODE(mode):o}): "
            f"with the key every person_id reverses by brute force; `chmod 600 {path}`"
        )
    _check_entropy(key, f"DIDS_PSEUDONYMISATION_KEY_FILE={path}")
    return key


def _check_entropy(key: bytes, where: str) -> None:
    """Refuse a key that is long but guessable (one repeated character, a short phrase repeated): the
    smaller of its bytes' empirical entropy times its length and its deflated size (which sees the
    repetition) must reach 128 bits; a token_hex(32) key gives about 256."""
    counts = Counter(key)
    entropy = -sum(n * math.log2(n / len(key)) for n in counts.values())
    bits = min(entropy, 8 * max(0, len(zlib.compress(key, 9)) - _DEFLATE_OVERHEAD))
    if bits < MIN_KEY_ENTROPY_BITS:
        raise PrivacyConfigError(
            f"{where} is too predictable (about {bits:.0f} bits, {MIN_KEY_ENTROPY_BITS} needed); {_MAKE_A_KEY}"
        )


def is_person_id(value: object) -> bool:
    """True for something shaped like ``Pseudonymiser.person_id`` output (64 lowercase hex characters).

    Lets consumers of hashed lists refuse an entry that is plainly not a pseudonym (a clear NHS number).
    """
    return isinstance(value, str) and _PERSON_ID.fullmatch(value) is not None


class Pseudonymiser:
    """Keyed HMAC-SHA256 of NHS numbers. Build one per process from ``load_pseudonymisation_key``."""

    __slots__ = ("_mac", "_key_id")

    def __init__(self, key: bytes):
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            raise PrivacyConfigError(f"a pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
        # keyed once; each call copies the prepared state instead of re-deriving the padded key
        self._mac = hmac.new(bytes(key), digestmod=hashlib.sha256)
        # a short, non-reversible id so operators can check two services share a key without seeing it
        self._key_id = hmac.new(bytes(key), b"dids key id", hashlib.sha256).hexdigest()[:12]

    @property
    def key_id(self) -> str:
        return self._key_id

    def person_id(self, nhs_number: str | None) -> str | None:
        """HMAC-SHA256 (hex) of the cleansed NHS number when it is valid (§6), else None.

        §7.10: no valid NHS number, no person key; it is never derived from demographics. Spaces and
        hyphens are removed first, so ``943 476 5919`` and ``943-476-5919`` give the same id.
        """
        cleansed = normalise_nhs_number(nhs_number)
        if not is_valid_nhs_number(cleansed):
            return None
        mac = self._mac.copy()
        mac.update(cleansed.encode("ascii"))
        return mac.hexdigest()

    def __repr__(self) -> str:
        return f"Pseudonymiser(key_id={self._key_id!r})"

    def __reduce__(self):
        # pickling would write the key wherever the pickle goes (a Faust table, a log, a crash dump)
        raise TypeError("a Pseudonymiser holds a secret key and cannot be pickled")
