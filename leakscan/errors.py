"""The one exception tree of leakscan; third-party errors are mapped into it where they enter.

    LeakscanError
    ├── ConfigurationError          bad option or parameter value
    │   ├── SchemeError             invalid fingerprint scheme or key
    │   └── KeyFileError            a key file cannot be read or written, or is no key file
    ├── LeakscanIndexError          the index cannot be opened, read or written
    │   ├── IndexNotFoundError      no index at that location
    │   ├── SchemeMismatchError     index built with other parameters
    │   │   └── KeyMismatchError    index built with another key
    │   └── MissingKeyError         the index's key is nowhere to be found
    └── ExtractionError             one item's text cannot be read
        ├── EncryptedDocumentError  password-protected
        └── UnsupportedFormatError  no extractor for this content
            └── SkippedByRuleError  readable, but passed over by rule (OCR off or
                                    not installed, a picture over the pixel limit)

An ``ExtractionError`` concerns one item: a scan records it and goes on.
The others stop the command (exit code 2).
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "EncryptedDocumentError",
    "ExtractionError",
    "IndexNotFoundError",
    "KeyFileError",
    "KeyMismatchError",
    "LeakscanError",
    "LeakscanIndexError",
    "MissingKeyError",
    "SchemeError",
    "SchemeMismatchError",
    "SkippedByRuleError",
    "UnsupportedFormatError",
]


class LeakscanError(Exception):
    """Base of every error leakscan raises on purpose."""


class ConfigurationError(LeakscanError):
    """An option or parameter has a value leakscan cannot work with."""


class SchemeError(ConfigurationError):
    """A fingerprint scheme or key is invalid."""


class KeyFileError(ConfigurationError):
    """A key file is missing, unreadable, malformed, or would overwrite another."""


class LeakscanIndexError(LeakscanError):
    """The index cannot be opened, read or written."""


class IndexNotFoundError(LeakscanIndexError):
    """There is no index at the given location."""


class SchemeMismatchError(LeakscanIndexError):
    """The index was built with another fingerprint scheme: lookups would silently miss."""


class KeyMismatchError(SchemeMismatchError):
    """The index was built with another key: lookups would silently miss."""


class MissingKeyError(LeakscanIndexError):
    """The index keeps no key and no key file holds it: it cannot fingerprint or match."""


class ExtractionError(LeakscanError):
    """The text of one item cannot be read (corrupt, truncated, empty, undecodable)."""


class EncryptedDocumentError(ExtractionError):
    """The item is password-protected."""


class UnsupportedFormatError(ExtractionError):
    """No extractor reads this kind of content."""


class SkippedByRuleError(UnsupportedFormatError):
    """The item could be read, but a rule passes it over: a ``skipped`` record with the
    reason (OCR turned off or not installed, a picture over the pixel limit)."""
