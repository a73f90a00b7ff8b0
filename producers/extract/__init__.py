"""Monthly DIDS extract files: read national CSV (v1, v2) and DIDS-v1-0 XML, write them, pre-check them.

* ``open_extract(path) -> Extract``: recognise a file and stream its records (``reader``).
* ``read_csv`` / ``read_xml``: the two readers; a malformed file raises ``FileRejectError`` (DIDS075/076).
* ``write_csv`` / ``write_xml``: the inverse, for the simulator and round-trip tests (``writer``).
* ``duplicate_keys``: the record keys a whole file repeats, for DIDS071 (``duplicates``).
"""

from producers.extract.csv_reader import CsvLayout, read_csv
from producers.extract.duplicates import duplicate_keys
from producers.extract.errors import FileRejectError
from producers.extract.reader import Extract, open_extract
from producers.extract.writer import write_csv, write_xml
from producers.extract.xml_reader import NAMESPACE, read_xml

__all__ = [
    "NAMESPACE",
    "CsvLayout",
    "Extract",
    "FileRejectError",
    "open_extract",
    "read_csv",
    "duplicate_keys",
    "read_xml",
    "write_csv",
    "write_xml",
]
