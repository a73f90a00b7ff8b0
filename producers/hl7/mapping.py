"""HL7 v2 radiology messages -> DIDS examination events: pure functions, no I/O.

Supported: ``ORM^O01`` and ``OMI^O23`` (order lifecycle), ``ORU^R01`` (report). One event per OBR
(one OBR = one examination = one accession number). ``producers/hl7/MAPPING.md`` is the same table with
the reasons; keep the two in step.

==============================  ===============================================================
DIDS item / event field         HL7 source (first non-empty wins)
==============================  ===============================================================
event_type                      ORM/OMI: ORC-1, then ORC-5, then OBR-25 (see EVENT TYPE below);
                                ORU: OBR-25 (F/blank reported, C corrected, X cancelled, else performed)
event_id                        uuid5(MSH-4.1 | MSH-10 | OBR ordinal): a resend gives the same id
event_time                      MSH-7 (no offset: Europe/London local time)
received_time / source          collector clock / "hl7";  submitter_org: MSH-4.1
NHS_NUMBER                      PID-3 repetition with CX-4.1 = NHS or CX-5 = NH: CX-1
NHS_NUMBER_STATUS_IND           PID-32 (identity reliability code, 01-08 as in HL7 UK)
PERSON_BIRTH_DATE               PID-7: CCYYMMDD[...] -> CCYY-MM-DD; any other text passes unchanged
ETHNIC_CATEGORY                 PID-22.1
PERSON_GENDER_CODE              PID-8: M->1 F->2 U->0 O->9 A->9 N->0; anything else unchanged
POSTCODE                        PID-11.5 of the first home (XAD-7 = H) address, else the first
PRACTICE_CODE                   PD1-3 (XON.10, else XON.3)
PATIENT_SOURCE_SETTING          PV1-18 verbatim; else PV1-2: I/B->01 D->02 O/R->03 E->05
REFERRER                        ORC-12.1, OBR-16.1, PV1-8.1
REFERRING_ORG_CODE              ORC-21 (XON.10, else XON.3), ORC-17.1
DIAGNOSTIC_TEST_REQUEST_DATE    OBR-6, ORC-15, ORC-9 (ORC-9 only when ORC-1 = NW)
DIAG_TEST_REQUEST_REC_DATE      OBR-14 (specimen received = request received in the department)
DIAGNOSTIC_TEST_DATE            OBR-7, on performed / reported / corrected events only
CODED_PROCEDURE_START_TIMESTAMP OBR-7 with its time (to the hour at least), same events: a v2 timestamp
                                in UK local time (see TEST TIME below)
IMAGING_CODE_NICIP              OBR-4 triplet with coding system NICIP, L, 99xxx or blank
IMAGING_CODE_SNOMED             OBR-4 triplet with coding system SCT (or SNOMED CT spellings)
SERVICE_REPORT_DATE             OBR-22, on reported / corrected events only; ORU: else ORC-9
SITE_CODE_IMAGING               PV1-39 (servicing facility), else MSH-4.1 (sending facility)
RADIOLOGICAL_ACCESSION_NUM      OMI: IPC-1.1; then OBR-18, OBR-3.1, ORC-3.1
==============================  ===============================================================

EVENT TYPE for ORM/OMI, in order: ORC-1 CA/OC/CR/DC/OD/DR -> cancelled; ORC-1 XO/XX/XR -> corrected;
ORC-5 CA/DC -> cancelled, CM/A -> performed, SC -> scheduled; OBR-25 X -> cancelled, S -> scheduled,
O -> requested, I/A/P/R/F/C -> performed; ORC-1 NW/SN/NA/OK -> requested; anything else is an AE.

Dates keep the local clock date written in the value (no time-zone conversion, as DIDS does). A value
that is not ``CCYYMMDD[HHMM[SS[.S]]][+ZZZZ]`` is passed on unchanged so national validation flags it;
HL7 null (``""``) and blanks become missing. Codes are case-sensitive.

TEST TIME: OBR-7 ``CCYYMMDDHH[MM[SS[.S]]][+ZZZZ]`` also becomes the v2 item CODED PROCEDURE START
TIMESTAMP (``CCYY-MM-DDThh:mm:ss+01:00``), the clock time as written: without an offset it is UK local
time; with one, the offset must be what UK clocks showed then (``+0100`` in BST, ``+0000``/``-0000`` in
GMT). A time the clocks skip, an offset that contradicts the UK clock, or any malformed time leaves the
timestamp out: the examination then counts by its date only (never guessed into an hour), and the test
date is read from OBR-7 as before. ``dids.kernel.timestamps`` holds the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import hl7

from dids.kernel.timestamps import uk_timestamp
from producers.hl7.errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    UNSUPPORTED_MESSAGE_TYPE,
    MappingError,
)
from producers.record import ITEM_FIELDS

ORM, OMI, ORU = "ORM^O01", "OMI^O23", "ORU^R01"
SUPPORTED_TYPES = (ORM, OMI, ORU)
LOCAL_TIME = ZoneInfo("Europe/London")  # MSH-7 without an offset is the RIS's local clock
_EVENT_NAMESPACE = UUID("0f3d5a77-3c2e-5b7a-9e61-6a1b2c3d4e5f")  # fixed: event ids never change

# PID-8 (HL7 table 0001) -> PERSON GENDER CODE CURRENT, and back for the writer
GENDER = {"M": "1", "F": "2", "U": "0", "O": "9", "A": "9", "N": "0"}
GENDER_TO_HL7 = {"1": "M", "2": "F", "0": "U", "9": "O"}
# PV1-2 (HL7 table 0004; D is a common local "day case" extension) -> PATIENT SOURCE SETTING TYPE
PATIENT_CLASS = {"I": "01", "B": "01", "D": "02", "O": "03", "R": "03", "E": "05"}
SOURCE_TO_PATIENT_CLASS = {"01": "I", "02": "D", "03": "O", "04": "O", "05": "E", "06": "O", "07": "O"}

CANCEL_CONTROLS = {"CA", "OC", "CR", "DC", "OD", "DR"}
CORRECT_CONTROLS = {"XO", "XX", "XR"}
NEW_CONTROLS = {"NW", "SN", "NA", "OK"}
ORDER_STATUS = {"CA": "cancelled", "DC": "cancelled", "CM": "performed", "A": "performed", "SC": "scheduled"}
ORDER_RESULT_STATUS = {"X": "cancelled", "S": "scheduled", "O": "requested"} | dict.fromkeys("IAPRFC", "performed")
REPORT_STATUS = {"F": "reported", "": "reported", "C": "corrected", "X": "cancelled"} | dict.fromkeys(
    "PRISAO", "performed"
)
SNOMED_SYSTEMS = {"SCT", "SNOMED", "SNOMEDCT", "SNOMED-CT", "SNOMED CT", "SCTID"}
NICIP_SYSTEMS = {"NICIP", "L", ""}
_EXAMINED = {"performed", "reported", "corrected"}
_REPORTED = {"reported", "corrected"}
_DTM = re.compile(r"\d{8}(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?(?:[+-]\d{4})?")  # to the day at least
# OBR-7 with a time: date, hour, then optional minutes, seconds (fraction ignored) and offset
_TIME = re.compile(
    r"(\d{4})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:\.\d{1,4})?)?)?(?:([+-])(\d{2})(\d{2}))?", re.ASCII
)
START_TIMESTAMP = "coded_procedure_start_timestamp"
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?(?:[+-]\d{4})?")


@dataclass
class _Order:
    orc: hl7.Segment | None
    obr: hl7.Segment
    ipc: hl7.Segment | None = None


# The field the mapping reads an item from first (the table above): what an application acknowledgement's
# ERR-2 names for a national rule about that item. Order segments (ORC, OBR, IPC) are counted per order.
ITEM_FIELDS_HL7: dict[str, tuple[str, int]] = {
    "nhs_number": ("PID", 3),
    "nhs_number_status_ind": ("PID", 32),
    "person_birth_date": ("PID", 7),
    "ethnic_category": ("PID", 22),
    "person_gender_code": ("PID", 8),
    "postcode": ("PID", 11),
    "practice_code": ("PD1", 3),
    "patient_source_setting": ("PV1", 18),
    "referrer": ("ORC", 12),
    "referring_org_code": ("ORC", 21),
    "diagnostic_test_request_date": ("OBR", 6),
    "diag_test_request_rec_date": ("OBR", 14),
    "diagnostic_test_date": ("OBR", 7),
    "imaging_code_nicip": ("OBR", 4),
    "imaging_code_snomed": ("OBR", 4),
    "service_report_date": ("OBR", 22),
    "site_code_imaging": ("PV1", 39),
    "radiological_accession_num": ("OBR", 18),
}
_ITEM_FIELDS_BY_TYPE = {
    ORU: {"referrer": ("OBR", 16)},  # an ORU need not have an ORC
    OMI: {"radiological_accession_num": ("IPC", 1)},
}
_ORDER_SEGMENTS = {"ORC", "OBR", "IPC"}


def item_location(kind: str, item: str, ordinal: int) -> tuple[str, int, int] | None:
    """(segment id, segment sequence, field) where ``kind`` messages carry ``item`` for the ``ordinal``-th
    OBR, or None for a name that is not one of the 18 items."""
    found = _ITEM_FIELDS_BY_TYPE.get(kind, {}).get(item) or ITEM_FIELDS_HL7.get(item)
    if found is None:
        return None
    segment, field = found
    return segment, ordinal if segment in _ORDER_SEGMENTS else 1, field


def map_message(message: hl7.Message, received_time: datetime) -> list[dict[str, object]]:
    """One examination event per OBR, or ``MappingError`` naming the segment/field at fault."""
    msh = message.segment("MSH")
    kind = message_type(msh)
    control_id = value(msh, 10)
    if not control_id:
        raise MappingError("MSH-10 message control id is empty", REQUIRED_FIELD_MISSING, "MSH-10")
    facility = value(msh, 4)
    event_time = parse_event_time(value(msh, 7))
    patient, orders = _structure(message, kind)
    pid, pd1, pv1 = patient.get("PID"), patient.get("PD1"), patient.get("PV1")
    events = []
    for ordinal, order in enumerate(orders, start=1):
        event_type = event_type_of(kind, order.orc, order.obr)
        items = _patient_items(pid, pd1, pv1) | _order_items(kind, event_type, order, pv1, facility)
        event: dict[str, object] = {
            "event_id": str(uuid5(_EVENT_NAMESPACE, f"{facility}|{control_id}|{ordinal}")),
            "event_type": event_type,
            "event_time": event_time,
            "received_time": received_time,
            "source": "hl7",
            "submission_id": None,
            "submitter_org": facility or None,
            "row_number": None,
        }
        event.update({name: items[name] or None for name in ITEM_FIELDS})
        event[START_TIMESTAMP] = start_timestamp(value(order.obr, 7)) if event_type in _EXAMINED else None
        events.append(event)
    _check_lengths(events[0] if events else {}, control_id, facility)
    for event in events[1:]:
        _check_lengths(event, control_id, facility)
    return events


MAX_VALUE_CHARS = 100  # far above any DIDS item (codes, dates, postcodes, NHS numbers) and any RIS id


def _check_lengths(event: dict[str, object], control_id: str, facility: str) -> None:
    """Every mapped value within ``MAX_VALUE_CHARS``: a long one is an error to the sender (AE), not an
    event the broker may refuse for its size."""
    for name, text in (("MSH-10", control_id), ("MSH-4", facility)):
        if len(text) > MAX_VALUE_CHARS:
            raise MappingError(f"{name} is longer than {MAX_VALUE_CHARS} characters", DATA_TYPE_ERROR, name)
    for name in ITEM_FIELDS:
        item = event.get(name)
        if isinstance(item, str) and len(item) > MAX_VALUE_CHARS:
            raise MappingError(
                f"the value mapped to {name} is longer than {MAX_VALUE_CHARS} characters", DATA_TYPE_ERROR
            )


def message_type(msh: hl7.Segment) -> str:
    """``ORM^O01`` / ``OMI^O23`` / ``ORU^R01`` from MSH-9, or ``MappingError`` (unsupported)."""
    kind = f"{value(msh, 9, 1)}^{value(msh, 9, 2)}"
    if kind not in SUPPORTED_TYPES:
        shown = re.sub(r"[^A-Za-z0-9^_]", "?", kind)[:20]
        raise MappingError(
            f"message type {shown} is not supported (send ORM^O01, OMI^O23 or ORU^R01)",
            UNSUPPORTED_MESSAGE_TYPE,
            "MSH-9",
        )
    return kind


def event_type_of(kind: str, orc: hl7.Segment | None, obr: hl7.Segment) -> str:
    """The lifecycle step a message reports (module docstring, EVENT TYPE)."""
    result_status = value(obr, 25)
    if kind == ORU:
        if result_status not in REPORT_STATUS:
            raise MappingError(_code_text("OBR-25 result status", result_status), TABLE_VALUE_NOT_FOUND, "OBR-25")
        return REPORT_STATUS[result_status]
    control = value(orc, 1)
    if control in CANCEL_CONTROLS:
        return "cancelled"
    if control in CORRECT_CONTROLS:
        return "corrected"
    if control not in NEW_CONTROLS and control != "SC":
        if not control:
            raise MappingError("ORC-1 order control is empty", REQUIRED_FIELD_MISSING, "ORC-1")
        raise MappingError(_code_text("ORC-1 order control", control), TABLE_VALUE_NOT_FOUND, "ORC-1")
    status = value(orc, 5)
    if status in ORDER_STATUS:
        return ORDER_STATUS[status]
    if result_status in ORDER_RESULT_STATUS:
        return ORDER_RESULT_STATUS[result_status]
    if control in NEW_CONTROLS:
        return "requested"
    raise MappingError("ORC-1 SC (status changed) without a status in ORC-5 or OBR-25", REQUIRED_FIELD_MISSING, "ORC-5")


def parse_event_time(raw: str) -> datetime:
    """MSH-7 as a UTC datetime; a value without an offset is Europe/London local time."""
    if not raw:
        raise MappingError("MSH-7 date/time of message is empty", REQUIRED_FIELD_MISSING, "MSH-7")
    try:
        if not _DTM.fullmatch(raw) or not _plausible_offset(raw):
            raise ValueError(raw)
        parsed = hl7.parse_datetime(raw)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=LOCAL_TIME)
        # the library's offset is evaluated only here: +9999 fails now, not in a caller
        return parsed.astimezone(UTC)
    except (ValueError, TypeError, OverflowError):
        raise MappingError("MSH-7 date/time of message is not an HL7 DTM", DATA_TYPE_ERROR, "MSH-7") from None


def _plausible_offset(raw: str) -> bool:
    """A +/-HHMM offset, if any, within what clocks use: hours up to 14, minutes under 60."""
    sign = max(raw.rfind("+"), raw.rfind("-"))
    if sign < 0:
        return True
    hours, minutes = int(raw[sign + 1 : sign + 3]), int(raw[sign + 3 : sign + 5])
    return hours <= 14 and minutes < 60


def iso_date(raw: str) -> str | None:
    """``CCYYMMDD...`` -> ``CCYY-MM-DD`` (calendar validity is left to national validation); other
    text unchanged; blank -> None."""
    if not raw:
        return None
    m = _DATE.fullmatch(raw)
    return f"{m[1]}-{m[2]}-{m[3]}" if m else raw


def start_timestamp(raw: str) -> str | None:
    """OBR-7 as a v2 timestamp in UK local time (module docstring, TEST TIME), or None: no time in it
    (a date only), a malformed time, a wall time the UK clocks skip, or an offset they did not show."""
    m = _TIME.fullmatch(raw)
    if m is None:
        return None
    year, month, day, hour = int(m[1]), int(m[2]), int(m[3]), int(m[4])
    minute, second = int(m[5] or 0), int(m[6] or 0)
    offset = None
    if m[7]:
        hours, minutes = int(m[8]), int(m[9])
        if minutes >= 60:
            return None
        offset = (hours * 60 + minutes) * (-1 if m[7] == "-" else 1)
    try:
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    return uk_timestamp(wall, offset)


def value(seg: hl7.Segment | None, field: int, component: int = 1, repetition: int = 1) -> str:
    """One unescaped value; "" when absent, and for the HL7 null ``""``."""
    if seg is None:
        return ""
    try:
        found = seg.extract_field(1, field, repetition, component, 1)
    except IndexError:
        return ""
    found = str(found)
    return "" if found == '""' else found


def repetitions(seg: hl7.Segment | None, field: int) -> int:
    return len(seg(field)) if seg is not None and field < len(seg) else 0


def _structure(message: hl7.Message, kind: str) -> tuple[dict[str, hl7.Segment], list[_Order]]:
    """Patient segments (before any order) and the OBRs with their ORC (and IPC for OMI)."""
    patient: dict[str, hl7.Segment] = {}
    orders: list[_Order] = []
    orc = None
    for number, seg in enumerate(message[1:], start=2):
        sid = str(seg[0][0])
        if sid == "MSH":
            raise MappingError(f"segment {number} is a second MSH: one message per frame", SEGMENT_SEQUENCE_ERROR)
        if sid in ("PID", "PD1", "PV1"):
            if orc is not None or orders:
                raise MappingError(f"{sid} (segment {number}) after ORC/OBR", SEGMENT_SEQUENCE_ERROR, sid)
            if sid in patient:
                raise MappingError(f"more than one {sid}: one patient per message", SEGMENT_SEQUENCE_ERROR, sid)
            patient[sid] = seg
        elif sid == "ORC":
            orc = seg
        elif sid == "OBR":
            if orc is None and kind != ORU:
                raise MappingError(f"OBR (segment {number}) before any ORC", SEGMENT_SEQUENCE_ERROR, "OBR")
            orders.append(_Order(orc, seg))
        elif sid == "IPC" and orders and orders[-1].ipc is None:
            orders[-1].ipc = seg
    if not orders:
        raise MappingError("no OBR segment: nothing describes an examination", REQUIRED_FIELD_MISSING, "OBR")
    return patient, orders


def _patient_items(pid: hl7.Segment | None, pd1: hl7.Segment | None, pv1: hl7.Segment | None) -> dict[str, str]:
    gender = value(pid, 8)
    source = value(pv1, 18) or PATIENT_CLASS.get(value(pv1, 2), "")
    return {
        "nhs_number": _nhs_number(pid),
        "nhs_number_status_ind": value(pid, 32),
        "person_birth_date": iso_date(value(pid, 7)) or "",
        "ethnic_category": value(pid, 22),
        "person_gender_code": GENDER.get(gender, gender),
        "postcode": _postcode(pid),
        "practice_code": _organisation(pd1, 3),
        "patient_source_setting": source,
    }


def _order_items(kind: str, event_type: str, order: _Order, pv1: hl7.Segment | None, facility: str) -> dict[str, str]:
    orc, obr = order.orc, order.obr
    nicip, snomed = _imaging_codes(obr)
    request = value(obr, 6) or value(orc, 15) or (value(orc, 9) if value(orc, 1) == "NW" else "")
    report = ""
    if event_type in _REPORTED:
        report = value(obr, 22) or (value(orc, 9) if kind == ORU else "")
    return {
        "referrer": value(orc, 12) or value(obr, 16) or value(pv1, 8),
        "referring_org_code": _organisation(orc, 21) or value(orc, 17),
        "diagnostic_test_request_date": iso_date(request) or "",
        "diag_test_request_rec_date": iso_date(value(obr, 14)) or "",
        "diagnostic_test_date": (iso_date(value(obr, 7)) or "") if event_type in _EXAMINED else "",
        "imaging_code_nicip": nicip,
        "imaging_code_snomed": snomed,
        "service_report_date": iso_date(report) or "",
        "site_code_imaging": value(pv1, 39) or facility,
        "radiological_accession_num": (value(order.ipc, 1) if kind == OMI else "")
        or value(obr, 18)
        or value(obr, 3)
        or value(orc, 3),
    }


def _nhs_number(pid: hl7.Segment | None) -> str:
    for rep in range(1, repetitions(pid, 3) + 1):
        if value(pid, 3, 4, rep).upper() == "NHS" or value(pid, 3, 5, rep).upper() == "NH":
            return value(pid, 3, 1, rep)
    return ""


def _postcode(pid: hl7.Segment | None) -> str:
    count = repetitions(pid, 11)
    homes = [rep for rep in range(1, count + 1) if value(pid, 11, 7, rep) == "H"]
    return value(pid, 11, 5, homes[0] if homes else 1) if count else ""


def _organisation(seg: hl7.Segment | None, field: int) -> str:
    """An ODS code in an XON field: XON.10 (organization identifier, v2.5+), else XON.3 (ID number)."""
    return value(seg, field, 10) or value(seg, field, 3)


def _imaging_codes(obr: hl7.Segment) -> tuple[str, str]:
    """(NICIP, SNOMED CT) from the two CE triplets of OBR-4, chosen by their coding system."""
    nicip = snomed = ""
    for code_at, system_at in ((1, 3), (4, 6)):
        code, system = value(obr, 4, code_at), value(obr, 4, system_at).strip().upper()
        if not code:
            continue
        if system in SNOMED_SYSTEMS:
            snomed = snomed or code
        elif system in NICIP_SYSTEMS or system.startswith("99"):
            nicip = nicip or code
    return nicip, snomed


def _code_text(what: str, code: str) -> str:
    shown = re.sub(r"[^A-Za-z0-9]", "?", code)[:10]
    return f"{what} {shown!r} is not supported"
