"""Duplicate record keys in a whole extract (for DIDS071), streamed in two passes over the file.

1. **Keys.** Every record's DIDS071 key (site code, accession number, trimmed, both present) marks a
   slot of a bitmap by its ``hash()``; slots marked twice are noted in a second bitmap. Any file-level
   reject (DIDS075/076) surfaces here, before a single record is reported.
2. **Exact duplicates** (only when some slot was marked twice): the exact keys in those slots are
   counted, so a hash collision never makes a false DIDS071.

Memory is two bitmaps of a few MB plus the keys of pass 2, instead of one record per row. ``dids
submit`` flags each event whose key is a duplicate; ``dids validate`` does the same before its checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

from producers.extract.reader import Extract

PhaseProgress = Callable[[str, int, int], None]  # (phase, bytes read, total bytes)

PHASE_KEYS = "checking structure and keys"
PHASE_DUPLICATES = "confirming duplicates"
_MIN_SLOTS, _MAX_SLOTS = 1 << 16, 1 << 31  # 8 KB .. 256 MB per bitmap


def uniqueness_key(raw: Mapping[str, str | None]) -> tuple[str, str] | None:
    """The DIDS071 key exactly as ``accession.find_duplicates`` forms it after cleansing; None if a part is blank."""
    site, accession = raw.get("site_code_imaging"), raw.get("radiological_accession_num")
    site, accession = (site or "").strip(), (accession or "").strip()
    if not site or not accession:
        return None
    return site, accession


def duplicate_keys(
    extract: Extract, on_progress: PhaseProgress | None = None, *, slots: int | None = None
) -> frozenset[tuple[str, str]]:
    """Passes 1 and 2: the keys occurring more than once in the file. Raises ``FileRejectError``.

    Pass 1 marks each key's ``hash()`` slot in a bitmap of ``slots`` bits (a power of two; by default
    about 16 per record the file size allows, so a few MB even for millions of rows) and a second
    bitmap for slots hit twice. Pass 2, only when some slot was hit twice, counts the exact keys that
    fall in those slots: true duplicates plus a few percent of bystanders, never a false positive.
    """
    slots = slots or _slots_for(extract.size)
    mask = slots - 1
    seen, repeated = bytearray((slots + 7) // 8), bytearray((slots + 7) // 8)
    found = False
    for _, raw in extract.records(phase_progress(on_progress, PHASE_KEYS)):
        key = uniqueness_key(raw)
        if key is None:
            continue
        slot = hash(key) & mask
        byte, bit = slot >> 3, 1 << (slot & 7)
        if seen[byte] & bit:
            repeated[byte] |= bit
            found = True
        else:
            seen[byte] |= bit
    del seen
    if not found:
        return frozenset()
    counts: Counter[tuple[str, str]] = Counter()
    for _, raw in extract.records(phase_progress(on_progress, PHASE_DUPLICATES)):
        key = uniqueness_key(raw)
        if key is not None:
            slot = hash(key) & mask
            if repeated[slot >> 3] & (1 << (slot & 7)):
                counts[key] += 1
    return frozenset(key for key, count in counts.items() if count > 1)


def _slots_for(size: int) -> int:
    """A power of two near 16 bits per record, taking 100 bytes a record (CSV rows are longer)."""
    wanted = 16 * (size // 100 + 1)
    return min(max(1 << (wanted - 1).bit_length(), _MIN_SLOTS), _MAX_SLOTS)


def phase_progress(on_progress: PhaseProgress | None, phase: str) -> Callable[[int, int], None] | None:
    if on_progress is None:
        return None
    return lambda done, total: on_progress(phase, done, total)
