"""The public API: exported names are deliberate, importing is quiet and light."""

from __future__ import annotations

import subprocess
import sys

import leakscan

EXPECTED = [
    "AlsoAtRecord",
    "Isolation",
    "NoteRecord",
    "OcrSettings",
    "ArchiveLimits",
    "BuildReport",
    "Comparison",
    "ConfigurationError",
    "EncryptedDocumentError",
    "ErrorRecord",
    "ExtractionRecord",
    "ExtractionError",
    "Finding",
    "Fingerprint",
    "Fingerprinter",
    "Index",
    "IndexNotFoundError",
    "IndexStats",
    "ItemRecord",
    "KeyFileError",
    "KeyMismatchError",
    "LeadRecord",
    "LeakscanError",
    "LeakscanIndexError",
    "MatchParams",
    "MissingKeyError",
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


def test_exported_names_are_exactly_the_documented_ones() -> None:
    assert sorted(leakscan.__all__) == sorted(EXPECTED)
    for name in leakscan.__all__:
        assert getattr(leakscan, name) is not None


def test_every_error_derives_from_the_one_base() -> None:
    errors = [getattr(leakscan, n) for n in leakscan.__all__ if n.endswith("Error")]
    assert all(issubclass(e, leakscan.LeakscanError) for e in errors)


def test_import_is_quiet_and_does_not_load_parsers() -> None:
    code = (
        "import logging, sys; import leakscan;"
        "assert not logging.getLogger().handlers;"
        "parsers = ('docx', 'pypdfium2', 'magic', 'py7zr', 'extract_msg', 'lxml',"
        " 'olefile', 'xlrd', 'PIL', 'tesserocr', 'pillow_heif');"
        "heavy = [m for m in parsers if m in sys.modules];"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]" and done.stderr == ""


def test_fingerprint_text_and_compare_texts_work_from_the_top_level() -> None:
    key = b"a" * 32
    text = " ".join(f"word{i}" for i in range(100))
    assert leakscan.fingerprint_text(text, key).n_tokens == 100
    comparison = leakscan.compare_texts(text, text)
    assert comparison.a_in_b > 0.9 and comparison.b_in_a > 0.9
    assert comparison.simhash_distance == 0
