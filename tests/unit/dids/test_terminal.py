"""dids.terminal: data never reaches a terminal as markup or control sequences, or a spreadsheet as a formula."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from dids.kernel.terminal import plain, spreadsheet_safe, visible


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("A1", "A1"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\nb", "a\\nb"),
        ("\x07", "\\x07"),
        ("\x9b", "\\x9b"),
        ("tab\tok", "tab\tok"),
    ],
)
def test_control_characters_are_spelled_out(value, shown):
    assert visible(value) == shown


def test_markup_is_printed_as_it_is():
    out = io.StringIO()
    Console(file=out, width=200, no_color=True).print(plain("[/] [bold]x[/bold]"))
    assert out.getvalue().strip() == "[/] [bold]x[/bold]"


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+A", "'+A"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("A=1", "A=1"),
        (-2, -2),
        (None, None),
    ],
)
def test_spreadsheet_formulas_are_neutralised(cell, safe):
    assert spreadsheet_safe(cell) == safe
