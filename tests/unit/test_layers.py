"""The floors of the code: producers/, streams/ and sinks/ never import one another; the shared kernel
(dids/kernel) and schemas/ import none of them (nor the CLI); only the CLI on top composes them.
Checked over every import statement of every non-test module, so a new one that climbs a floor fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("producers", "streams", "sinks")


def _imports(path: Path) -> set[str]:
    """The top two levels of every module ``path`` imports (``dids.kernel``, ``streams``, ...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            found.add(".".join(parts[:2]) if parts[0] == "dids" else parts[0])
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_other_stage_and_not_the_cli(stage):
    forbidden = {*STAGES, "dids.cli", "deploy"} - {stage}
    climbing = {str(p.relative_to(ROOT)): sorted(_imports(p) & forbidden) for p in _modules(stage)}
    assert {k: v for k, v in climbing.items() if v} == {}


@pytest.mark.parametrize("floor", ["dids/kernel", "schemas"])
def test_the_ground_floor_imports_no_stage(floor):
    forbidden = {*STAGES, "dids.cli", "deploy"}
    climbing = {str(p.relative_to(ROOT)): sorted(_imports(p) & forbidden) for p in _modules(floor)}
    assert {k: v for k, v in climbing.items() if v} == {}


def test_the_check_catches_an_import_that_climbs(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom streams.rules import check\nfrom dids.kernel import topics\nimport sinks.sink\n")
    assert _imports(module) == {"os", "streams", "dids.kernel", "sinks"}
