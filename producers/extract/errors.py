"""The one error the extract readers raise on purpose: the whole file is rejected (DIDS-RULES §2.19)."""

from __future__ import annotations

from dids.kernel.errors import DidsError


class FileRejectError(DidsError):
    """A file-level reject: DIDS075 (CSV cannot be parsed strictly / a row without 18 columns) or DIDS076 (XML).

    ``line`` is the physical line number (from 1) where the problem was found; ``message`` says what was
    wrong in words and names items or columns, never a submitted value (it may be a patient identifier).
    """

    def __init__(self, code: str, line: int, message: str) -> None:
        super().__init__(f"{code} line {line}: {message}")
        self.code = code
        self.line = line
        self.message = message

    def as_json(self) -> dict[str, object]:
        """The one object ``dids validate --json`` prints for a rejected file."""
        return {"file_reject": self.code, "line": self.line, "message": self.message}
