"""Report writers: each turns the record stream of a scan into one output format."""

from __future__ import annotations

from typing import Protocol, TextIO

from ..records import Record
from .jsonl import JsonlWriter
from .text import TextWriter

__all__ = ["FORMATS", "JsonlWriter", "ReportWriter", "TextWriter"]


class ReportWriter(Protocol):
    """Writes records as they come; ``close`` ends the report."""

    def write(self, record: Record) -> None: ...

    def close(self) -> None: ...


FORMATS: dict[str, type[JsonlWriter] | type[TextWriter]] = {
    "jsonl": JsonlWriter,
    "text": TextWriter,
}


def writer_for(name: str, stream: TextIO) -> ReportWriter:
    """The writer of a format by name."""
    return FORMATS[name](stream)
