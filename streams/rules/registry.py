"""Every national v1 rule code (DIDS001-DIDS082) with its severity, needs and wording.

One explicit table, ``_TABLE``; ``RULES`` is built from it and a duplicate, malformed or non-existent
code fails at import. Each record rule's check is a column expression in ``streams.columnar.checks``,
which refuses at import a code this table lacks or a record rule it has no check for.

Three codes are not record rules: DIDS071 runs over a whole submission (``dids validate`` and ``dids
submit`` work it out over the file) and DIDS075/076 belong to the CSV and XML file readers. They are
here so that severities and the list of codes live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dids.kernel.errors import DidsError
from streams.rules.results import Need, Severity

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
    """One national rule: its code, severity, what it needs and its national wording in short.

    Its check over a batch is ``streams.columnar.checks.CHECKS[code]`` (one per record rule, checked
    against this table at import). A rule whose needs are missing is *not checked*, never passed
    (DIDS-RULES §1.4); DIDS059's syntax part still runs without the SNOMED table (its precheck).
    """

    code: str
    severity: Severity
    needs: frozenset[Need]
    description: str

    @property
    def is_record_rule(self) -> bool:
        """Judged per record (DIDS071 needs the whole submission, DIDS075/076 the file's structure)."""
        return not self.needs & {Need.WHOLE_SUBMISSION, Need.FILE}


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

_TABLE: tuple[tuple[str, Severity, frozenset[Need], str], ...] = (
    # NHS number and status (§2.1-2.2)
    ("DIDS001", _R, _NONE, "NHS number present and not valid (10 digits, modulus 11, not on the published list)."),
    ("DIDS002", _R, _NONE, "NHS number present and its length not exactly 10 characters (characters not checked)."),
    ("DIDS003", _R, _NONE, "status indicator present and not exactly one of 01-08 (1 without the zero fails)."),
    # birth date, ethnicity, gender, postcode, demographics (§2.3-2.6, 2.18)
    ("DIDS005", _R, _NONE, "birth date present and not a valid CCYY-MM-DD date (§1.3; day 00 is invalid)."),
    ("DIDS006", _R, _NONE, "birth date after the test date. Pair rule: equal dates pass; blank or invalid skips."),
    ("DIDS008", _R, _NONE, "birth date after the report issue date. Pair rule: equal dates pass."),
    ("DIDS009", _R, _NONE, "birth date valid and on or before 1900-01-01 (1900-01-02 is the earliest accepted)."),
    ("DIDS010", _R, _NONE, "birth month more than 6 calendar months after the request month (days ignored)."),
    ("DIDS012", _R, _NONE, "ethnic category present and not A-H, J-N, P, R, S, Z or 99 (case-sensitive)."),
    ("DIDS014", _R, _NONE, "gender present and not 0, 1, 2 or 9."),
    ("DIDS016", _R, _ONS, "postcode present, not a ZZ99 pseudo-postcode, and not in the ONS Postcode Directory."),
    ("DIDS017", _R, _NONE, "postcode present and not matching the §7.1 pattern (LS12AB without a space fails)."),
    ("DIDS073", _R, _NONE, "all six demographic items blank (NHS number, birth, ethnicity, gender, postcode, GP)."),
    ("DIDS074", _R, _NONE, "the only demographic given is a ZZ99 pseudo-postcode (either case)."),
    # GP practice and referring organisation (§2.7, 2.10)
    ("DIDS018", _R, _ODS, "GP practice present, not a default, and never in ODS as RO76 or RO177 (any time)."),
    ("DIDS080", _W, _ODS, "GP practice has held RO76/RO177 but held neither on the test date."),
    ("DIDS024", _R, _ODS, "referring organisation present, not a default, and never in ODS with a referring role."),
    ("DIDS079", _W, _ODS, "referring organisation has held a referring role, but none on the check date."),
    # patient source setting and referrer (§2.8-2.9)
    ("DIDS020", _R, _NONE, "patient source setting blank (mandatory item)."),
    ("DIDS021", _R, _NONE, 'source setting present and not exactly 01-07 (no "not known" code; 1 fails).'),
    ("DIDS023", _W, _NONE, "referrer present and matching no §7.3 pattern; case is ignored."),
    # request date (§2.11)
    ("DIDS026", _R, _NONE, "request date present and not a valid date."),
    ("DIDS027", _R, _NONE, "request date after the request received date (pair rule)."),
    ("DIDS028", _W, _NONE, "test more than 365 days after the request; exactly 365 days passes."),
    ("DIDS031", _R, _NONE, "request date valid and before 1970-01-01 (1970-01-01 itself passes)."),
    ("DIDS034", _R, _NONE, "request date after the test date (pair rule; same day passes)."),
    ("DIDS035", _R, _NONE, "report issue date before the request date (pair rule)."),
    # request received date (§2.12)
    ("DIDS036", _R, _NONE, "request received date present and not a valid date."),
    ("DIDS038", _W, _NONE, "test more than 365 days after the request was received (365 passes)."),
    ("DIDS040", _R, _NONE, "request received more than 6 calendar months before the birth month (as DIDS010)."),
    ("DIDS041", _R, _NONE, "request received date valid and before 1970-01-01."),
    ("DIDS043", _R, _NONE, "request received date after the test date (pair rule)."),
    ("DIDS044", _R, _NONE, "request received date after the report issue date (pair rule)."),
    # test date (§2.13)
    ("DIDS045", _R, _NONE, "test date present and not a valid date."),
    ("DIDS050", _R, _NONE, "test date blank (mandatory item)."),
    ("DIDS049", _W, _SUB, "test date more than 3 months before the start of SM, and not DIDS055."),
    ("DIDS051", _R, _SUB, "test date after the calendar date of S (UTC); a test on the submission day passes."),
    ("DIDS055", _R, _SUB, "test date more than 6 months before the start of the submission month (reject)."),
    # service report issue date (§2.14)
    ("DIDS048", _R, _NONE, "report issue date before the test date (pair rule; same day passes)."),
    ("DIDS061", _R, _NONE, "report issue date present and not a valid date."),
    ("DIDS062", _W, _NONE, "report issue date later than test date + 1 calendar month (strict)."),
    ("DIDS066", _R, _SUB, "report issue date after the calendar date of S (UTC); the same day passes."),
    # imaging codes (§2.15)
    ("DIDS056", _R, _NONE, "NICIP and SNOMED CT codes both blank (at least one is needed)."),
    ("DIDS057", _R, _NICIP, "NICIP present, test date valid, and the code unknown or T outside its grace window."),
    ("DIDS059", _R, _SNOMED, "SNOMED CT malformed, or (valid test date) unknown or outside its grace window."),
    ("DIDS077", _W, _NICIP, "NICIP code found, not active on the test date, but inside the grace window."),
    ("DIDS078", _W, _SNOMED, "SNOMED CT code found, not active on the test date, but inside the grace window."),
    ("DIDS082", _R, _CODES, "both codes strictly active on the test date, and the NICIP code maps to another concept."),
    # site of imaging (§2.16)
    ("DIDS067", _R, _NONE, "site code blank (mandatory item)."),
    ("DIDS068", _R, _ODS, "site code present, well formed (else only DIDS069), not a default, and never in ODS."),
    ("DIDS069", _R, _NONE, "site code present and not 5-12 ASCII letters and digits."),
    ("DIDS081", _W, _ODS, "site found in ODS but not open on the test date (open <= T <= close)."),
    # accession number and uniqueness (§2.17, §3)
    ("DIDS070", _R, _NONE, "accession number blank (mandatory item)."),
    ("DIDS071", _R, _BATCH, "site code and accession number repeated in the file (the whole submission)."),
    ("DIDS072", _R, _NONE, "accession number longer than 20 characters."),
    # file level (§2.19)
    ("DIDS075", _F, _FILE, "the CSV file is malformed (column count, quoting, encoding): the file is rejected."),
    ("DIDS076", _F, _FILE, "the XML file is malformed or does not match the DIDS schema: the file is rejected."),
)


def _build(table) -> Mapping[str, Rule]:
    rules: dict[str, Rule] = {}
    for code, severity, needs, description in table:
        if code not in NATIONAL_CODES:
            raise RegistryError(f"{code!r} is not a national DIDS v1 rule code")
        if code in rules:
            raise RegistryError(f"{code} is registered twice")
        if not description:
            raise RegistryError(f"{code} has no description")
        rules[code] = Rule(code, severity, needs, description)
    absent = NATIONAL_CODES - set(rules)
    if absent:
        raise RegistryError(f"national codes not registered: {sorted(absent)}")
    return MappingProxyType(dict(sorted(rules.items())))


RULES: Mapping[str, Rule] = _build(_TABLE)
RECORD_RULES: tuple[Rule, ...] = tuple(rule for rule in RULES.values() if rule.is_record_rule)


def severity_of(code: str) -> Severity:
    """The national severity of a registered code (KeyError for anything else)."""
    return RULES[code].severity
