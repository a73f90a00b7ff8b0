"""Logging for every command: text for people or JSON for log shippers (DIDS_LOG_FORMAT), redacted.

Services never log identifiers on purpose (records are pseudonymised before they are logged about);
the redaction is there for the message nobody thought about, e.g. a library quoting a bad value or a
traceback showing a dict. It runs in the formatter, on the whole formatted line, traceback included:
anything shaped like a valid NHS number, a UK postcode, or a date that follows a birth-date field name
is masked. Faust never logs below INFO (its debug lines carry table values), and its "_on_published
error" warning, which prints the whole message it failed to send (a changelog value holds the
submitted items), is cut to its first words.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

from nhs_number import is_valid

from dids.kernel.errors import ConfigError

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


# outward code (1-2 letters, a digit, a letter or digit) and inward code (a digit, two letters)
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)
_BIRTH_DATE = re.compile(r"(birth\w*\W{1,6})\d{4}-?\d{2}-?\d{2}", re.IGNORECASE)


def redact_all(text: str) -> str:
    """``redact`` plus postcodes and birth dates."""
    text = _BIRTH_DATE.sub(lambda m: m[1] + "[birth-date]", redact(text))
    return _POSTCODE.sub("[postcode]", text)


class RedactIdentifiers(logging.Filter):
    """Before formatting: masks the message, and cuts what Faust says about a message it failed to send."""

    def filter(self, record: logging.LogRecord) -> bool:
        original = message = record.getMessage()
        if record.name.startswith("faust") and "_on_published error" in message:
            message = message.rsplit(" message ", 1)[0] + " (the message itself is not logged)"
        cleaned = redact_all(message)
        if cleaned != original:
            record.msg, record.args = cleaned, None
        return True


class RedactingFormatter(logging.Formatter):
    """The text formatter, redacting the formatted line: the traceback and stack included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_all(super().format(record))


def _json_formatter(**kwargs: Any) -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class RedactingJsonFormatter(JsonFormatter):
        def format(self, record: logging.LogRecord) -> str:
            return redact_all(super().format(record))

    return RedactingJsonFormatter(**kwargs)


def logging_config(level: int | str = logging.INFO, fmt: str = "text") -> dict[str, Any]:
    """A logging.config.dictConfig for the root logger (also handed to Faust's worker, which would
    otherwise install its own handler beside ours and print every line twice)."""
    if fmt not in FORMATS:
        raise ConfigError(f"DIDS_LOG_FORMAT={fmt!r}: use one of {', '.join(FORMATS)}")
    formatter: dict[str, Any] = {"()": RedactingFormatter, "fmt": TEXT_FORMAT}
    if fmt == "json":
        formatter = {
            "()": _json_formatter,
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
        # Faust's debug lines carry table values (the submitted items): never below INFO
        "loggers": {"faust": {"level": max(_level(level), logging.INFO)}},
    }


def _level(level: int | str) -> int:
    return level if isinstance(level, int) else logging.getLevelName(str(level).upper())


def setup_logging(level: int | str = logging.INFO, fmt: str = "text") -> None:
    logging.config.dictConfig(logging_config(level, fmt))
