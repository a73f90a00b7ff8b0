"""Builds examinations one at a time: site, procedure, patient, referral, dates, breakage, lifecycle.

Everything is drawn from one ``random.Random`` seeded from the config, in a fixed order, so the same
config always gives the same examinations. Waits follow DIDS-SPEC §8.6: same or next day for
inpatients, day cases and A&E (settings 01, 02, 05); otherwise lognormal by modality. When work
happens (week, day, season) follows ``rhythm``.

An examination is drawn in two steps: a cheap ``Plan`` (modality, setting, waits) and then the rest
(patient, referral, breakage, lifecycle). The stream's lead-in draws plans for requests made before
its clock starts and finishes only those still waiting at the start (see ``generator``).
"""

from __future__ import annotations

from math import exp, log
from random import Random
from statistics import NormalDist
from typing import TYPE_CHECKING, NamedTuple

from producers import catalogue as cat
from producers import rhythm
from producers.breakage import BREAKERS, IMAGING_RULES, SETTING_RULES
from producers.population import Population, picker
from producers.record import EPOCH_ORDINAL, Draft, Examination, iso_date

if TYPE_CHECKING:
    from producers.generator import SimulationConfig

MS_PER_DAY = 86_400_000
# requests reach the RIS between 07:00 and 21:00 UTC (``rhythm``) ...
_PERFORMED_BY_S = 22 * 3600 + 1800  # ... and same-day work is done by 22:30, reported by 23:30,
_REPORTED_BY_S = 23 * 3600 + 1800  # so event dates never cross midnight (UK local date = UTC date)
_MAX_WAIT_DAYS = 300  # with a weekend move, stays clear of the 365-day warnings DIDS028/038
_MAX_REPORT_DAYS = 27  # stays clear of DIDS062 (report more than a calendar month after the test)
_ACUTE_SAME_DAY = 0.7
_RECEIVED_LATER_SHARE = 0.15  # requests that reach the department 1-3 days after they were made
ACCESSIONS_PER_DAY = 10_000  # accession numbers count from the clock's first day: see ``accession_base``


def day_ms(day: int) -> int:
    return (day - EPOCH_ORDINAL) * MS_PER_DAY


def accession_base(first_day: int) -> int:
    """Where a provider's accession numbers start for a simulation whose clock starts on ``first_day``.

    Simulations started on different days (a backfilled history, then live traffic from its end)
    get disjoint numbers, so their examinations never share a key, as long as a provider makes
    fewer than ``ACCESSIONS_PER_DAY`` requests a day on average.
    """
    return (first_day - EPOCH_ORDINAL) * ACCESSIONS_PER_DAY


class Plan(NamedTuple):
    """What decides an examination's dates, drawn before anything else about it."""

    modality: cat.Modality
    code: cat.ImagingCode | None  # None: drawn with the rest (restricted codes come with their modality)
    setting: str
    wait: int  # request -> test, days
    lag: int  # request -> received, days


class WaitClass(NamedTuple):
    """Planned requests of one modality (and restricted code) and setting that wait a lognormal time."""

    modality: cat.Modality
    code: cat.ImagingCode | None
    setting: str
    weight: float  # share of all requests on such a day
    mu: float  # log of the median wait
    sigma: float

    def tail(self, at_least: int) -> float:
        """P(wait >= at_least days) of the rounded, capped lognormal ``_lognormal`` draws."""
        if at_least <= 1:
            return 1.0
        if at_least > _MAX_WAIT_DAYS:
            return 0.0
        return 1.0 - _NORMAL.cdf((log(at_least - 0.5) - self.mu) / self.sigma)

    def wait(self, at_least: int, u: float) -> int:
        """The wait at quantile ``u`` (0..1) of the draws of at least ``at_least`` days."""
        tail = self.tail(at_least)
        p = min(max(1.0 - tail + u * tail, 1e-15), 1.0 - 1e-15)
        return min(_MAX_WAIT_DAYS, max(1, int(exp(self.mu + self.sigma * _NORMAL.inv_cdf(p)) + 0.5)))


_NORMAL = NormalDist()


class ExaminationBuilder:
    def __init__(self, config: SimulationConfig, first_day: int | None = None) -> None:
        self._rng = rng = Random(f"dids-simulator/{config.seed}")
        self._gauss = rng.gauss
        self.providers = cat.PROVIDERS[: config.providers]
        self._invalid_rate = config.invalid_rate
        self._cancelled_rate = config.cancelled_rate
        self._corrected_rate = config.corrected_rate
        self._restricted_rate = config.restricted_rate
        self._break_rules = config.rules_to_break
        self._population = Population(rng, self.providers)
        self._pick_provider = picker(rng, [(p, p.volume) for p in self.providers])
        self._pick_site = {p.code: self._site_picker(p) for p in self.providers}
        self._pick_modality = picker(rng, [(m, m.share) for m in cat.MODALITIES])
        self._pick_code = {m.name: picker(rng, [(c, c.weight) for c in m.codes]) for m in cat.MODALITIES}
        self._pick_setting = {m.name: picker(rng, m.settings) for m in cat.MODALITIES}
        self._pick_weekend_setting = {m.name: picker(rng, _weekend_settings(m)) for m in cat.MODALITIES}
        self._pick_send_mode = picker(rng, cat.CODE_SEND_MODES)
        by_name = {m.name: m for m in cat.MODALITIES}
        self._restricted = [(by_name[name], code) for name, code in cat.RESTRICTED]
        self._wait_classes = {weekend: self._classes(weekend) for weekend in (False, True)}
        base = accession_base(first_day) if first_day is not None else 0
        self._accession = {p.code: base + rng.randrange(1000) for p in self.providers}

    def _site_picker(self, p: cat.Provider):
        if len(p.sites) == 1:
            return lambda: p.sites[0]
        rest = (1 - cat.MAIN_SITE_SHARE) / (len(p.sites) - 1)
        return picker(self._rng, [(p.sites[0], cat.MAIN_SITE_SHARE)] + [(s, rest) for s in p.sites[1:]])

    def _classes(self, weekend: bool) -> list[WaitClass]:
        """Every way ``plan`` can draw a lognormal wait on a weekday or weekend day, with its chance."""
        restricted = self._restricted_rate
        total = sum(m.share for m in cat.MODALITIES)
        sources = [(m, None, (1 - restricted) * m.share / total) for m in cat.MODALITIES]
        sources += [(m, code, restricted / len(self._restricted)) for m, code in self._restricted]
        out = []
        for modality, code, weight in sources:
            settings = _weekend_settings(modality) if weekend else modality.settings
            settings_total = sum(w for _, w in settings)
            for setting, w in settings:
                if setting in cat.ACUTE_SETTINGS or weight == 0:
                    continue
                median = modality.wait_median * (modality.gp_factor if setting == "04" else 1.0)
                chance = weight * w / settings_total * (1 - modality.wait_same_day)
                out.append(WaitClass(modality, code, setting, chance, log(median), modality.wait_sigma))
        return out

    # -- clocks ---------------------------------------------------------------------------------

    def arrivals(self, start_ms: int, daily_volume: float):
        """(received day, received ms) of each new request: a Poisson stream whose rate follows the
        week, the season and the hours of ``rhythm``, ``daily_volume`` a day on average."""
        expovariate = self._rng.expovariate
        day = EPOCH_ORDINAL + start_ms // MS_PER_DAY
        capacity = daily_volume * rhythm.day_factor(day)
        used = capacity * rhythm.fraction_of_day((start_ms % MS_PER_DAY) / 1000)  # expected arrivals so far
        while True:
            used += expovariate(1.0)
            while used >= capacity:
                used -= capacity
                day += 1
                capacity = daily_volume * rhythm.day_factor(day)
            yield day, day_ms(day) + int(rhythm.second_of_day(used / capacity) * 1000)

    def test_day(self, first_day: int, last_day: int) -> int:
        """An extract's test day: weekdays busier than weekends, as in the stream."""
        rand = self._rng.random
        top = max(rhythm.WEEKDAY_FACTORS)
        while True:
            day = first_day + int(rand() * (last_day - first_day + 1))
            if rand() * top < rhythm.WEEKDAY_FACTORS[rhythm.weekday(day)]:
                return day

    # -- one examination ------------------------------------------------------------------------

    def plan(self, anchor_day: int, stream: bool = True) -> Plan:
        """Modality, setting and waits of the next examination. In a stream ``anchor_day`` is the
        day the request was received (planned tests due on a weekend mostly move to the next week); in
        an extract it is the test day."""
        rand = self._rng.random
        code = None
        if self._restricted_rate and rand() < self._restricted_rate:
            modality, code = self._restricted[int(rand() * len(self._restricted))]
        else:
            modality = self._pick_modality()
        weekend = rhythm.is_weekend(anchor_day)
        setting = (self._pick_weekend_setting if weekend else self._pick_setting)[modality.name]()
        if setting in cat.ACUTE_SETTINGS:
            return Plan(modality, code, setting, 0 if rand() < _ACUTE_SAME_DAY else 1, 0)
        if rand() < modality.wait_same_day:
            wait = 0
        else:
            median = modality.wait_median * (modality.gp_factor if setting == "04" else 1.0)
            wait = self._lognormal(median, modality.wait_sigma, _MAX_WAIT_DAYS)
        lag = min(wait, 1 + int(rand() * 3)) if rand() < _RECEIVED_LATER_SHARE else 0
        if stream and wait and rhythm.is_weekend(anchor_day - lag + wait) and rand() >= rhythm.WEEKEND_LIST_SHARE:
            wait += rhythm.weekend_move(anchor_day - lag + wait, rand())
        return Plan(modality, code, setting, wait, lag)

    def long_waits(self, start_day: int, daily_volume: float, ages: range):
        """(received day, received ms, plan) of the requests received ``ages`` days before
        ``start_day`` that are still waiting for their test on it, in the same numbers and mix as
        drawing every request with ``plan`` and keeping those would give, at a fraction of the cost.

        Only a lognormal wait can span three days or more, so for each day this draws from the tails
        of those waits alone: a Poisson thinning of the day's requests.
        """
        rng = self._rng
        rand, expovariate = rng.random, rng.expovariate
        for age in ages:
            day = start_day - age
            # wait + weekend move - lag >= age, so the wait drawn is at least age - MAX_WEEKEND_MOVE days
            least = age - rhythm.MAX_WEEKEND_MOVE
            classes = [(c, c.weight * c.tail(least)) for c in self._wait_classes[rhythm.is_weekend(day)]]
            expected = daily_volume * rhythm.day_factor(day) * sum(w for _, w in classes)
            if expected <= 0:
                continue
            pick = picker(rng, classes)
            at = expovariate(expected)  # share of the day's requests arrived so far
            while at < 1.0:
                c = pick()
                wait = c.wait(least, rand())
                lag = min(wait, 1 + int(rand() * 3)) if rand() < _RECEIVED_LATER_SHARE else 0
                if rhythm.is_weekend(day - lag + wait) and rand() >= rhythm.WEEKEND_LIST_SHARE:
                    wait += rhythm.weekend_move(day - lag + wait, rand())
                if day - lag + wait >= start_day:
                    yield (
                        day,
                        day_ms(day) + int(rhythm.second_of_day(at) * 1000),
                        Plan(c.modality, c.code, c.setting, wait, lag),
                    )
                at += expovariate(expected)

    @staticmethod
    def test_of(plan: Plan, received_day: int) -> int:
        """A stream examination's test day."""
        return received_day - plan.lag + plan.wait

    def build(
        self, index: int, anchor_day: int, arrival_ms: int | None = None, now_day: int = 0, plan: Plan | None = None
    ) -> Examination:
        """A stream examination (``arrival_ms`` given: ``anchor_day`` is the day the request was
        received) or an extract one (``anchor_day`` is the test day and reports after ``now_day``
        are not issued yet). ``plan``: one drawn already with ``plan()``."""
        rng = self._rng
        rand = rng.random
        stream = arrival_ms is not None
        if plan is None:
            plan = self.plan(anchor_day, stream)
        modality, code, setting, wait, lag = plan
        provider = self._pick_provider()
        site = self._pick_site[provider.code]()
        if code is None:
            code = self._pick_code[modality.name]()
        send_mode = self._pick_send_mode() if code.snomed else "nicip"
        nicip, snomed = _codes(code, send_mode)
        if rand() < modality.report_same_day:
            delay = 0
        else:
            delay = self._lognormal(modality.report_median, modality.report_sigma, _MAX_REPORT_DAYS)
        reported = rand() >= modality.unreported
        if stream:
            received = anchor_day
            request = received - lag
            test = request + wait
        else:
            test = anchor_day
            request = test - wait
            received = request + lag
        report = test + delay if reported else None

        patient = self._population.patient(provider, code.cohort, request)
        referrer, org = self._population.referral(provider, setting, patient.practice)
        self._accession[provider.code] += 1
        accession = f"{provider.code}{self._accession[provider.code]:09d}"
        items: dict[str, str | None] = {
            "nhs_number": patient.nhs_number,
            "nhs_number_status_ind": patient.status,
            "person_birth_date": patient.birth_date,
            "ethnic_category": patient.ethnic,
            "person_gender_code": patient.gender,
            "postcode": patient.postcode,
            "practice_code": patient.practice,
            "patient_source_setting": setting,
            "referrer": referrer,
            "referring_org_code": org,
            "diagnostic_test_request_date": None,
            "diag_test_request_rec_date": None,
            "diagnostic_test_date": None,
            "imaging_code_nicip": nicip,
            "imaging_code_snomed": snomed,
            "service_report_date": None,
            "site_code_imaging": site.code,
            "radiological_accession_num": accession,
        }

        broken_rule = None
        overrides: dict[str, str | None] = {}
        if self._invalid_rate and rand() < self._invalid_rate:
            broken_rule = self._break_rules[int(rand() * len(self._break_rules))]
            spare = patient.nhs_number or self._population.next_nhs_number()
            home = provider.postcodes[0]
            draft = Draft(items, request, received, test, report, delay, patient.birth_day, spare, home)
            BREAKERS[broken_rule](draft, rng)
            request, received, test, report = draft.request_day, draft.received_day, draft.test_day, draft.report_day
            overrides = draft.overrides
        cancelled = stream and broken_rule is None and rand() < self._cancelled_rate
        corrected = not cancelled and rand() < self._corrected_rate
        if cancelled or (not stream and report is not None and report > now_day):
            report = None

        items["diagnostic_test_request_date"] = iso_date(request)
        items["diag_test_request_rec_date"] = iso_date(received)
        items["diagnostic_test_date"] = None if cancelled else iso_date(test)
        items["service_report_date"] = None if report is None else iso_date(report)
        items.update(overrides)

        before = self._before_correction(modality, code, send_mode, setting, broken_rule) if corrected else None
        timeline = ()
        if stream:
            timeline = self._timeline(anchor_day, arrival_ms, test, report, cancelled, corrected)
        return Examination(
            index, provider.code, site.code, accession, modality.name, items, broken_rule, cancelled, before, timeline
        )

    def _lognormal(self, median: float, sigma: float, cap: int) -> int:
        return min(cap, max(1, int(exp(log(median) + self._gauss(0.0, sigma)) + 0.5)))

    def _before_correction(
        self, modality: cat.Modality, code: cat.ImagingCode, send_mode: str, setting: str, broken_rule: str | None
    ) -> dict[str, str | None]:
        """What the RIS held before a correction: another procedure code of the same modality, or
        another source setting. Never the item a deliberate breakage lives in."""
        rng = self._rng
        fix_imaging = rng.random() < 0.6
        if broken_rule in IMAGING_RULES or code.restricted or len(modality.codes) == 1:
            fix_imaging = False
        elif broken_rule in SETTING_RULES:
            fix_imaging = True
        if fix_imaging:
            for _ in range(8):
                other = self._pick_code[modality.name]()
                if other.nicip != code.nicip:
                    nicip, snomed = _codes(other, send_mode)
                    return {"imaging_code_nicip": nicip, "imaging_code_snomed": snomed}
        others = [s for s, _ in modality.settings if s != setting]
        return {"patient_source_setting": others[rng.randrange(len(others))]}

    def _timeline(
        self, received: int, arrival_ms: int, test: int, report: int | None, cancelled: bool, corrected: bool
    ) -> tuple[tuple[str, int, int], ...]:
        """Event times: requested on arrival, performed on the test day, reported on the report day."""
        rng = self._rng
        performed_ms = self._later(arrival_ms, test, _PERFORMED_BY_S) if test == received else self._in_day(test)
        if cancelled:
            steps = [
                ("requested", arrival_ms),
                ("cancelled", self._cancelled_at(received, arrival_ms, test, performed_ms)),
            ]
        else:
            steps = [("requested", arrival_ms), ("performed", performed_ms)]
            if report is not None:
                if report == test:
                    steps.append(("reported", self._later(performed_ms, report, _REPORTED_BY_S)))
                else:
                    steps.append(("reported", self._in_day(report)))
            if corrected:
                steps.append(("corrected", steps[-1][1] + rng.randrange(3_600_000, 3 * MS_PER_DAY)))
        return tuple((kind, t, t + rng.randrange(200, 5000)) for kind, t in steps)

    def _cancelled_at(self, received: int, arrival_ms: int, test: int, performed_ms: int) -> int:
        """When a booking is cancelled: in opening hours on a day from its receipt to its test day."""
        if test == received:
            return arrival_ms + max(1, int((performed_ms - arrival_ms) * (0.1 + 0.8 * self._rng.random())))
        at = self._in_day(received + int(self._rng.random() * (test - received + 1)))
        return min(max(at, arrival_ms + 1), performed_ms - 1)

    def _in_day(self, day: int) -> int:
        """A time on ``day`` in opening hours, busier when requests are."""
        return day_ms(day) + int(rhythm.second_of_day(self._rng.random()) * 1000)

    def _later(self, t_ms: int, day: int, by_s: int) -> int:
        """A time later on the same day, before ``by_s`` seconds past midnight."""
        room = day_ms(day) + by_s * 1000 - t_ms
        return t_ms + max(1, int(room * (0.05 + 0.55 * self._rng.random())))


def _weekend_settings(modality: cat.Modality) -> list[tuple[str, float]]:
    """A modality's setting weights on a weekend day: acute work as every day, little planned work."""
    return [(s, w if s in cat.ACUTE_SETTINGS else w * rhythm.PLANNED_ON_WEEKENDS) for s, w in modality.settings]


def _codes(code: cat.ImagingCode, send_mode: str) -> tuple[str | None, str | None]:
    """(NICIP, SNOMED CT) as sent: SNOMED CT only where its pairing is known."""
    if code.snomed is None:
        return code.nicip, None
    if code.nicip is None or send_mode == "snomed":
        return None, code.snomed
    return code.nicip, code.snomed if send_mode == "both" else None
