"""Data shown on a terminal: never read as markup, never able to move the cursor or retitle the window.

Values from files and tables (an accession of ``[/]``, a site code holding an escape sequence) reach
``rich`` as plain ``Text`` with every control character spelled out (``\\x1b``), and CSV cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls but tab, DEL, and C1 controls (a lone 0x9b starts an escape sequence on some terminals)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def visible(value: object) -> str:
    """``value`` as text with each control character written as its escape (``\\x1b``, ``\\n``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(value))


def plain(value: object) -> Text:
    """``value`` for a rich table or print: no markup, no control characters."""
    return Text(visible(value))


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet will show rather than run: text starting like a formula gets a leading
    apostrophe (the OWASP advice); numbers and everything else are unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
