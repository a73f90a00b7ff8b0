"""Logging for every command: text for people or JSON for log shippers (DIDS_LOG_FORMAT), and a
last-line filter that masks anything shaped like a valid NHS number.

Services never log identifiers on purpose (records are pseudonymised before they are logged about);
the filter is there for the message nobody thought about, e.g. a library quoting a bad value.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

from nhs_number import is_valid

from dids.errors import ConfigError

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# ten digits, or 3-3-4 with spaces or dashes, not inside a longer run of digits
_NHS_SHAPED = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?!\d)")
REDACTED = "[nhs-number]"


def redact(text: str) -> str:
    """Replace every NHS-number-shaped run that passes the check digit (offsets and counts rarely do)."""

    def mask(m: re.Match) -> str:
        return REDACTED if is_valid("".join(m.groups())) else m[0]

    return _NHS_SHAPED.sub(mask, text)


class RedactIdentifiers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def logging_config(level: int | str = logging.INFO, fmt: str = "text") -> dict[str, Any]:
    """A logging.config.dictConfig for the root logger (also handed to Faust's worker, which would
    otherwise install its own handler beside ours and print every line twice)."""
    if fmt not in FORMATS:
        raise ConfigError(f"DIDS_LOG_FORMAT={fmt!r}: use one of {', '.join(FORMATS)}")
    formatter: dict[str, Any] = {"format": TEXT_FORMAT}
    if fmt == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactIdentifiers}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["redact"],
            }
        },
        "root": {"level": level, "handlers": ["default"]},
    }


def setup_logging(level: int | str = logging.INFO, fmt: str = "text") -> None:
    logging.config.dictConfig(logging_config(level, fmt))
