"""What a report needs beyond the records: the case it is for and where the archive lies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..index import Index

__all__ = ["ReportOptions"]


@dataclass(frozen=True)
class ReportOptions:
    """Options of the HTML and CSV writers; the text and JSONL writers need none.

    ``case``, ``examiner`` and ``note`` head the HTML report (given here, they
    override what the summary's run record says). Sources are quoted from the
    files on disk: ``archive_dirs`` first, then the roots ``index`` recorded.
    """

    case: str | None = None
    examiner: str | None = None
    note: str | None = None
    archive_dirs: tuple[str, ...] = ()
    index: Index | None = None
    #: Read the sources again to quote them (off: show the suspect side only).
    quote_sources: bool = True
    #: Findings shown opened when the HTML report is opened (the first in the report).
    expanded: int = 10
    #: Findings shown with their passages (the strongest; 0: all). The others are
    #: listed with their numbers: a browser slows down past a few thousand passages,
    #: and the JSONL and CSV keep every one.
    detailed: int = 1000
    #: CSV: a second stream for one row per passage.
    csv_passages: TextIO | None = None
