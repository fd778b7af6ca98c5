"""Saved JSONL back into records, so a report can be rendered again without scanning again.

The JSONL stream is the contract of DESIGN.md: fields may be added and new
``type``s may appear, so fields this version does not know are dropped and
records of unknown types are passed over, as readers of the contract must.
A line that is not a JSON object, or a known record missing a field it
needs, is an error naming the line: a report must not silently lose findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import fields
from typing import Any

from ..errors import ConfigurationError
from ..records import (
    AlsoAtRecord,
    ErrorRecord,
    ExtractionRecord,
    Finding,
    LeadRecord,
    NoteRecord,
    Passage,
    Record,
    SkippedRecord,
    Summary,
)

__all__ = ["read_records", "record_from_dict"]

_TYPES: dict[str, type[Any]] = {
    "finding": Finding,
    "lead": LeadRecord,
    "error": ErrorRecord,
    "skipped": SkippedRecord,
    "note": NoteRecord,
    "extraction": ExtractionRecord,
    "also-at": AlsoAtRecord,
    "summary": Summary,
}
#: Lists of text kept as tuples: a finding's and a lead's.
_TUPLES = {
    Finding: ("source_also_at", "messages"),
    LeadRecord: ("matches", "senders"),
}
#: A saved line longer than this is not one of ours (a finding quotes at most a document).
MAX_LINE_CHARS = 256 << 20


def _known(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


_NUMBERS = {
    Finding: ("score", "containment", "coverage", "simhash_distance", "matched_tokens"),
    Passage: ("suspect_start", "suspect_end", "source_start", "source_end", "tokens"),
    LeadRecord: ("score", "evidence", "below_min_score"),
}
#: Numbers that may be absent or null (written by newer scans only).
_OPTIONAL_NUMBERS = {
    Finding: ("evidence", "discounted_tokens"),
    Summary: ("min_score",),
}
_TEXTS = {
    Finding: ("suspect", "suspect_sha256", "source", "source_sha256", "kind"),
    LeadRecord: ("suspect", "suspect_sha256", "source", "source_sha256"),
    Passage: ("text",),
    ErrorRecord: ("suspect", "error"),
    SkippedRecord: ("suspect", "reason"),
    NoteRecord: ("suspect", "note"),
}


def _check(cls: type[Any], values: dict[str, Any]) -> None:
    """The fields a report computes with must have their types: a hand-edited file may not."""
    for name in _NUMBERS.get(cls, ()):
        value = values.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} is not a number")
    for name in _OPTIONAL_NUMBERS.get(cls, ()):
        value = values.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{name} is not a number")
    for name in _TEXTS.get(cls, ()):
        if name in values and not isinstance(values[name], str):
            raise ValueError(f"{name} is not text")


def _passage(data: object) -> Passage:
    if not isinstance(data, dict):
        raise TypeError("a passage is not an object")
    values = _known(Passage, data)
    _check(Passage, values)
    box = values.get("bbox")
    if box is not None:
        if not isinstance(box, list) or len(box) != 4 or not all(type(v) is int for v in box):
            raise ValueError("bbox is not four whole numbers")
        values["bbox"] = tuple(box)
    return Passage(**values)


def _summary_ocr(values: dict[str, Any], data: dict[str, Any]) -> None:
    """The summary's ``ocr`` object back into its counters."""
    ocr = data.get("ocr")
    if not isinstance(ocr, dict):
        return
    for key, name in (
        ("items", "ocr_items"),
        ("pages_read", "ocr_pages_read"),
        ("pages_from_cache", "ocr_pages_cached"),
    ):
        value = ocr.get(key, 0)
        if type(value) is not int:
            raise ValueError(f"ocr.{key} is not a whole number")
        values[name] = value


def record_from_dict(data: dict[str, Any]) -> Record | None:
    """The record a JSONL object stands for; None for a type this version does not know.

    >>> record_from_dict({"type": "error", "suspect": "a.pdf", "error": "corrupt", "x": 1})
    ErrorRecord(suspect='a.pdf', error='corrupt', suspect_sha256=None, sent_in=None)
    >>> record_from_dict({"type": "verdict", "suspect": "a.pdf"}) is None
    True
    """
    cls = _TYPES.get(str(data.get("type")))
    if cls is None:
        return None
    values = _known(cls, data)
    _check(cls, values)
    if cls is Finding:
        passages = values.get("passages", ())
        if not isinstance(passages, list | tuple):
            raise ValueError("passages is not a list")
        values["passages"] = tuple(_passage(p) for p in passages)
    for name in _TUPLES.get(cls, ()):
        if name not in values:
            continue
        if not isinstance(values[name], list) or not all(isinstance(v, str) for v in values[name]):
            raise ValueError(f"{name} is not a list of text")
        values[name] = tuple(values[name])
    if cls is Finding and values.get("ocr") is not None and not isinstance(values["ocr"], dict):
        raise ValueError("ocr is not an object")
    if cls is Summary:
        _summary_ocr(values, data)
    record: Record = cls(**values)
    return record


def read_records(lines: Iterable[str], name: str = "<stdin>") -> Iterator[Record]:
    """Records of a saved JSONL stream, in order; blank lines are passed over."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        if len(line) > MAX_LINE_CHARS:
            raise ConfigurationError(f"{where}: longer than any leakscan record")
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ConfigurationError(f"{where}: not JSON ({exc})") from exc
        if not isinstance(data, dict) or "type" not in data:
            raise ConfigurationError(f'{where}: not a leakscan record (no "type")')
        try:
            record = record_from_dict(data)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{where}: a {data['type']} record leakscan cannot read ({exc})"
            ) from exc
        if record is not None:
            yield record
