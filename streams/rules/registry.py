"""Every national v1 rule code (DIDS001-DIDS082) with its severity, needs and function.

One explicit table, ``_TABLE``; ``RULES`` is built from it and a duplicate, malformed or non-existent
code fails at import. Codes are data: functions are named for what they check.

Three codes are registered without a record function: DIDS071 runs over a whole submission
(``accession.find_duplicates``, applied by ``engine.validate_submission``) and DIDS075/076 belong to the
CSV and XML file readers. They are here so that severities and the list of codes live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from dids.kernel.errors import DidsError
from streams.cleanse import CleansedRecord
from streams.rules import (
    accession,
    dates,
    demographics,
    imaging_codes,
    nhs_number,
    organisations,
    referral,
    site,
    submission,
)
from streams.rules.common import RecordCheck
from streams.rules.context import Context
from streams.rules.results import Fail, Finding, Need, NotChecked, Pass, Result, Severity, Unavailable

# Numbers in DIDS001-DIDS082 that do not exist in the national rule set: never emitted.
NONEXISTENT_CODES = frozenset(
    f"DIDS{n:03d}"
    for n in (4, 7, 11, 13, 15, 19, 22, 25, 29, 30, 32, 33, 37, 39, 42, 46, 47, 52, 53, 54, 58, 60, 63, 64, 65)
)
# the 57 codes of the national v1 rule set
NATIONAL_CODES = frozenset(f"DIDS{n:03d}" for n in range(1, 83)) - NONEXISTENT_CODES


class RegistryError(DidsError):
    """The rule table is inconsistent: duplicate, malformed or non-existent code, or a missing function."""


@dataclass(frozen=True)
class Rule:
    """One national rule: its code, severity, what it needs, and the function that checks one record.

    ``precheck`` is the part of the rule that still runs when a need is missing (DIDS059's syntax check).
    """

    code: str
    severity: Severity
    needs: frozenset[Need]
    check: RecordCheck | None
    precheck: RecordCheck | None = None

    @property
    def is_record_rule(self) -> bool:
        return self.check is not None

    def evaluate(self, record: CleansedRecord, context: Context) -> Result:
        """Run the rule on one record: Pass, Fail, or NotChecked("missing <table>") - never a silent pass.

        When a need is missing the rule is not checked even if this record would give it nothing to look
        up (a blank postcode for DIDS016): DIDS-RULES §1.4 says such a rule never passes. Only a
        ``precheck`` finding (DIDS059's malformed id) still fails.
        """
        check = self.check
        if check is None:
            raise RegistryError(f"{self.code} is not a record rule")
        if self.needs:  # most rules need nothing but the record: skip the context's bookkeeping for them
            missing = context.missing(self.needs)
            if missing:
                early = None if self.precheck is None else self.precheck(record, context)
                if isinstance(early, Finding):
                    return self._result(early)
                return NotChecked(self.code, "missing " + ", ".join(need.value for need in missing))
        answer = check(record, context)
        return self._passed if answer is None else self._result(answer)

    @cached_property
    def _passed(self) -> Pass:
        # results are frozen values: one Pass per rule serves every record
        return Pass(self.code)

    def _result(self, answer: Finding | Unavailable | None) -> Result:
        if answer is None:
            return self._passed
        if isinstance(answer, Unavailable):
            return NotChecked(self.code, answer.reason)
        return Fail(self.code, self.severity, answer.fields, answer.derived)


_R, _W, _F = Severity.REJECT_RECORD, Severity.WARNING, Severity.REJECT_FILE
_NONE: frozenset[Need] = frozenset()
_SUB = frozenset({Need.SUBMISSION_TIME})
_ODS = frozenset({Need.ODS})
_ONS = frozenset({Need.POSTCODES})
_NICIP = frozenset({Need.NICIP})
_SNOMED = frozenset({Need.SNOMED})
_CODES = frozenset({Need.NICIP, Need.SNOMED})  # DIDS082: the NICIP->SNOMED map travels in the NICIP table
_BATCH = frozenset({Need.WHOLE_SUBMISSION})
_FILE = frozenset({Need.FILE})

_TABLE: tuple[tuple[str, RecordCheck | None, Severity, frozenset[Need]], ...] = (
    # NHS number and status (§2.1-2.2)
    ("DIDS001", nhs_number.check_nhs_number_valid, _R, _NONE),
    ("DIDS002", nhs_number.check_nhs_number_length, _R, _NONE),
    ("DIDS003", nhs_number.check_nhs_number_status, _R, _NONE),
    # birth date, ethnicity, gender, postcode, demographics (§2.3-2.6, 2.18)
    ("DIDS005", demographics.check_birth_date_format, _R, _NONE),
    ("DIDS006", demographics.check_birth_date_before_test, _R, _NONE),
    ("DIDS008", demographics.check_birth_date_before_report, _R, _NONE),
    ("DIDS009", demographics.check_birth_date_after_1900, _R, _NONE),
    ("DIDS010", demographics.check_birth_not_long_after_request, _R, _NONE),
    ("DIDS012", demographics.check_ethnic_category, _R, _NONE),
    ("DIDS014", demographics.check_person_gender, _R, _NONE),
    ("DIDS016", demographics.check_postcode_known, _R, _ONS),
    ("DIDS017", demographics.check_postcode_format, _R, _NONE),
    ("DIDS073", demographics.check_some_demographic, _R, _NONE),
    ("DIDS074", demographics.check_not_only_pseudo_postcode, _R, _NONE),
    # GP practice and referring organisation (§2.7, 2.10)
    ("DIDS018", organisations.check_gp_practice_known, _R, _ODS),
    ("DIDS080", organisations.check_gp_practice_live, _W, _ODS),
    ("DIDS024", organisations.check_referring_org_known, _R, _ODS),
    ("DIDS079", organisations.check_referring_org_live, _W, _ODS),
    # patient source setting and referrer (§2.8-2.9)
    ("DIDS020", referral.check_source_setting_present, _R, _NONE),
    ("DIDS021", referral.check_source_setting_code, _R, _NONE),
    ("DIDS023", referral.check_referrer_code, _W, _NONE),
    # request date (§2.11)
    ("DIDS026", dates.check_request_date_format, _R, _NONE),
    ("DIDS027", dates.check_request_before_received, _R, _NONE),
    ("DIDS028", dates.check_test_within_year_of_request, _W, _NONE),
    ("DIDS031", dates.check_request_not_before_1970, _R, _NONE),
    ("DIDS034", dates.check_request_before_test, _R, _NONE),
    ("DIDS035", dates.check_request_before_report, _R, _NONE),
    # request received date (§2.12)
    ("DIDS036", dates.check_received_date_format, _R, _NONE),
    ("DIDS038", dates.check_test_within_year_of_received, _W, _NONE),
    ("DIDS040", dates.check_birth_not_long_after_received, _R, _NONE),
    ("DIDS041", dates.check_received_not_before_1970, _R, _NONE),
    ("DIDS043", dates.check_received_before_test, _R, _NONE),
    ("DIDS044", dates.check_received_before_report, _R, _NONE),
    # test date (§2.13)
    ("DIDS045", dates.check_test_date_format, _R, _NONE),
    ("DIDS050", dates.check_test_date_present, _R, _NONE),
    ("DIDS049", submission.check_test_not_late, _W, _SUB),
    ("DIDS051", submission.check_test_not_after_submission, _R, _SUB),
    ("DIDS055", submission.check_test_not_too_old, _R, _SUB),
    # service report issue date (§2.14)
    ("DIDS048", dates.check_report_not_before_test, _R, _NONE),
    ("DIDS061", dates.check_report_date_format, _R, _NONE),
    ("DIDS062", dates.check_report_within_month_of_test, _W, _NONE),
    ("DIDS066", submission.check_report_not_after_submission, _R, _SUB),
    # imaging codes (§2.15)
    ("DIDS056", imaging_codes.check_some_imaging_code, _R, _NONE),
    ("DIDS057", imaging_codes.check_nicip_code, _R, _NICIP),
    ("DIDS059", imaging_codes.check_snomed_code, _R, _SNOMED),
    ("DIDS077", imaging_codes.check_nicip_code_active, _W, _NICIP),
    ("DIDS078", imaging_codes.check_snomed_code_active, _W, _SNOMED),
    ("DIDS082", imaging_codes.check_nicip_maps_to_snomed, _R, _CODES),
    # site of imaging (§2.16)
    ("DIDS067", site.check_site_present, _R, _NONE),
    ("DIDS068", site.check_site_known, _R, _ODS),
    ("DIDS069", site.check_site_format, _R, _NONE),
    ("DIDS081", site.check_site_open, _W, _ODS),
    # accession number and uniqueness (§2.17, §3)
    ("DIDS070", accession.check_accession_present, _R, _NONE),
    ("DIDS071", None, _R, _BATCH),
    ("DIDS072", accession.check_accession_length, _R, _NONE),
    # file level (§2.19)
    ("DIDS075", None, _F, _FILE),
    ("DIDS076", None, _F, _FILE),
)

# the parts of a rule that run even when its reference table is missing
_PRECHECKS: Mapping[str, RecordCheck] = MappingProxyType({"DIDS059": imaging_codes.check_snomed_syntax})


def _build(table, prechecks) -> Mapping[str, Rule]:
    rules: dict[str, Rule] = {}
    for code, check, severity, needs in table:
        if code not in NATIONAL_CODES:
            raise RegistryError(f"{code!r} is not a national DIDS v1 rule code")
        if code in rules:
            raise RegistryError(f"{code} is registered twice")
        if (check is None) != bool(needs & {Need.WHOLE_SUBMISSION, Need.FILE}):
            raise RegistryError(f"{code}: only whole-submission and file rules go without a record function")
        rules[code] = Rule(code, severity, needs, check, prechecks.get(code))
    absent = NATIONAL_CODES - set(rules)
    if absent:
        raise RegistryError(f"national codes not registered: {sorted(absent)}")
    unknown = set(prechecks) - set(rules)
    if unknown:
        raise RegistryError(f"prechecks for unregistered codes: {sorted(unknown)}")
    return MappingProxyType(dict(sorted(rules.items())))


RULES: Mapping[str, Rule] = _build(_TABLE, _PRECHECKS)
RECORD_RULES: tuple[Rule, ...] = tuple(rule for rule in RULES.values() if rule.is_record_rule)


def severity_of(code: str) -> Severity:
    """The national severity of a registered code (KeyError for anything else)."""
    return RULES[code].severity
