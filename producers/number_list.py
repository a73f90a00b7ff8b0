"""Reading a list of NHS numbers handed over as a file: one number a line, the form a trust or the national
opt-out service sends. Blank lines and lines starting with ``#`` are skipped; spaces and hyphens inside a
number are allowed (``943 476 5919``). Each number comes back with where it was (``FILE line N``), so a bad
one is named by its line, never by its value."""

from __future__ import annotations

from pathlib import Path

from dids.kernel.errors import DidsError

MAX_LINE_BYTES = 100  # a number with separators is 12 characters; anything this long is not one


class NumberListError(DidsError):
    """The file cannot be read as a list of NHS numbers."""


def read_number_list(path: Path) -> list[tuple[str, str]]:
    """``(where, number)`` for each non-blank, non-comment line. A line that is not short text is reported
    as not a number (by its line) along with the invalid numbers later, not here: only an unreadable file
    raises here."""
    out: list[tuple[str, str]] = []
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise NumberListError(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        if not path.is_file():
            raise NumberListError(f"{path} is not a regular file: give a file of NHS numbers, one a line")
        n = 0
        while True:
            line = stream.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            n += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of it, a bounded piece at a time
                    line = stream.readline(1 << 16)
                out.append((f"{path} line {n}", ""))  # too long to be a number: reported as invalid
                continue
            if n == 1 and line.startswith(b"\xef\xbb\xbf"):  # a spreadsheet's UTF-8 byte-order mark
                line = line[3:]
            try:
                text = line.decode("ascii").strip()
            except UnicodeDecodeError:
                out.append((f"{path} line {n}", ""))  # not plain text: reported as invalid
                continue
            if text and not text.startswith("#"):
                out.append((f"{path} line {n}", text))
    return out
