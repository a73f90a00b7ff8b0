"""A data-sharing agreement as a YAML file: read safely, checked whole before anything is queried.

Read with PyYAML's safe loader (plain data only: a ``!!python/object`` tag is an error, never code) that
also refuses a key given twice (a second ``providers:`` would silently widen or narrow a release).
Unknown keys are refused too: a misspelt filter must not release more than was agreed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from dids.kernel.errors import DidsError
from sinks.dissemination.columns import refusal

MAX_FILE_BYTES = 64 * 1024
MAX_MONTHS = 120  # ten years in one release
MAX_FILTER_VALUES = 500
MAX_TEXT = 1000
APPLY, EXEMPT = "apply", "exempt"

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits: \d also matches those of other scripts
_COLUMN = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PROVIDER = re.compile(r"[A-Z0-9]{3,6}")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/-]{0,99}")
_FIELDS = (
    "recipient",
    "reference",
    "purpose",
    "legal_basis",
    "expires",
    "columns",
    "months",
    "providers",
    "modalities",
    "national_data_opt_out",
)


class AgreementError(DidsError):
    """The agreement file is unreadable, incomplete, expired or asks for what may not be released."""


@dataclass(frozen=True)
class Agreement:
    recipient: str
    reference: str
    purpose: str
    legal_basis: str
    expires: date
    columns: tuple[str, ...]
    months: tuple[str, ...]
    providers: tuple[str, ...]  # empty: every provider
    modalities: tuple[str, ...]  # empty: every modality
    national_data_opt_out: str  # apply | exempt
    file: str
    sha256: str

    @property
    def applies_opt_out(self) -> bool:
        return self.national_data_opt_out == APPLY

    def describe(self) -> dict[str, Any]:
        """The agreement as the manifest and the audit table record it."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "recipient": self.recipient,
            "reference": self.reference,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "expires": self.expires.isoformat(),
            "national_data_opt_out": self.national_data_opt_out,
            "columns": list(self.columns),
            "months": list(self.months),
            "providers": list(self.providers),
            "modalities": list(self.modalities),
        }


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, str) and key in seen:
            raise AgreementError(f"line {key_node.start_mark.line + 1}: {key!r} is given twice: keep one")
        seen.add(key if isinstance(key, str) else repr(key))
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_agreement(path: Path, today: date, *, linkage: bool = False) -> Agreement:
    """Read and check the agreement in ``path``; ``today`` decides whether it has expired (the last day
    of an agreement is its ``expires`` date). A ``linkage`` agreement (the registry feed) names no columns
    or months: the feed's columns are fixed and each run names its month or day."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise AgreementError(f"cannot read the agreement {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise AgreementError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KiB: it is not an agreement file")
    try:
        data = yaml.load(raw.decode("utf-8-sig"), Loader=_StrictLoader)  # a SafeLoader: plain data only
    except UnicodeDecodeError:
        raise AgreementError(f"{path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise AgreementError(f"{path}{at}: {problem} (an agreement is plain YAML: keys, text, dates, lists)") from None
    return check_agreement(data, today, file=str(path), sha256=hashlib.sha256(raw).hexdigest(), linkage=linkage)


def check_agreement(data: Any, today: date, *, file: str = "", sha256: str = "", linkage: bool = False) -> Agreement:
    if not isinstance(data, dict):
        raise AgreementError("an agreement is a YAML mapping (recipient: ..., reference: ..., ...)")
    unknown = sorted(str(k) for k in data if k not in _FIELDS)
    if unknown:
        raise AgreementError(f"unknown key(s) {', '.join(unknown)[:200]}: an agreement has {', '.join(_FIELDS)}")
    if linkage and ("columns" in data or "months" in data):
        raise AgreementError(
            "a linkage agreement names no columns or months: the feed's columns are fixed and each run "
            "gives --month or --since"
        )
    required = ("recipient", "reference", "purpose", "expires") + (() if linkage else ("columns", "months"))
    missing = [f for f in required if f not in data]
    if missing:
        raise AgreementError(f"the agreement lacks {', '.join(missing)}")
    opt_out = data.get("national_data_opt_out", APPLY)
    if opt_out not in (APPLY, EXEMPT):
        raise AgreementError("national_data_opt_out is `apply` (the default) or `exempt`")
    legal_basis = _text(data, "legal_basis", required=False)
    if not legal_basis:
        if opt_out == EXEMPT:
            raise AgreementError(
                "national_data_opt_out: exempt needs a legal_basis stating why the national data opt-out does "
                "not apply (e.g. 'Regulation 5 COPI, section 251 support, CAG ref 17/CAG/0001')"
            )
        raise AgreementError("the agreement lacks legal_basis (the legal basis for the release)")
    reference = _text(data, "reference")
    if not _REFERENCE.fullmatch(reference):
        raise AgreementError("reference: letters, digits, spaces and . _ / - only, at most 100 characters")
    expires = data["expires"]
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            expires = None
    if not isinstance(expires, date) or hasattr(expires, "hour"):
        raise AgreementError("expires: a date, CCYY-MM-DD")
    if expires < today:
        raise AgreementError(f"agreement {reference} expired on {expires.isoformat()}: it cannot release data")
    return Agreement(
        recipient=_text(data, "recipient"),
        reference=reference,
        purpose=_text(data, "purpose"),
        legal_basis=legal_basis,
        expires=expires,
        columns=() if linkage else _columns(data["columns"]),
        months=() if linkage else parse_months(data["months"]),
        providers=_values(data, "providers", _PROVIDER, "an ODS code (3 to 6 capital letters or digits)"),
        modalities=_values(data, "modalities", None, "a modality name"),
        national_data_opt_out=opt_out,
        file=file,
        sha256=sha256,
    )


def _text(data: dict, key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if not required and (value is None or (isinstance(value, str) and not value.strip())):
        return ""
    if not isinstance(value, str) or not value.strip():
        raise AgreementError(f"{key}: give it as text")
    if len(value) > MAX_TEXT or any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise AgreementError(f"{key}: at most {MAX_TEXT} characters of plain text")
    return value.strip()


def _columns(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise AgreementError("columns: a list of column names (`dids extract --list-columns`)")
    out: list[str] = []
    for i, name in enumerate(value, start=1):
        if not isinstance(name, str) or not _COLUMN.fullmatch(name):
            raise AgreementError(f"columns: entry {i} is not a column name (lower-case letters, digits and _)")
        reason = refusal(name)
        if reason:
            raise AgreementError(f"columns: {reason}")
        if name in out:
            raise AgreementError(f"columns: {name} is listed twice")
        out.append(name)
    return tuple(out)


def parse_months(value: Any) -> tuple[str, ...]:
    """``[2026-09, 2026-10]``, ``2026-01..2026-12`` or ``{from: 2026-01, to: 2026-12}`` as a sorted tuple of
    distinct months; at most MAX_MONTHS, each a real month of 1990-2099."""
    if isinstance(value, dict):
        if set(value) != {"from", "to"}:
            raise AgreementError("months: a list (- 2026-10), a range (2026-01..2026-12) or {from: .., to: ..}")
        return _month_range(value["from"], value["to"])
    if isinstance(value, str) and ".." in value:
        first, _, last = value.partition("..")
        return _month_range(first.strip(), last.strip())
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_MONTHS:
        raise AgreementError(f"months: from 1 to {MAX_MONTHS} months")
    return tuple(sorted({_month(m) for m in items}))


def _month_range(first: Any, last: Any) -> tuple[str, ...]:
    start, end = _month(first), _month(last)
    if start > end:
        raise AgreementError(f"months: the range {start}..{end} runs backwards")
    (y0, m0), (y1, m1) = (map(int, start.split("-")), map(int, end.split("-")))
    count = (y1 - y0) * 12 + (m1 - m0) + 1
    if count > MAX_MONTHS:
        raise AgreementError(f"months: {start}..{end} is {count} months; at most {MAX_MONTHS} in one extract")
    return tuple(f"{(y0 * 12 + m0 - 1 + i) // 12}-{(m0 - 1 + i) % 12 + 1:02d}" for i in range(count))


def _month(value: Any) -> str:
    match = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if not match or not (1990 <= int(match[1]) <= 2099 and 1 <= int(match[2]) <= 12):
        shown = repr(value)[:40] if isinstance(value, str | int | date) else type(value).__name__
        raise AgreementError(f"months: {shown} is not a month CCYY-MM (1990-01 to 2099-12)")
    return value


def _values(data: dict, key: str, pattern: re.Pattern | None, what: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not value or len(value) > MAX_FILTER_VALUES:
        raise AgreementError(f"{key}: a list of 1 to {MAX_FILTER_VALUES} values, or leave it out for all")
    for i, item in enumerate(value, start=1):
        ok = isinstance(item, str) and 0 < len(item) <= 100 and item.isprintable()
        if not ok or (pattern is not None and not pattern.fullmatch(item)):
            raise AgreementError(f"{key}: entry {i} is not {what}")
    return tuple(sorted(set(value)))
