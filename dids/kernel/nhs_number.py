"""The NHS number: its cleansed form and its validity (DIDS-RULES §4, §5). Shared by the national
rules (DIDS001), the pseudonymiser and the consent and opt-out lists, which must agree on both."""

from __future__ import annotations

import re
from functools import lru_cache

from nhs_number import calculate_checksum as _nhs_check_digit

# §4 step 3: every whitespace character and hyphen, anywhere in the value
_NHS_NUMBER_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_nhs_number(value: str | None) -> str | None:
    """The cleansed form (§4): every whitespace character and hyphen removed; None when nothing is left."""
    if value is None:
        return None
    return _NHS_NUMBER_SEPARATORS.sub("", value) or None


# The published "not allowed" list besides N00000000N: 0123456789 passes modulus 11 and is refused
# only by the list; 1234567890 fails modulus 11 anyway (its check would be 10).
_PUBLISHED_INVALID_NHS_NUMBERS = frozenset({"0123456789", "1234567890"})


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@lru_cache(maxsize=8192)  # pure; asked by DIDS001 and the pseudonymiser for each version of an examination
def is_valid_nhs_number(value: str | None) -> bool:
    """Valid NHS number under DIDS-RULES §5, for a cleansed value (no spaces or hyphens left).

    10 ASCII digits; modulus-11 check digit correct (check 10 is invalid); not on the published list of
    numbers that are not allowed: ``N00000000N`` (0000000000, 1000000001, ... 9000000009), 0123456789
    and 1234567890. Mirror numbers (the first five digits the last five reversed, 6978008796) are
    ordinary numbers (§5; the national palindrome check is off). Every mirror passes modulus 11 (its
    weighted sum is 10 times its first digit, modulo 11), so the old palindrome rule refused them all.

    The modulus-11 step uses ``nhs_number.calculate_checksum``, which matches §5 (11 -> 0, 10 never
    equals a digit). ``nhs_number.is_valid`` is NOT used: it disagrees with the spec. It accepts spaced
    and hyphenated input, does not refuse the published list (accepts 0000000000), and rejects numbers
    in the Scottish CHI range whose first six digits are not a DDMMYY date (0130000000), which §5 accepts.
    """
    if value is None or len(value) != 10 or not _is_ascii_digits(value):
        return False
    if (value[0] == value[9] and value[1:9] == "00000000") or value in _PUBLISHED_INVALID_NHS_NUMBERS:
        return False
    return _nhs_check_digit(value[:9]) == int(value[9])
