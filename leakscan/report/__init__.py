"""Report writers: each turns the record stream of a scan into one output format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TextIO

from ..records import Record
from .csv import CsvWriter
from .html import HtmlWriter
from .jsonl import JsonlWriter
from .options import ReportOptions
from .text import TextWriter

__all__ = [
    "FORMATS",
    "CsvWriter",
    "HtmlWriter",
    "JsonlWriter",
    "ReportOptions",
    "ReportWriter",
    "TextWriter",
    "writer_for",
]


class ReportWriter(Protocol):
    """Writes records as they come; ``close`` ends the report."""

    def write(self, record: Record) -> None: ...

    def close(self) -> None: ...


FORMATS: dict[str, Callable[[TextIO, ReportOptions], ReportWriter]] = {
    "text": lambda stream, _: TextWriter(stream),
    "jsonl": lambda stream, _: JsonlWriter(stream),
    "html": HtmlWriter,
    "csv": CsvWriter,
}


def writer_for(name: str, stream: TextIO, options: ReportOptions | None = None) -> ReportWriter:
    """The writer of a format by name (``options``: case details and sources, for HTML and CSV)."""
    return FORMATS[name](stream, options or ReportOptions())
