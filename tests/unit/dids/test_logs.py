"""Log formats and the identifier mask."""

from __future__ import annotations

import io
import json
import logging

import pytest

from dids.errors import ConfigError
from dids.logs import REDACTED, logging_config, redact


def test_valid_nhs_numbers_are_masked_in_any_usual_shape():
    assert redact("patient 9434765919 seen") == f"patient {REDACTED} seen"
    assert redact("943 476 5919") == REDACTED
    assert redact("943-476-5919") == REDACTED


def test_numbers_that_are_not_nhs_numbers_stay():
    # wrong check digit, longer digit runs (offsets, timestamps) and short ones
    for text in ("9434765918", "offset 19434765919", "1700000000123", "partition 3 offset 12"):
        assert redact(text) == text


def _log_through(fmt: str, message: str, *args) -> str:
    config = logging_config(logging.INFO, fmt)
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        logging.getLogger("dids.test").warning(message, *args)
    finally:
        logging.config.dictConfig(logging_config(logging.INFO, "text"))
    return stream.getvalue()


def test_json_lines_carry_time_level_logger_and_message_masked():
    line = _log_through("json", "bad record for %s at row %d", "9434765919", 7)
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "dids.test"
    assert entry["message"] == f"bad record for {REDACTED} at row 7"
    assert "time" in entry


def test_text_lines_are_masked_too():
    assert "9434765919" not in _log_through("text", "value %s", "9434765919")


def test_unknown_format_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="text, json"):
        logging_config(logging.INFO, "xml")
