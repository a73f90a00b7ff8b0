"""Privacy building blocks the stream processor calls (DESIGN decision 7, DIDS-SPEC §7.8-§7.10, §11).

* The pseudonymisation key: from a secret file or the environment, a fixed well-known key only in demo
  mode; never logged, never shown by ``repr``.
* ``Pseudonymiser.person_id``: keyed HMAC-SHA256 of the validated NHS number, the person key that stands in
  for the MPS ``Person_ID``. A bare hash would be useless: every 10-digit NHS number can be hashed in
  minutes. The same key hashes the withdrawn-consent and opt-out lists, so their entries match.
* Restricted (fertility-related) codes: one constant placeholder person id (§7.8).
* ``strip_identifiers``: the national columns that never leave the stream processors.

Everything here is pure except ``load_pseudonymisation_key``, which reads one file and may log one warning.
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
from typing import Any

from dids.errors import DidsError
from dids.settings import Settings
from streams.rules.formats import is_valid_nhs_number

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

# §7.8: the national observed form is "U" + zero-padded digits; one constant for every restricted record
RESTRICTED_PERSON_ID = "U0000001"

# National derived columns (§7.11) that are dropped before a record leaves the stream processors (§11):
# * NHS_NUMBER: direct identifier; only its keyed pseudonym (Person_ID) travels on.
# * DATE_OF_BIRTH: identifying; replaced by age at test and the age bands.
# * POSTCODE: identifying (a postcode holds ~15 households); replaced by LOCATION_LSOA / LOCATION_MSOA.
# Deliberately kept, with the handling §11 gives them downstream:
# * RADIOLOGICAL_ACCESSION_NUMBER: indirect (links back to the RIS) but it is half of the record key, so
#   the stream and the warehouse need it; published views must leave it out.
# * the exact request / received / test / report dates: quasi-identifiers needed for the intervals and
#   the reporting month; published views show months.
# * GP_CODE, ETHNIC_CATEGORY_*, GENDER_*: quasi-identifiers, fine in aggregates with small-number suppression.
# * Person_ID, MPSConfidence: pseudonymous, for internal linkage only.
IDENTIFYING_COLUMNS: frozenset[str] = frozenset({"NHS_NUMBER", "DATE_OF_BIRTH", "POSTCODE"})

# §4 step 3: every whitespace character and hyphen, anywhere in the value
_NHS_NUMBER_SEPARATORS = re.compile(r"[\s\-]+")
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


def normalise_nhs_number(value: str | None) -> str | None:
    """The cleansed form (§4): every whitespace character and hyphen removed; None when nothing is left."""
    if value is None:
        return None
    return _NHS_NUMBER_SEPARATORS.sub("", value) or None


# a valid number from the 999 range, which is never issued to a patient (NHS test numbers)
SURROGATE_NHS_NUMBER = "9990000018"
SURROGATE = "nhs_number_surrogate"  # the lifecycle state's flag: its NHS number item is the surrogate


def surrogate_nhs_number(value: str | None) -> str | None:
    """What a restricted record's lifecycle state keeps in place of its NHS number: a value that names
    nobody and that the national rules judge as they judged the real one (DIDS001/002/073/074 look
    only at blank, length and validity): blank stays blank, a valid number becomes
    ``SURROGATE_NHS_NUMBER``, an invalid one that many ``X``."""
    cleansed = normalise_nhs_number(value)
    if cleansed is None:
        return None
    return SURROGATE_NHS_NUMBER if is_valid_nhs_number(cleansed) else "X" * len(cleansed)


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


# a restricted (fertility-related) record's published copy: its dates carry only their month, and it
# loses the place and the practice as well as the person (§7.8, §11). The accession number stays: it is
# half of the warehouse's key (a record recoded into or out of the list must replace its own row), and
# no analyst view shows it.
RESTRICTED_DATE_COLUMNS = (
    "diagnostic_test_request_date",
    "diagnostic_test_request_received_date",
    "diagnostic_test_date",
    "service_report_issue_date",
)
RESTRICTED_BLANK_COLUMNS = ("location_lsoa", "location_msoa", "gp_code", "gp_description")


def coarsen_restricted(record: dict[str, Any]) -> dict[str, Any]:
    """The published record of a restricted code: each date as the first day of its month, and no LSOA,
    MSOA or GP practice."""
    out = dict(record)
    for column in RESTRICTED_DATE_COLUMNS:
        value = out.get(column)
        if isinstance(value, str) and len(value) >= 7:
            out[column] = value[:7] + "-01"
    for column in RESTRICTED_BLANK_COLUMNS:
        if column in out:
            out[column] = None
    return out


def apply_restriction(person_id: str | None, restricted: bool) -> str | None:
    """§7.8: a record with a restricted procedure code loses its person link; every such record gets the
    one constant placeholder, whether or not it had a valid NHS number."""
    return RESTRICTED_PERSON_ID if restricted else person_id


def strip_identifiers(derived: dict[str, Any]) -> dict[str, Any]:
    """A copy of a national derived record without ``IDENTIFYING_COLUMNS``, other columns in their order."""
    return {name: value for name, value in derived.items() if name not in IDENTIFYING_COLUMNS}
