"""Stream a DIDS-v1-0 XML extract (DIDS-SPEC §2.3): one record per ``ImagingActivity``.

Layout: root ``DIDS`` in namespace ``NAMESPACE``, repeating ``DIDSRecord``s, each with at most one
``PersonalAndDemographics`` and one ``Referrals`` block and **one or more** ``ImagingActivity``. Every
activity becomes one record carrying copies of its ``DIDSRecord``'s patient and referral values. Values
come from the attribute or text named in ``PATIENT``, ``REFERRAL`` and ``ACTIVITY``; an empty element,
an empty attribute or an absent element is missing (None). Text is passed on exactly as written
(``streams.columnar.cleansing`` trims).

**Structure check instead of the schema (assumption).** The DIDS XSD is not shipped, so the reader
checks the structure the spec gives and rejects the file (``FileRejectError("DIDS076", line, ...)``)
for: malformed XML, another root or namespace, an unknown element where the layout has none, an element
repeated where one is allowed, a ``DIDSRecord`` without ``ImagingActivity``, text outside value
elements, or a value over ``MAX_VALUE_CHARS``. Child elements may be in the DIDS namespace or in none
(the schema's ``elementFormDefault`` is not known). Element order inside a block is not checked, and
neither are value formats: the record rules report those, per record. Unknown attributes are ignored.

**Safe parsing.** The stdlib expat parser is driven directly (it is what ``ElementTree.iterparse`` uses,
and it gives line numbers and handler hooks): a DOCTYPE, and with it every entity declaration,
is refused, external entities and parameter entities are never loaded, so entity-expansion ("billion
laughs") and external-entity attacks cannot run. lxml and defusedxml are not dependencies.

**Streaming.** The file is fed to expat in ``CHUNK_BYTES`` chunks; records are released when their
``DIDSRecord`` closes (the blocks may come in any order), so memory is bounded by the largest
``DIDSRecord``, not the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO
from xml.parsers import expat

from dids.kernel.items import ITEM_NAMES
from producers.extract.csv_reader import PROGRESS_EVERY_BYTES, Progress, Row
from producers.extract.errors import FileRejectError

NAMESPACE = "http://www.datadictionary.nhs.uk/data_dictionary/messages/DIDS-v1-0/"
XML_REJECT = "DIDS076"
CHUNK_BYTES = 1 << 16
MAX_VALUE_CHARS = 4096  # far beyond any item (max an20); keeps a hostile text node from growing unbounded

# element -> (item, attribute holding the value, or None for the element's text)
PATIENT = MappingProxyType(
    {
        "NHSNumber": ("nhs_number", "extension"),
        "NHSNumberStatus": ("nhs_number_status_ind", "code"),
        "PersonBirthDate": ("person_birth_date", None),
        "EthnicCategory": ("ethnic_category", "code"),
        "PersonGenderCode": ("person_gender_code", "code"),
        "GPCodeRegistration": ("practice_code", "extension"),
    }
)
ADDRESS = "Address"  # PersonalAndDemographics/Address/postalCode (text) -> postcode
POSTAL_CODE = "postalCode"
REFERRAL = MappingProxyType(
    {
        "PatientSourceSetting": ("patient_source_setting", "code"),
        "ReferrerCode": ("referrer", "extension"),
        "ReferringOrgCode": ("referring_org_code", "extension"),
        "DiagnosticTestReqDate": ("diagnostic_test_request_date", None),
        "DiagnosticTestReqRecDate": ("diag_test_request_rec_date", None),
    }
)
ACTIVITY = MappingProxyType(
    {
        "ImagingCodeNICIP": ("imaging_code_nicip", "code"),
        "ImagingCodeSNOMEDCT": ("imaging_code_snomed", "code"),
        "DiagnosticTestDate": ("diagnostic_test_date", None),
        "ServiceReportIssueDate": ("service_report_date", None),
        "ImagingSiteCode": ("site_code_imaging", "extension"),
        "RadiologicalAccessionNumber": ("radiological_accession_num", "extension"),
    }
)
BLOCKS = MappingProxyType({"PersonalAndDemographics": PATIENT, "Referrals": REFERRAL, "ImagingActivity": ACTIVITY})
_SEPARATOR = "}"


def read_xml(path: str | Path, *, on_progress: Progress | None = None) -> Iterator[Row]:
    """Yield ``(row_number, raw)`` for every ``ImagingActivity`` of the XML file at ``path``, in file order."""
    total = Path(path).stat().st_size
    with open(path, "rb") as stream:
        yield from iter_xml(stream, total=total, on_progress=on_progress)


def iter_xml(stream: BinaryIO, *, total: int = 0, on_progress: Progress | None = None) -> Iterator[Row]:
    """``read_xml`` over an open binary stream."""
    parser = expat.ParserCreate(namespace_separator=_SEPARATOR)
    handler = _Handler(parser)
    row_number = done = reported = 0
    while True:
        chunk = stream.read(CHUNK_BYTES)
        done += len(chunk)
        try:
            parser.Parse(chunk, not chunk)
        except expat.ExpatError as exc:
            raise FileRejectError(XML_REJECT, exc.lineno, f"malformed XML: {expat.ErrorString(exc.code)}") from None
        for record in handler.ready:
            row_number += 1
            yield row_number, record
        handler.ready.clear()
        if on_progress is not None and (not chunk or done - reported >= PROGRESS_EVERY_BYTES):
            on_progress(done, max(total, done))
            reported = done
        if not chunk:
            if row_number == 0:  # a submission of nothing would replace a provider-month with nothing
                raise FileRejectError(XML_REJECT, parser.CurrentLineNumber, "the file holds no records")
            return


class _Handler:
    """expat callbacks: a small state machine over the fixed DIDS layout (module docstring)."""

    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.ready: list[dict[str, str | None]] = []
        self.path: list[str] = []  # local names of the open elements
        self.shared: dict[str, str | None] = {}  # patient and referral values of the open DIDSRecord
        self.activities: list[dict[str, str | None]] = []
        self.blocks_seen: set[str] = set()
        self.block_values: dict[str, str | None] = {}
        self.text_item: str | None = None  # the item the open element's text goes to
        self.text: list[str] = []
        self.text_size = 0
        parser.buffer_text = False  # unbuffered: stray text is reported at its own line
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.ExternalEntityRefHandler = self._refuse_external
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters

    def _reject(self, message: str) -> FileRejectError:
        return FileRejectError(XML_REJECT, self.parser.CurrentLineNumber, message)

    def _refuse_doctype(self, *_: object) -> None:
        raise self._reject("a DOCTYPE is not allowed in a DIDS file")

    def _refuse_entity(self, *_: object) -> None:
        raise self._reject("entity declarations are not allowed in a DIDS file")

    def _refuse_external(self, *_: object) -> int:
        raise self._reject("external entities are not allowed in a DIDS file")

    def _local(self, name: str, *, root: bool = False) -> str:
        namespace, _, local = name.rpartition(_SEPARATOR)
        if namespace == NAMESPACE or (not namespace and not root):
            return local
        where = f"{{{namespace}}}" if namespace else "no namespace"
        raise self._reject(f"element {local} in {where}; expected the DIDS-v1-0 namespace")

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        depth = len(self.path)
        local = self._local(name, root=depth == 0)
        parent = self.path[-1] if self.path else None
        if depth == 0:
            if local != "DIDS":
                raise self._reject(f"root element is {local}, expected DIDS")
        elif depth == 1:
            self._expect(local, "DIDSRecord", parent)
            self.shared, self.activities, self.blocks_seen = {}, [], set()
        elif depth == 2:
            if local not in BLOCKS:
                raise self._reject(f"unexpected element {local} in DIDSRecord")
            if local != "ImagingActivity" and local in self.blocks_seen:
                raise self._reject(f"{local} appears more than once in one DIDSRecord")
            self.blocks_seen.add(local)
            self.block_values = {}
        elif depth == 3:
            self._value_start(local, parent, attributes)
        elif depth == 4 and parent == ADDRESS and local == POSTAL_CODE:
            self._set_once("postcode", None, local)
            self.text_item = "postcode"
        else:
            raise self._reject(f"unexpected element {local} in {parent}")
        self.path.append(local)

    def _expect(self, local: str, wanted: str, parent: str | None) -> None:
        if local != wanted:
            raise self._reject(f"unexpected element {local} in {parent}, expected {wanted}")

    def _value_start(self, local: str, block: str | None, attributes: dict[str, str]) -> None:
        if block == "PersonalAndDemographics" and local == ADDRESS:
            return
        spec = BLOCKS[block or ""].get(local)
        if spec is None:
            raise self._reject(f"unexpected element {local} in {block}")
        item, attribute = spec
        if attribute is None:
            self._set_once(item, None, local)
            self.text_item = item
        else:
            value = attributes.get(attribute)
            if value is not None and len(value) > MAX_VALUE_CHARS:  # capped like text values
                raise self._reject(f"attribute {attribute} of {local} is longer than {MAX_VALUE_CHARS} characters")
            self._set_once(item, value or None, local)

    def _set_once(self, item: str, value: str | None, element: str) -> None:
        if item in self.block_values:
            raise self._reject(f"{element} appears more than once in {self.path[-1]}")
        self.block_values[item] = value

    def _characters(self, data: str) -> None:
        if self.text_item is None:
            if data.strip():
                raise self._reject(f"unexpected text in {self.path[-1] if self.path else 'the prolog'}")
            return
        self.text_size += len(data)
        if self.text_size > MAX_VALUE_CHARS:
            raise self._reject(f"value of {self.path[-1]} is longer than {MAX_VALUE_CHARS} characters")
        self.text.append(data)

    def _end(self, name: str) -> None:
        local = self.path.pop()
        depth = len(self.path)
        if self.text_item is not None:
            self.block_values[self.text_item] = "".join(self.text) or None
            self.text_item, self.text, self.text_size = None, [], 0
        if depth == 2:
            if local == "ImagingActivity":
                self.activities.append(self.block_values)
            else:
                self.shared.update(self.block_values)
        elif depth == 1:
            if not self.activities:
                raise self._reject("DIDSRecord has no ImagingActivity")
            for activity in self.activities:
                merged = {**self.shared, **activity}
                self.ready.append({item: merged.get(item) for item in ITEM_NAMES})
