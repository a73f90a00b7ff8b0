"""Log formats and the identifier mask."""

from __future__ import annotations

import io
import json
import logging

import pytest

from dids.kernel.errors import ConfigError
from dids.kernel.logs import REDACTED, logging_config, redact


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


def _log_exception(fmt: str) -> str:
    config = logging_config(logging.INFO, fmt)
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        try:
            raise ValueError({"nhs_number": "9434765919", "postcode": "LS1 4AP", "person_birth_date": "1980-02-29"})
        except ValueError:
            logging.getLogger("dids.test").exception("failed")
    finally:
        logging.config.dictConfig(logging_config(logging.INFO, "text"))
    return stream.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_tracebacks_are_redacted_too(fmt):
    out = _log_exception(fmt)
    assert "ValueError" in out
    for identifier in ("9434765919", "LS1 4AP", "1980-02-29"):
        assert identifier not in out
    assert "[postcode]" in out and "[birth-date]" in out


def test_postcodes_and_birth_dates_but_not_timestamps_or_codes():
    from dids.kernel.logs import redact_all

    assert redact_all("moved to SW1A 1AA today") == "moved to [postcode] today"
    assert redact_all("DATE_OF_BIRTH=19800229") == "DATE_OF_BIRTH=[birth-date]"
    for text in ("2026-12-02 07:30:00 INFO", "site RGT01 accession RGT001686997", "test date 2026-11-20"):
        assert redact_all(text) == text


def test_faust_never_logs_below_info_and_never_the_message_it_could_not_send():
    config = logging_config(logging.DEBUG, "text")
    assert config["loggers"]["faust"]["level"] == logging.INFO
    stream = io.StringIO()
    config["handlers"]["default"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        logging.getLogger("faust.topics").warning(
            "_on_published error for message topic t-changelog error boom message <FutureMessage: {'items': 'x'}>"
        )
        logging.getLogger("faust.tables").debug("table value %s", "secret-value")
    finally:
        logging.config.dictConfig(logging_config(logging.INFO, "text"))
    out = stream.getvalue()
    assert "_on_published error" in out and "error boom" in out
    assert "items" not in out and "secret-value" not in out
