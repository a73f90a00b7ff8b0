"""The six national age bands (DIDS-SPEC §7.1, §7.2); the columns are ``streams.columnar.derivations``'.

AGE_AT_EVENT is whole years from birth to test, null when either date is blank or invalid. A birthday
counts on its anniversary; a 29 February birthday counts on 1 March in non-leap years (nationally both
dates become fractions of a 366-day year on which 28 Feb, 29 Feb and 1 Mar are days 59, 60 and 61 in
every year and the difference is floored). Negative when the birth is after the test (a DIDS006
reject): the bands then say ``Age not known``. Each band is ``lo-hi``, ``lo`` for a one-year band, or
``lo and over`` for the last: 5 years ``0-4`` ... ``85-89``, ``90 and over``; 10 years ``0-9`` ...
``80-89``, ``90 and over``; children ``0``, ``1-4``, ``5-9``, ``10-15``, ``16 and over``; ``0-18``,
``19-49``, ``50-74``, ``75 and over``; ``0-15``, ``16-60``, ``61 and over``; ``0-15``, ``16-64``,
``65 and over``.
"""

from __future__ import annotations

AGE_NOT_KNOWN = "Age not known"

# each band scheme as the lower bounds of its bands; the last band is "<lower> and over"
BANDS: dict[str, tuple[int, ...]] = {
    "AGE_BAND_5_YEARS": tuple(range(0, 95, 5)),
    "AGE_BAND_10_YEARS": tuple(range(0, 100, 10)),
    "AGE_BAND_CHILDREN_INC_0_YEARS": (0, 1, 5, 10, 16),
    "AGE_BAND_INC_50_TO_74": (0, 19, 50, 75),
    "AGE_BAND_INC_WORKING_AGE_16_TO_60": (0, 16, 61),
    "AGE_BAND_INC_WORKING_AGE_16_TO_64": (0, 16, 65),
}
AGE_BAND_COLUMNS: tuple[str, ...] = tuple(BANDS)
