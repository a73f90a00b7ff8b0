"""What a validation run may see besides the records: submission time, reference data and rule options,
and which of a rule's needs it cannot satisfy (those rules are not checked, DIDS-RULES §1.4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from streams.refdata.protocols import ReferenceData
from streams.rules.results import Need


@dataclass(frozen=True)
class GracePeriod:
    """How far a NICIP/SNOMED code's validity is widened at both ends (DIDS-RULES §8.1).

    v1 (the default) is 6 calendar months, clamped to month ends; published guidance and v2.0 speak of
    183 days, hence the ``days`` unit.
    """

    amount: int = 6
    unit: Literal["months", "days"] = "months"
    # v1 widens a code's validity at both ends; v2.0 only after a code goes inactive (DIDS-RULES §8.2)
    ends: Literal["both", "after"] = "both"

    def __post_init__(self) -> None:
        if self.unit not in ("months", "days"):
            raise ValueError(f"grace period unit must be 'months' or 'days', not {self.unit!r}")
        if self.amount < 0:
            raise ValueError(f"grace period amount must not be negative, not {self.amount}")


class _computed_once:  # lower case: a decorator, like functools.cached_property
    """``functools.cached_property`` without its lock (Python 3.11 takes one per class on every first access,
    which showed up for a context made per streamed record). The values are pure functions of an immutable
    context, so two threads racing on a first access compute the same value."""

    def __init__(self, compute):
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        # stored in the instance dict, which this non-data descriptor then gives way to
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@dataclass(frozen=True)
class Context:
    """Submission metadata, reference data and options for one validation run.

    ``submission_time`` is S of DIDS-RULES §4: when the platform received the submission. A naive value
    is taken as UTC; an aware one is converted to UTC before its calendar date is used.
    ``refdata`` None, or any table in it None, makes the rules needing it *not checked*.
    ``reference_month_formula`` switches DIDS049/055 from the calendar-month form to the reference's
    fractional formula (DIDS-RULES §4); see ``streams.columnar.checks``.
    """

    submission_time: datetime | None = None
    refdata: ReferenceData | None = None
    grace: GracePeriod = field(default_factory=GracePeriod)
    reference_month_formula: bool = False

    def missing(self, needs: Iterable[Need]) -> tuple[Need, ...]:
        """The needs this context cannot satisfy, in ``Need`` declaration order (stable reasons)."""
        wanted = needs if isinstance(needs, frozenset) else frozenset(needs)
        # a pure function of two small frozensets (each caches its hash): shared by every context
        key = (wanted, self._unavailable)
        found = _MISSING.get(key)
        if found is None:
            unavailable = key[1]
            found = _MISSING[key] = tuple(need for need in _NEED_ORDER if need in wanted and need in unavailable)
        return found

    @_computed_once
    def _unavailable(self) -> frozenset[Need]:
        # asked by every rule with needs: worked out once per context (it is immutable), and the same
        # frozenset object for every context with the same inputs present, so its hash is computed once
        refdata = self.refdata
        present = (
            self.submission_time is not None,
            *(refdata is not None and getattr(refdata, name) is not None for name in _TABLE_ATTRIBUTE.values()),
        )
        found = _UNAVAILABLE.get(present)
        if found is None:
            found = _UNAVAILABLE[present] = frozenset(need for need in _NEED_ORDER if self._available(need) is None)
        return found

    def _available(self, need: Need) -> object | None:
        if need is Need.SUBMISSION_TIME:
            return self.submission_time
        if need in (Need.WHOLE_SUBMISSION, Need.FILE):
            return None  # never available to a record rule
        refdata = self.refdata
        return None if refdata is None else getattr(refdata, _TABLE_ATTRIBUTE[need])


_NEED_ORDER = tuple(Need)
_TABLE_ATTRIBUTE = {Need.ODS: "ods", Need.POSTCODES: "postcodes", Need.NICIP: "nicip", Need.SNOMED: "snomed"}
# memos of Context.missing and Context._unavailable: a few dozen entries at most (subsets of Need)
_MISSING: dict[tuple[frozenset[Need], frozenset[Need]], tuple[Need, ...]] = {}
_UNAVAILABLE: dict[tuple[bool, ...], frozenset[Need]] = {}


# v2.0 (DIDS-RULES §8.2): codes valid up to 183 days after they go inactive, at the procedure end
V2_CODE_GRACE = GracePeriod(183, "days", "after")
