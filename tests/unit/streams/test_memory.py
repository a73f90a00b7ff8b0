"""The worker's mmap threshold (streams.runtime.memory), in a fresh interpreter each: where glibc puts a
block depends on everything the process allocated and freed before."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHUNKS = """
    import ctypes, json
    from streams.runtime.memory import fix_mmap_threshold

    def heap_kb():  # the brk heap, where glibc puts the blocks below its mmap threshold
        for line in open("/proc/self/maps"):
            if line.rstrip().endswith("[heap]"):
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                return (end - start) // 1024
        return 0

    fixed = fix_mmap_threshold() if {fix} else None
    big = ctypes.create_string_buffer(4 << 20); del big  # glibc alone raises its threshold to 4 MB here
    before = heap_kb()
    held = [ctypes.create_string_buffer(240 * 1024) for _ in range(200)]  # 200 chunk messages, ~48 MB
    print(json.dumps({{"fixed": fixed, "grew_kb": heap_kb() - before}}))
"""


def _heap_growth(fix: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHUNKS.format(fix=fix))], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_chunk_sized_blocks_stay_out_of_the_heap_with_the_threshold_fixed():
    out = _heap_growth(fix=True)
    assert out["fixed"] is True  # the suite runs on glibc (Debian)
    assert out["grew_kb"] < 4 << 10, out


def test_without_it_glibc_puts_them_in_the_heap():
    """The control: shows that the test above measures what it claims."""
    assert _heap_growth(fix=False)["grew_kb"] > 40 << 10
