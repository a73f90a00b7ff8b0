"""streams/runtime/faust_fixes.py patches one faust-streaming version's rebalancing and recovery: any other version
is refused."""

from __future__ import annotations

import importlib.metadata

import faust
import pytest
from faust.types import TP

from streams.runtime import faust_fixes


def test_the_locked_faust_is_the_patched_one():
    assert importlib.metadata.version("faust-streaming") == faust_fixes.PATCHED_VERSION
    faust_fixes.apply()


def test_another_faust_version_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.16.0")
    with pytest.raises(faust_fixes.FaustVersionError, match="requirements.lock") as error:
        faust_fixes.apply()
    assert "0.16.0" in str(error.value) and faust_fixes.PATCHED_VERSION in str(error.value)


def test_a_drained_buffer_leaves_a_paused_partition_paused():
    """Faust re-activated a partition whose buffer drained even while it was paused for a rebalance's
    recovery, and the worker read it through the recovery (test_rebalance lost what it had cleared)."""
    faust_fixes.apply()
    app = faust.App("fixes-test", broker="kafka://127.0.0.1:9", autodiscover=False, web_enabled=False)
    consumer = app.consumer  # built, never started: no broker is contacted
    paused, running = TP("events", 0), TP("events", 1)
    consumer._set_active_tps({paused, running})
    for tp in (paused, running):
        consumer.on_buffer_full(tp)  # its stream's buffer filled: set aside
        assert tp not in consumer._get_active_partitions()
    consumer.pause_partitions({paused})  # a rebalance began
    for tp in (paused, running):
        consumer.on_buffer_drop(tp)  # and the buffers drained (Faust clears them at a rebalance)
    assert consumer._get_active_partitions() == {running}
    consumer.resume_partitions({paused})  # recovered and sought: read again
    assert consumer._get_active_partitions() == {paused, running}
