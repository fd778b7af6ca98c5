"""leakscan: find copies, reformatted copies and excerpts of classified documents.

Fingerprint a case archive once (:class:`Index`), then check seized-device
exports (:func:`scan`), compare two files (:func:`compare`) or fingerprint a
text (:func:`fingerprint_text`). The fingerprint key is kept in a key file
apart from the index (:func:`new_key_file`, :func:`read_key_file`).
Importing this package does nothing observable: no logging handlers, no
heavy imports.
"""

from ._version import __version__
from .build import BuildReport, build
from .compare import Comparison, compare, compare_texts
from .errors import (
    ConfigurationError,
    EncryptedDocumentError,
    ExtractionError,
    IndexNotFoundError,
    KeyFileError,
    KeyMismatchError,
    LeakscanError,
    LeakscanIndexError,
    MissingKeyError,
    SchemeError,
    SchemeMismatchError,
    SkippedByRuleError,
    UnsupportedFormatError,
)
from .exports.archives import ArchiveLimits
from .fingerprint import Fingerprint, Fingerprinter, Scheme, fingerprint_text
from .index import Index, IndexStats
from .isolation import Isolation
from .keyfile import new_key_file, read_key_file
from .match import MatchParams, confidence
from .ocr import OcrSettings
from .records import (
    AlsoAtRecord,
    ErrorRecord,
    ExtractionRecord,
    Finding,
    ItemRecord,
    LeadRecord,
    NoteRecord,
    Passage,
    SkippedRecord,
    Summary,
)
from .scan import Scanner, ScanOptions, scan

__all__ = [
    "AlsoAtRecord",
    "ArchiveLimits",
    "BuildReport",
    "Comparison",
    "ConfigurationError",
    "EncryptedDocumentError",
    "ErrorRecord",
    "ExtractionError",
    "ExtractionRecord",
    "Finding",
    "Fingerprint",
    "Fingerprinter",
    "Index",
    "IndexNotFoundError",
    "IndexStats",
    "Isolation",
    "ItemRecord",
    "KeyFileError",
    "KeyMismatchError",
    "LeadRecord",
    "LeakscanError",
    "LeakscanIndexError",
    "MatchParams",
    "MissingKeyError",
    "NoteRecord",
    "OcrSettings",
    "Passage",
    "ScanOptions",
    "Scanner",
    "Scheme",
    "SchemeError",
    "SchemeMismatchError",
    "SkippedByRuleError",
    "SkippedRecord",
    "Summary",
    "UnsupportedFormatError",
    "__version__",
    "build",
    "compare",
    "compare_texts",
    "confidence",
    "fingerprint_text",
    "new_key_file",
    "read_key_file",
    "scan",
]
