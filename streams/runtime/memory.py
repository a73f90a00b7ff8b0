"""Large blocks out of glibc's heap, so that the worker's resident memory follows what it holds.

glibc raises its mmap threshold to the size of the largest block freed (up to 32 MB). The worker frees
chunk messages of ~240 KB and RocksDB's 1 MB memtable blocks, so after the first of them every later one
went into the heap, where the small blocks allocated between them kept its pages resident. Fixing the
threshold at glibc's own default, 128 KB, maps and unmaps such blocks whole. Measured with `dids bench
--records 500000`: the worker's peak RSS 543 -> 446 MB (README "Performance" for the million run).

Without glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


def fix_mmap_threshold() -> bool:
    """Map every block of ``MMAP_THRESHOLD`` or more on its own; False where the C library cannot."""
    libc = _glibc()
    if libc is None:
        return False
    if not libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        log.warning("mallopt(M_MMAP_THRESHOLD) refused: large blocks may stay in the heap")
        return False
    return True
