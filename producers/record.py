"""The 18 national v1 items and the mutable draft an examination is assembled in.

Dates are handled as proleptic Gregorian ordinals (``date.toordinal()``) while drafting: cheap to add
and compare, and turned into ``CCYY-MM-DD`` strings once, through a cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

# The lower-cased national CSV headers, in national column order (SPEC §2.1), as in the Avro schema.
ITEM_FIELDS: tuple[str, ...] = (
    "nhs_number",
    "nhs_number_status_ind",
    "person_birth_date",
    "ethnic_category",
    "person_gender_code",
    "postcode",
    "practice_code",
    "patient_source_setting",
    "referrer",
    "referring_org_code",
    "diagnostic_test_request_date",
    "diag_test_request_rec_date",
    "diagnostic_test_date",
    "imaging_code_nicip",
    "imaging_code_snomed",
    "service_report_date",
    "site_code_imaging",
    "radiological_accession_num",
)
DEMOGRAPHIC_FIELDS = (
    "nhs_number",
    "person_birth_date",
    "ethnic_category",
    "person_gender_code",
    "postcode",
    "practice_code",
)
DATE_FIELDS = (
    "diagnostic_test_request_date",
    "diag_test_request_rec_date",
    "diagnostic_test_date",
    "service_report_date",
)

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
EARLIEST_BIRTH_ORDINAL = date(1900, 1, 2).toordinal()  # DIDS009: born on or before 1900-01-01 fails


@cache
def iso_date(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


@dataclass(slots=True)
class Draft:
    """An examination while it is being broken on purpose (see ``producers.breakage``).

    The ``*_day`` ordinals are the real timeline the lifecycle events follow; ``overrides`` are item
    values sent instead of what the timeline and the patient say. A breaker may move the real days to
    keep its breakage from tripping other rules.
    """

    items: dict[str, str | None]
    request_day: int
    received_day: int
    test_day: int
    report_day: int | None
    report_delay: int
    birth_day: int
    spare_nhs: str  # a valid NHS number to corrupt when the patient has none
    home_postcode: str  # a well-formed postcode to corrupt when the patient has none
    overrides: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Examination:
    """One imaging examination as the simulated RIS knows it at the end of its lifecycle.

    ``site`` and ``accession`` are the RIS's true key, used for event ids; the values sent in
    ``items`` can differ when the examination is broken on purpose (DIDS067/069/070/072).
    """

    index: int
    provider: str
    site: str
    accession: str
    modality: str
    items: dict[str, str | None]  # the final state, as sent
    broken_rule: str | None = None
    cancelled: bool = False
    before_correction: dict[str, str | None] | None = None  # what the "corrected" event replaced
    timeline: tuple[tuple[str, int, int], ...] = ()  # (event type, event ms, received ms): streams only
    skipped: int = 0  # lifecycle events before the stream's clock started, not in ``timeline`` (never sent)

    def record(self) -> dict[str, str | None]:
        """The 18 items of the final state, as a monthly extract would carry them."""
        return dict(self.items)

    def items_at(self, seq: int) -> dict[str, str | None]:
        """The items as the RIS knew them when event ``timeline[seq]`` happened."""
        event_type = self.timeline[seq][0]
        if self.before_correction is None or event_type == "corrected":
            items = dict(self.items)
        else:
            items = {**self.items, **self.before_correction}
        if event_type in ("requested", "cancelled"):
            items["diagnostic_test_date"] = None
            items["service_report_date"] = None
        elif event_type == "performed":
            items["service_report_date"] = None
        return items
