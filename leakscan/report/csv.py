"""CSV: one row per finding and lead (and, in a second stream, one row per passage).

UTF-8 with a byte-order mark, so a spreadsheet opens Urdu as Urdu. Columns
are the JSONL fields of a finding; lists are JSON text, passages a count
here and rows of their own in the passage file, joined by ``finding``.
A lead (weak matches of one source in one item, added up) is a row of the
same file with ``type`` ``lead``: the columns it shares with a finding
(suspect, source, their hashes, score, evidence, ``source_label``) hold its
values, ``matches`` and ``senders`` its lists; ``finding`` and ``passages``
stay empty, as a lead has no passages of its own. Columns added later come
last, so a spreadsheet or script reading the older ones by position still works.
A cell a spreadsheet would run as a formula (text starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return: a file name on a seized
device can) is written with a leading apostrophe, as OWASP advises; the
JSONL keeps the name as it was.
"""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from ..records import Finding, LeadRecord, Record
from .options import ReportOptions

__all__ = ["FINDING_COLUMNS", "PASSAGE_COLUMNS", "CsvWriter"]

FINDING_COLUMNS = (
    "finding",
    "suspect",
    "suspect_sha256",
    "member_sha256",
    "source",
    "source_sha256",
    "kind",
    "score",
    "containment",
    "coverage",
    "simhash_distance",
    "matched_tokens",
    "passages",
    "source_also_at",
    "sender",
    "sent_at",
    "conversation",
    "from_me",
    "deleted",
    "app",
    "sent_in",
    "messages",
    "attachment",
    "attachment_pages",
    "device_path",
    "source_label",
    "message_text",
    "ocr",
    # added with leads and weighted evidence: after the older columns, which keep their places
    "type",
    "evidence",
    "discounted_tokens",
    "matches",
    "senders",
    "below_min_score",
)
PASSAGE_COLUMNS = (
    "finding",
    "passage",
    "suspect",
    "source",
    "kind",
    "score",
    "suspect_start",
    "suspect_end",
    "source_start",
    "source_end",
    "tokens",
    "page",
    "text",
    "text_cut",
    "bbox",
)
#: Longest text one spreadsheet cell holds (Excel and LibreOffice: 32,767 characters).
MAX_CELL_CHARS = 32_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def _cell(value: Any) -> str | int | float:
    """A value as a spreadsheet cell: lists as JSON, booleans as true/false, text defused.

    >>> _cell("=HYPERLINK(1)"), _cell(["a", "b"]), _cell(True), _cell(None), _cell(0.5)
    ("'=HYPERLINK(1)", '["a", "b"]', 'true', '', 0.5)
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple | dict):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class CsvWriter:
    """Findings and leads as CSV rows as they come; passage rows into ``options.csv_passages``."""

    def __init__(self, stream: TextIO, options: ReportOptions | None = None) -> None:
        self.stream = stream
        self.passages = (options or ReportOptions()).csv_passages
        self._rows = csv.writer(stream)
        self._passage_rows = csv.writer(self.passages) if self.passages is not None else None
        self._count = 0
        stream.write(BOM)
        self._rows.writerow(FINDING_COLUMNS)
        if self.passages is not None and self._passage_rows is not None:
            self.passages.write(BOM)
            self._passage_rows.writerow(PASSAGE_COLUMNS)

    def write(self, record: Record) -> None:
        if isinstance(record, LeadRecord):
            self._rows.writerow([_cell(record.to_dict().get(c)) for c in FINDING_COLUMNS])
            return
        if not isinstance(record, Finding):
            return
        self._count += 1
        data = record.to_dict()
        data["finding"] = self._count
        data["passages"] = len(record.passages)
        self._rows.writerow([_cell(data.get(column)) for column in FINDING_COLUMNS])
        if self._passage_rows is None:
            return
        for number, passage in enumerate(record.passages, start=1):
            text = passage.text[:MAX_CELL_CHARS]
            row = {
                **passage.to_dict(),
                "finding": self._count,
                "passage": number,
                "suspect": record.suspect,
                "source": record.source,
                "kind": record.kind,
                "score": round(record.score, 4),
                "text": text,
                "text_cut": len(passage.text) > len(text),
            }
            self._passage_rows.writerow([_cell(row.get(column)) for column in PASSAGE_COLUMNS])

    def close(self) -> None:
        self.stream.flush()
        if self.passages is not None:
            self.passages.flush()
