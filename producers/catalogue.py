"""The tables the RIS simulator draws from: modalities, imaging codes, providers and sites, code mixes.

Shares, waits and codes follow DIDS-SPEC §8.3–8.6. Provider, site, practice and postcode values are
realistic-looking ODS-style codes chosen for the simulation, not an authoritative ODS or ONS extract;
tests and reference-data samples should take them from here (``PROVIDERS``) rather than retype them.
Weights are relative: each table is normalised where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

# Patient cohorts that constrain who can have an examination (see population.Population.patient).
ANY = "any"
FEMALE = "female"  # symptomatic breast imaging: women 25-90
OBSTETRIC = "obstetric"  # pregnancy ultrasound: women 16-45
FERTILITY = "fertility"  # restricted fertility procedures (SPEC §7.8): women 20-45


@dataclass(frozen=True, slots=True)
class ImagingCode:
    nicip: str | None
    snomed: str | None  # only where the spec gives the NICIP->SNOMED CT pairing
    weight: float
    cohort: str = ANY
    restricted: bool = False


@dataclass(frozen=True, slots=True)
class Modality:
    """One modality with its code mix, request sources and waits (SPEC §8.5, §8.6).

    Waits are in days. Planned work (settings 03, 04, 06, 07) is same-day with probability
    ``wait_same_day`` and otherwise lognormal around ``wait_median``; GP direct access waits
    ``gp_factor`` times longer. Settings 01, 02 and 05 are always same or next day, so the planned
    medians sit above the published all-referral medians (MRI ~21 days, ultrasound ~2 weeks).
    """

    name: str
    share: float
    codes: tuple[ImagingCode, ...]
    settings: tuple[tuple[str, float], ...]  # patient source setting -> weight
    wait_same_day: float
    wait_median: float
    wait_sigma: float
    gp_factor: float
    report_same_day: float
    report_median: float
    report_sigma: float
    unreported: float  # share never given a verified report


@dataclass(frozen=True, slots=True)
class Site:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Provider:
    code: str  # 3-character NHS trust code: the derived PROVIDER_CODE of its sites
    name: str
    sites: tuple[Site, ...]  # the first is the main site and takes most of the work
    volume: float  # relative activity
    postcodes: tuple[str, ...]  # local patients' postcodes
    practice_prefix: str  # letter + 2 digits; the local GP practices add 3 digits

    @property
    def practices(self) -> tuple[str, ...]:
        return tuple(f"{self.practice_prefix}{n:03d}" for n in _PRACTICE_NUMBERS)


def _c(nicip: str | None, weight: float, snomed: str | None = None, cohort: str = ANY) -> ImagingCode:
    return ImagingCode(nicip, snomed, weight, cohort)


ACUTE_SETTINGS = frozenset({"01", "02", "05"})  # same or next day (SPEC §8.6)

MODALITIES: tuple[Modality, ...] = (
    Modality(
        name="X-ray",
        share=0.54,
        codes=(
            _c("XCHES", 30),
            _c("XDLO", 6),
            _c("XKNEL", 5),
            _c("XKNER", 5),
            _c("XABDO", 4),
            _c("XFBD", 3),
            _c("XOPTBO", 3),
            _c("XFEML", 2),
            _c("XFEMR", 2),
            _c("XSKSU", 2),
            _c("XCOLT", 2),
            _c("XSKUH", 1),
            _c("XMAMB", 4, cohort=FEMALE),
            _c("XMUBRB", 0.3, "306641000000107", FEMALE),
        ),
        settings=(("01", 10), ("02", 1), ("03", 30), ("04", 30), ("05", 27), ("06", 1), ("07", 1)),
        wait_same_day=0.55,
        wait_median=6,
        wait_sigma=1.0,
        gp_factor=1.0,
        report_same_day=0.3,
        report_median=1.5,
        report_sigma=0.8,
        unreported=0.02,
    ),
    Modality(
        name="Ultrasound",
        share=0.215,
        codes=(
            _c("UABDO", 25),
            _c("UPELV", 15),
            _c("UUTR", 10),
            _c("UOFG", 10, cohort=OBSTETRIC),
            _c("UOBRT", 8, cohort=OBSTETRIC),
            _c("UOEPV", 6, cohort=OBSTETRIC),
            _c("ULLVB", 5, "312725000"),
            _c("ULLAB", 2),
            _c("UDCAB", 2),
            _c("UDRAID", 1),
            _c("UASPNN", 1),
        ),
        settings=(("01", 10), ("02", 2), ("03", 45), ("04", 35), ("05", 5), ("06", 2), ("07", 1)),
        wait_same_day=0.05,
        wait_median=18,
        wait_sigma=0.8,
        gp_factor=1.25,
        report_same_day=0.85,
        report_median=1,
        report_sigma=0.7,
        unreported=0.02,
    ),
    Modality(
        name="CT",
        share=0.125,
        codes=(
            _c("CSKUH", 30),
            _c("CABPEC", 14),
            _c("CCHAPC", 12),
            _c("CCHES", 8),
            _c("CABDOC", 5),
            _c("CSKUHC", 3),
            _c("CABDO", 3),
            _c("CNECKC", 3),
            _c("CSKWC", 2),
            _c("CHRC", 2),
            _c("CART", 2),
            _c("CORBB", 1),
            _c("CABDOB", 0.7, "419940006"),
            _c("CSHRB", 0.5, "303686006"),
            _c("CASCR", 0.3),
            _c("CMSPWT", 0.2, "1833431000000104"),
            _c("CCKILA", 0.1, "752621000000107"),
        ),
        settings=(("01", 25), ("02", 2), ("03", 35), ("04", 8), ("05", 28), ("06", 1), ("07", 1)),
        wait_same_day=0.05,
        wait_median=10,
        wait_sigma=0.8,
        gp_factor=1.4,
        report_same_day=0.6,
        report_median=2,
        report_sigma=0.8,
        unreported=0.01,
    ),
    Modality(
        name="MRI",
        share=0.075,
        codes=(
            _c("MSPNW", 26),
            _c("MSKUH", 22),
            _c("MIAMBC", 3),
            _c("MSHRL", 8),
            _c("MHANBC", 4, "432000006"),
            _c("MWRIRC", 4, "3191000087100"),
            _c("MLIVEC", 5),
            _c("MORBB", 2),
            _c("MDYHNC", 2),
        ),
        settings=(("01", 8), ("02", 1), ("03", 63), ("04", 16), ("05", 8), ("06", 3), ("07", 1)),
        wait_same_day=0.02,
        wait_median=25,
        wait_sigma=0.7,
        gp_factor=1.2,
        report_same_day=0.2,
        report_median=3,
        report_sigma=0.8,
        unreported=0.01,
    ),
    Modality(
        name="Fluoroscopy",
        share=0.03,
        codes=(
            _c("FTHRC", 30),
            _c("FHIPB", 10),
            _c("FPHIBM", 10),
            _c("FLOLR", 8),
            _c("IJLFRJ", 5, "1095541000000101"),
            _c("IURARS", 3),
        ),
        settings=(("01", 30), ("02", 25), ("03", 40), ("04", 2), ("05", 1), ("06", 1), ("07", 1)),
        wait_same_day=0.5,
        wait_median=10,
        wait_sigma=0.8,
        gp_factor=1.2,
        report_same_day=0.8,
        report_median=1,
        report_sigma=0.7,
        unreported=0.05,
    ),
    Modality(
        name="Nuclear medicine",
        share=0.013,
        codes=(_c("NBONW", 30), _c("NMREN", 25), _c("NPTHY", 15), _c("NWIND", 10), _c("NCOLO", 8), _c("NSCHI2", 1)),
        settings=(("01", 10), ("02", 5), ("03", 78), ("04", 2), ("06", 4), ("07", 1)),
        wait_same_day=0.0,
        wait_median=17,
        wait_sigma=0.6,
        gp_factor=1.2,
        report_same_day=0.3,
        report_median=2,
        report_sigma=0.8,
        unreported=0.02,
    ),
    Modality(
        name="Medical photography",
        share=0.002,
        codes=(_c("ODENP", 1, "1237138006"),),
        settings=(("01", 5), ("02", 5), ("03", 80), ("06", 5), ("07", 5)),
        wait_same_day=0.8,
        wait_median=3,
        wait_sigma=0.8,
        gp_factor=1.0,
        report_same_day=0.9,
        report_median=1,
        report_sigma=0.5,
        unreported=0.6,
    ),
)

# Restricted fertility-related procedures (SPEC §7.8): drawn only when the config asks for them.
# The SPEC gives no NICIP pairing for the last two SNOMED concepts: they are sent SNOMED-only and the
# modality is an assumption.
RESTRICTED: tuple[tuple[str, ImagingCode], ...] = (
    ("Ultrasound", ImagingCode("UFOTA", "252939009", 1, FERTILITY, True)),
    ("Ultrasound", ImagingCode("UHYCO", "241489004", 1, FERTILITY, True)),
    ("Ultrasound", ImagingCode("UHYSTC", None, 1, FERTILITY, True)),
    ("Fluoroscopy", ImagingCode("FHYSG", None, 1, FERTILITY, True)),
    ("Ultrasound", ImagingCode(None, "168884001", 1, FERTILITY, True)),
    ("Ultrasound", ImagingCode(None, "432787004", 1, FERTILITY, True)),
)

# How a code with a known SNOMED CT concept is sent: NICIP only, both, SNOMED CT only.
CODE_SEND_MODES: tuple[tuple[str, float], ...] = (("nicip", 0.6), ("both", 0.3), ("snomed", 0.1))

_PRACTICE_NUMBERS = (1, 4, 9, 12, 17, 23, 30, 41, 56, 68)


def _p(code: str, name: str, sites: tuple[tuple[str, str], ...], volume: float, postcodes: str, prefix: str):
    return Provider(code, name, tuple(Site(c, n) for c, n in sites), volume, tuple(postcodes.split(",")), prefix)


PROVIDERS: tuple[Provider, ...] = (
    _p("RR8", "Leeds Teaching Hospitals NHS Trust",
       (("RR801", "Leeds General Infirmary"), ("RR813", "St James's University Hospital"),
        ("RR807", "Chapel Allerton Hospital")), 2.0, "LS1 3EX,LS9 7TF,LS7 4SA,LS6 2QB,LS11 5DT", "B86"),
    _p("RJ1", "Guy's and St Thomas' NHS Foundation Trust",
       (("RJ121", "St Thomas' Hospital"), ("RJ122", "Guy's Hospital")), 2.0,
       "SE1 7EH,SE1 9RT,SE11 4TX,SE17 1RY,SE5 8AF", "G85"),
    _p("RGT", "Cambridge University Hospitals NHS Foundation Trust",
       (("RGT01", "Addenbrooke's Hospital"),), 1.5, "CB2 0QQ,CB1 3NP,CB4 1DF,CB24 6AZ", "D81"),
    _p("RTH", "Oxford University Hospitals NHS Foundation Trust",
       (("RTH08", "John Radcliffe Hospital"), ("RTH02", "Churchill Hospital"),
        ("RTH03", "Nuffield Orthopaedic Centre")), 1.6, "OX3 9DU,OX4 1XE,OX2 6HT,OX14 3JD", "K84"),
    _p("RM1", "Norfolk and Norwich University Hospitals NHS Foundation Trust",
       (("RM102", "Norfolk and Norwich University Hospital"), ("RM104", "Cromer Hospital")), 1.2,
       "NR4 7UY,NR2 4PD,NR27 0BQ,NR18 0WF", "D82"),
    _p("RTD", "The Newcastle upon Tyne Hospitals NHS Foundation Trust",
       (("RTD01", "Royal Victoria Infirmary"), ("RTD02", "Freeman Hospital")), 1.5,
       "NE1 4LP,NE7 7DN,NE4 6BE,NE3 1AB", "A86"),
    _p("RHQ", "Sheffield Teaching Hospitals NHS Foundation Trust",
       (("RHQNG", "Northern General Hospital"), ("RHQHH", "Royal Hallamshire Hospital")), 1.5,
       "S5 7AU,S10 2JF,S11 8YA,S8 0ZD", "C88"),
    _p("RRK", "University Hospitals Birmingham NHS Foundation Trust",
       (("RRK15", "Queen Elizabeth Hospital Birmingham"), ("RRK97", "Heartlands Hospital"),
        ("RRK98", "Good Hope Hospital")), 2.2, "B15 2GW,B9 5SS,B75 7RR,B13 8JL", "M85"),
    _p("RX1", "Nottingham University Hospitals NHS Trust",
       (("RX1RA", "Queen's Medical Centre"), ("RX1CC", "Nottingham City Hospital")), 1.5,
       "NG7 2UH,NG5 1PB,NG3 6AA,NG9 1AB", "C84"),
    _p("RA7", "University Hospitals Bristol and Weston NHS Foundation Trust",
       (("RA701", "Bristol Royal Infirmary"), ("RA773", "Weston General Hospital")), 1.2,
       "BS2 8HW,BS23 4TQ,BS6 5AA,BS3 1QQ", "L81"),
    _p("RWE", "University Hospitals of Leicester NHS Trust",
       (("RWEAA", "Leicester Royal Infirmary"), ("RWEAE", "Glenfield Hospital"),
        ("RWEAK", "Leicester General Hospital")), 1.6, "LE1 5WW,LE3 9QP,LE5 4PW,LE2 1DA", "C82"),
    _p("RK9", "University Hospitals Plymouth NHS Trust",
       (("RK950", "Derriford Hospital"),), 1.0, "PL6 8DH,PL4 7PY,PL1 2AA,PL21 9EU", "L83"),
    _p("RHM", "University Hospital Southampton NHS Foundation Trust",
       (("RHM01", "Southampton General Hospital"), ("RHM02", "Princess Anne Hospital")), 1.3,
       "SO16 6YD,SO15 2JY,SO17 1BJ,SO50 9NP", "J82"),
    _p("RRV", "University College London Hospitals NHS Foundation Trust",
       (("RRV03", "University College Hospital"),), 1.1, "NW1 2BU,WC1E 6DB,NW1 2PG,N7 6PA", "F83"),
    _p("RWA", "Hull University Teaching Hospitals NHS Trust",
       (("RWA01", "Hull Royal Infirmary"), ("RWA16", "Castle Hill Hospital")), 1.1,
       "HU3 2JZ,HU16 5JQ,HU5 3RX,HU9 1AB", "B81"),
    _p("RCB", "York and Scarborough Teaching Hospitals NHS Foundation Trust",
       (("RCBL8", "York Hospital"), ("RCBCA", "Scarborough Hospital")), 1.0,
       "YO31 8HE,YO12 6QL,YO10 5DD,YO24 1AB", "B82"),
)  # fmt: skip

MAIN_SITE_SHARE = 0.7  # the rest is split evenly across a provider's other sites
# providers whose RIS sends the test's time (HL7 OBR-7 with a time, or a DIDS v2 start timestamp); the
# others send the date only, as many still do, so equipment utilisation shows both kinds (about two
# thirds of the five demo trusts' tests carry a time)
TIMED_PROVIDERS = frozenset({"RR8", "RJ1", "RGT"})
PSEUDO_POSTCODE = "ZZ99 3VZ"  # no fixed abode / not known (SPEC §2.1 item 6)

# Patient code mixes (England-like; assumptions). None = item left blank.
ETHNIC_CATEGORIES: tuple[tuple[str | None, float], ...] = (
    ("A", 70), ("B", 1), ("C", 5), ("D", 0.6), ("E", 0.4), ("F", 0.6), ("G", 0.6), ("H", 2.5), ("J", 2),
    ("K", 1), ("L", 1.5), ("M", 1), ("N", 2), ("P", 0.5), ("R", 0.6), ("S", 1.5), ("Z", 5), ("99", 4),
    (None, 1),
)  # fmt: skip
GENDERS: tuple[tuple[str | None, float], ...] = (("1", 46), ("2", 52.5), ("0", 0.8), ("9", 0.2), (None, 0.5))
NHS_STATUS_TRACED: tuple[tuple[str | None, float], ...] = (
    ("01", 96), ("02", 2.5), ("05", 0.5), ("06", 0.3), (None, 0.7),
)  # fmt: skip
NHS_STATUS_NO_NUMBER: tuple[tuple[str | None, float], ...] = (("03", 30), ("04", 30), ("07", 35), (None, 5))
NO_NHS_NUMBER_SHARE = 0.01
# Age in whole years: (low, high, weight); skewed old like imaging activity.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 4, 3), (5, 15, 5), (16, 39, 17), (40, 59, 25), (60, 74, 25), (75, 89, 20), (90, 102, 5),
)  # fmt: skip
COHORT_AGES = {FEMALE: (25, 90), OBSTETRIC: (16, 45), FERTILITY: (20, 45)}
GP_PRACTICE_DEFAULTS: tuple[tuple[str | None, float], ...] = (("V81999", 2), ("V81997", 1), (None, 1))

# Referrer defaults (SPEC §2.2.4) by who typically refers from each setting.
GP_REFERRER_DEFAULTS = ("G9999998",)
CONSULTANT_REFERRER_DEFAULTS = ("C9999998",)
OTHER_REFERRER_DEFAULTS = ("X9999998", "R9999981", "H9999998", "N9999998")
REFERRING_ORG_DEFAULTS = ("X99998", "X99999")
