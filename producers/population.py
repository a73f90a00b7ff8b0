"""Synthetic patients and referrers for the simulator: who is imaged and who asked for it.

NHS numbers come from the synthetic test range 999 000 0000 - 999 999 9999 and are never issued to
real people: stems whose check digit would be 10 are skipped. Mirror numbers (the first five digits
the last five reversed) are ordinary valid numbers (DIDS-RULES §5) and are drawn like any other.
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Callable, Sequence
from random import Random
from typing import NamedTuple, TypeVar

from producers import catalogue as cat
from producers.record import EARLIEST_BIRTH_ORDINAL, iso_date

T = TypeVar("T")

_TEST_RANGE_STEMS = 1_000_000  # 999 000 000 .. 999 999 999
_STEM_STEP = 7919  # prime, so the walk visits every stem once before repeating
_MIN_AGE_DAYS = 7  # keeps "born on the request day" edge cases out of clean records
_POOL_SIZE = 4000  # recent patients per provider who may come back
_RETURNING_SHARE = 0.35
_OTHER_AREA_SHARE = 0.08
_PSEUDO_POSTCODE_SHARE = 0.015
_PRACTICE_DEFAULT_SHARE = 0.04
_BIRTH_DATE_BLANK_SHARE = 0.003

# Modulus 11 weights 10..2 over the 9-digit stem "999abcdef": the fixed "999" adds 9*(10+9+8); the
# variable six digits are summed from two 1000-entry tables (weights 7,6,5 and 4,3,2).
_FIXED_SUM = 9 * (10 + 9 + 8)
_HIGH_SUM = tuple((n // 100) * 7 + (n // 10 % 10) * 6 + (n % 10) * 5 for n in range(1000))
_LOW_SUM = tuple((n // 100) * 4 + (n // 10 % 10) * 3 + (n % 10) * 2 for n in range(1000))


def picker(rng: Random, table: Sequence[tuple[T, float]]) -> Callable[[], T]:
    """A fast weighted choice over ``(value, weight)`` rows, bound to ``rng``."""
    values = [v for v, _ in table]
    cum: list[float] = []
    total = 0.0
    for _, w in table:
        total += w
        cum.append(total)
    cum[-1] = float("inf")  # guards against rounding at the top end
    rand = rng.random

    def pick() -> T:
        return values[bisect(cum, rand() * total)]

    return pick


class Patient(NamedTuple):
    nhs_number: str | None
    status: str | None
    birth_day: int
    birth_date: str | None
    ethnic: str | None
    gender: str | None
    postcode: str | None
    practice: str | None


class Population:
    """Patients and referrers of the simulated providers, drawn from one seeded ``Random``."""

    def __init__(self, rng: Random, providers: Sequence[cat.Provider]) -> None:
        self._rng = rng
        self._rand = rng.random
        self._providers = providers
        self._stem_i = rng.randrange(_TEST_RANGE_STEMS)
        self._pools: dict[str, list[Patient]] = {p.code: [] for p in providers}
        self._ethnic = picker(rng, cat.ETHNIC_CATEGORIES)
        self._gender = picker(rng, cat.GENDERS)
        self._status = picker(rng, cat.NHS_STATUS_TRACED)
        self._status_none = picker(rng, cat.NHS_STATUS_NO_NUMBER)
        self._age_band = picker(rng, [((lo, hi), w) for lo, hi, w in cat.AGE_BANDS])
        self._practice_default = picker(rng, cat.GP_PRACTICE_DEFAULTS)
        self._all_postcodes = tuple(pc for p in cat.PROVIDERS for pc in p.postcodes)
        self._practices = {p.code: p.practices for p in providers}
        self._other_trusts = {p.code: tuple(q.code for q in cat.PROVIDERS if q.code != p.code) for p in providers}
        r7 = lambda: rng.randrange(1_000_000, 10_000_000)  # noqa: E731
        self._consultants = {p.code: tuple(f"C{r7()}" for _ in range(60)) for p in providers}
        self._gps = {pr: tuple(f"G{r7()}" for _ in range(3)) for p in providers for pr in p.practices}
        self._nurses = {p.code: tuple(self._nmc_pin() for _ in range(15)) for p in providers}

    # -- patients -------------------------------------------------------------------------------

    def next_nhs_number(self) -> str:
        while True:
            tail = (self._stem_i * _STEM_STEP) % _TEST_RANGE_STEMS
            self._stem_i += 1
            check = (11 - (_FIXED_SUM + _HIGH_SUM[tail // 1000] + _LOW_SUM[tail % 1000]) % 11) % 11
            if check == 10:
                continue
            return f"999{tail:06d}{check}"

    def patient(self, provider: cat.Provider, cohort: str, request_day: int) -> Patient:
        """A returning patient of this provider now and then, else a new one (cohorts always new)."""
        rand = self._rand
        pool = self._pools[provider.code]
        if cohort == cat.ANY and pool and rand() < _RETURNING_SHARE:
            p = pool[int(rand() * len(pool))]
            if p.birth_day <= request_day - _MIN_AGE_DAYS:
                return p
        p = self._new_patient(provider, cohort, request_day)
        if cohort == cat.ANY:
            if len(pool) < _POOL_SIZE:
                pool.append(p)
            else:
                pool[int(rand() * _POOL_SIZE)] = p
        return p

    def _new_patient(self, provider: cat.Provider, cohort: str, request_day: int) -> Patient:
        rand = self._rand
        if cohort == cat.ANY:
            lo, hi = self._age_band()
            gender = self._gender()
        else:
            lo, hi = cat.COHORT_AGES[cohort]
            gender = "2"
        age_days = max(_MIN_AGE_DAYS, int((lo + rand() * (hi - lo + 1)) * 365.25))
        birth_day = max(EARLIEST_BIRTH_ORDINAL, request_day - age_days)
        if rand() < cat.NO_NHS_NUMBER_SHARE:
            nhs, status = None, self._status_none()
        else:
            nhs, status = self.next_nhs_number(), self._status()
        r = rand()
        if r < _PSEUDO_POSTCODE_SHARE:
            postcode = cat.PSEUDO_POSTCODE
        elif r < _PSEUDO_POSTCODE_SHARE + _OTHER_AREA_SHARE:
            postcode = self._all_postcodes[int(rand() * len(self._all_postcodes))]
        else:
            postcode = provider.postcodes[int(rand() * len(provider.postcodes))]
        if rand() < _PRACTICE_DEFAULT_SHARE:
            practice = self._practice_default()
        else:
            local = self._practices[provider.code]
            practice = local[int(rand() * len(local))]
        birth_date = None if rand() < _BIRTH_DATE_BLANK_SHARE else iso_date(birth_day)
        return Patient(nhs, status, birth_day, birth_date, self._ethnic(), gender, postcode, practice)

    # -- referrers ------------------------------------------------------------------------------

    def referral(self, provider: cat.Provider, setting: str, practice: str | None) -> tuple[str | None, str | None]:
        """(referrer code, referring organisation code) plausible for the patient source setting."""
        rand = self._rand
        r = rand()
        if setting == "04":  # GP direct access: the patient's own practice when it is a real one
            local = self._practices[provider.code]
            org = practice if practice in self._gps else local[int(rand() * len(local))]
            gps = self._gps[org]
            referrer = gps[int(rand() * len(gps))] if r < 0.9 else "G9999998" if r < 0.95 else None
            return referrer, org
        if setting == "06":  # another provider's consultant
            others = self._other_trusts[provider.code]
            org = others[int(rand() * len(others))] if rand() < 0.9 else "X99999"
            referrer = f"C{1_000_000 + int(rand() * 9_000_000)}" if r < 0.85 else "C9999998" if r < 0.95 else None
            return referrer, org
        if setting == "07":
            org = _one_of(rand, cat.REFERRING_ORG_DEFAULTS) if rand() < 0.6 else None
            if r < 0.6:
                referrer = _one_of(rand, cat.OTHER_REFERRER_DEFAULTS)
            else:
                referrer = _one_of(rand, self._nurses[provider.code]) if r < 0.8 else None
            return referrer, org
        org = provider.code if rand() < 0.95 else None  # this provider's own clinicians
        nurse_share = 0.25 if setting == "05" else 0.02
        if r < nurse_share:
            referrer = _one_of(rand, self._nurses[provider.code])
        elif r < 0.9:
            referrer = _one_of(rand, self._consultants[provider.code])
        elif r < 0.95:
            referrer = "C9999998"
        else:
            referrer = None
        return referrer, org

    def _nmc_pin(self) -> str:
        rng = self._rng
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return f"{rng.randrange(70, 100)}{rng.choice(letters)}{rng.randrange(10_000):04d}{rng.choice(letters)}"


def _one_of(rand: Callable[[], float], seq: Sequence[T]) -> T:
    return seq[int(rand() * len(seq))]
