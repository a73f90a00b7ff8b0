"""The audit of record-level releases (``dissemination_audit``, migration 0011): one row a run of
``dids extract`` or ``dids linkage``, inserted before the file is put in place."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import date, datetime

AUDIT_TABLE = "dissemination_audit"


@dataclass(frozen=True)
class AuditRow:
    run_id: str
    kind: str  # extract | linkage
    run_time: datetime
    recipient: str
    reference: str
    purpose: str
    legal_basis: str
    expires: date
    national_data_opt_out: str
    rows: int
    opted_out_left_out: int
    file_name: str
    file_sha256: str
    agreement_sha256: str
    columns: tuple[str, ...] = ()
    months: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    since: date | None = None
    run_by: str = field(default_factory=lambda: _user())

    @classmethod
    def under(cls, agreement, **run) -> AuditRow:
        """The audit row of a run under ``agreement``: its terms copied from it, the rest (``run``) given."""
        return cls(
            recipient=agreement.recipient,
            reference=agreement.reference,
            purpose=agreement.purpose,
            legal_basis=agreement.legal_basis,
            expires=agreement.expires,
            national_data_opt_out=agreement.national_data_opt_out,
            providers=agreement.providers,
            modalities=agreement.modalities,
            agreement_sha256=agreement.sha256,
            **run,
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): the uid says who
        import os

        return f"uid {os.getuid()}"


def record_run(client, database: str, row: AuditRow) -> None:
    values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in row.__dict__.items()}
    client.insert(f"{database}.{AUDIT_TABLE}", [list(values.values())], column_names=list(values))
