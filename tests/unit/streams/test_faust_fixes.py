"""streams/runtime/faust_fixes.py patches one faust-streaming version's recovery: any other version is refused."""

from __future__ import annotations

import importlib.metadata

import pytest

from streams.runtime import faust_fixes


def test_the_locked_faust_is_the_patched_one():
    assert importlib.metadata.version("faust-streaming") == faust_fixes.PATCHED_VERSION
    faust_fixes.apply()


def test_another_faust_version_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.16.0")
    with pytest.raises(faust_fixes.FaustVersionError, match="requirements.lock") as error:
        faust_fixes.apply()
    assert "0.16.0" in str(error.value) and faust_fixes.PATCHED_VERSION in str(error.value)
