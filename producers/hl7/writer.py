"""Examination events -> HL7 v2.4 messages: ``producers.hl7.mapping`` in reverse.

Lets the simulator feed the MLLP listener and lets tests do golden round trips (event -> HL7 ->
mapping -> the same 18 items). ``reported`` events become ``ORU^R01``; every other lifecycle step an
``ORM^O01`` (or, with ``orders="OMI"``, an ``OMI^O23``, which is HL7 v2.5). Items are written where
the mapping reads them first, and fallbacks are left empty, so the round trip is exact except where
HL7 itself cannot tell two submitted values apart (MAPPING.md, "Round trip"): an 8-digit date
(``20250101``) reads back as ``2025-01-01``, and a gender sent as an HL7 code (``M``) reads back as
its national code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from dids.kernel.errors import DidsError
from dids.kernel.timestamps import clock_hour
from producers.hl7.mapping import GENDER_TO_HL7, OMI, ORM, ORU, SOURCE_TO_PATIENT_CLASS

SEPARATORS = "|^~\\&"
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# event type -> (ORC-1 order control, ORC-5 order status, OBR-25 result status)
ORDER_CODES = {
    "requested": ("NW", "", ""),
    "scheduled": ("SC", "SC", "S"),
    "performed": ("SC", "CM", ""),
    "cancelled": ("CA", "CA", "X"),
    "corrected": ("XO", "CM", ""),
    "reported": ("RE", "CM", "F"),
}


class WriterError(DidsError, ValueError):
    """The event cannot be written as HL7 (e.g. an extract ``submitted`` row has no lifecycle step)."""


def write_message(
    event: Mapping[str, object],
    *,
    orders: str = "ORM",
    sending_application: str = "DIDS-SIM",
    accept_ack: str = "",
    application_ack: str = "",
) -> str:
    """One HL7 message (segments joined by CR, no MLLP framing) carrying ``event``; ``accept_ack`` and
    ``application_ack`` (MSH-15/16: AL, ER, SU or NE) ask for enhanced-mode acknowledgements."""
    event_type = str(event.get("event_type"))
    if event_type not in ORDER_CODES:
        raise WriterError(f"event type {event_type!r} has no HL7 message (expected one of {', '.join(ORDER_CODES)})")
    if orders not in ("ORM", "OMI"):
        raise WriterError(f"orders must be ORM or OMI, got {orders!r}")
    kind = ORU if event_type == "reported" else (OMI if orders == "OMI" else ORM)
    control, status, result_status = ORDER_CODES[event_type]
    get = _getter(event)
    site = get("site_code_imaging")
    accession = get("radiological_accession_num")
    referrer = get("referrer")
    message_code, trigger = kind.split("^")
    segments = [
        _segment(
            "MSH",
            SEPARATORS[1:],
            _esc(sending_application),
            _esc(site),
            "DIDS",
            "DIDS",
            _timestamp(event.get("event_time")),
            "",
            f"{message_code}^{trigger}^{message_code}_{trigger}",
            _control_id(event),
            "P",
            "2.5" if kind == OMI else "2.4",
            "",
            "",
            _esc(accept_ack),
            _esc(application_ack),
            "",
            "UNICODE UTF-8",
        ),
        _pid(get),
        _segment("PD1", "", "", _xon(get("practice_code"))),
        _pv1(get, site),
        _segment(
            "ORC",
            control,
            "",
            _esc(accession),
            "",
            status,
            *[""] * 6,
            _esc(referrer),
            *[""] * 8,
            _xon(get("referring_org_code")),
        ),
    ]
    obr = [""] * 25
    obr[0] = "1"
    obr[2] = _esc(accession)
    obr[3] = _codes(get("imaging_code_nicip"), get("imaging_code_snomed"))
    obr[5] = _date(get("diagnostic_test_request_date"))
    obr[6] = _test_time(get("coded_procedure_start_timestamp"), get("diagnostic_test_date"))
    obr[13] = _date(get("diag_test_request_rec_date"))
    obr[15] = _esc(referrer)
    obr[17] = _esc(accession)
    obr[21] = _date(get("service_report_date"))
    obr[24] = result_status
    segments.append(_segment("OBR", *obr))
    if kind == OMI:
        segments.append(_segment("IPC", _esc(accession), "", "", ""))
    if kind == ORU:
        segments.append(_segment("OBX", "1", "TX", "REPORT^Report^L", "", "Simulated report", *[""] * 5, "F"))
    return "\r".join(segments) + "\r"


def encode_message(event: Mapping[str, object], **options: str) -> bytes:
    """``write_message`` as the UTF-8 bytes MSH-18 declares."""
    return write_message(event, **options).encode("utf-8")


def _pid(get) -> str:
    nhs = get("nhs_number")
    gender = get("person_gender_code")
    fields = [""] * 32
    fields[0] = "1"
    fields[2] = f"{_esc(nhs)}^^^NHS^NH" if nhs else ""
    fields[4] = "SIMULATED^PATIENT"
    fields[6] = _date(get("person_birth_date"))
    fields[7] = _esc(GENDER_TO_HL7.get(gender, gender))
    postcode = get("postcode")
    fields[10] = f"^^^^{_esc(postcode)}^^H" if postcode else ""
    fields[21] = _esc(get("ethnic_category"))
    fields[31] = _esc(get("nhs_number_status_ind"))
    return _segment("PID", *fields)


def _pv1(get, site: str) -> str:
    source = get("patient_source_setting")
    fields = [""] * 39
    fields[0] = "1"
    fields[1] = SOURCE_TO_PATIENT_CLASS.get(source, "U")
    fields[17] = _esc(source)
    fields[38] = _esc(site)
    return _segment("PV1", *fields)


def _getter(event: Mapping[str, object]):
    def get(name: str) -> str:
        found = event.get(name)
        return "" if found is None else str(found)

    return get


def _segment(name: str, *fields: str) -> str:
    return "|".join((name, *fields)).rstrip("|")


def _esc(text: str) -> str:
    """HL7 escaping for the default separators (the escape character first)."""
    if not text:
        return ""
    out = text.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("~", "R"), ("&", "T")):
        out = out.replace(char, f"\\{code}\\")
    return out.replace("\r", "\\X0D\\").replace("\n", "\\X0A\\")


def _date(text: str) -> str:
    """``CCYY-MM-DD`` -> HL7 ``CCYYMMDD``; any other text (a deliberately malformed date) as it is."""
    m = _ISO_DATE.fullmatch(text)
    return f"{m[1]}{m[2]}{m[3]}" if m else _esc(text)


def _test_time(timestamp: str, test_date: str) -> str:
    """OBR-7: the test's v2 start timestamp as HL7 ``CCYYMMDDHHMMSS+ZZZZ`` when it has one on the test
    date (the mapping reads it back as the same timestamp), else the test date alone."""
    if clock_hour(timestamp, test_date) is None:
        return _date(test_date)
    digits = re.sub(r"[-:T]", "", timestamp[:19])
    return digits + timestamp[19:].replace(":", "")


def _xon(code: str) -> str:
    """An ODS code as XON.3 (HL7 UK v2.4 practice); the mapping also reads XON.10."""
    return f"^^{_esc(code)}" if code else ""


def _codes(nicip: str, snomed: str) -> str:
    if not nicip and not snomed:
        return ""
    first = f"{_esc(nicip)}^^NICIP" if nicip else "^^"
    return f"{first}^{_esc(snomed)}^^SCT" if snomed else first


def _timestamp(value: object) -> str:
    if not isinstance(value, datetime):
        raise WriterError("event_time must be a timezone-aware datetime")
    if value.tzinfo is None:
        raise WriterError("event_time must be timezone-aware")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y%m%d%H%M%S") + f".{utc.microsecond // 1000:03d}+0000"


def _control_id(event: Mapping[str, object]) -> str:
    """MSH-10 (at most 20 characters in v2.4) from the event id, so a resend has the same control id."""
    return re.sub(r"[^A-Za-z0-9]", "", str(event.get("event_id") or ""))[:20] or "0"
