"""Findings kept on disk until a report is rendered, so memory stays small however many.

The HTML report groups findings by source and orders them by strength, which
needs all of them before the first is shown. Each finding is written to an
anonymous temporary file (gone when closed, never beside the evidence); only
its sort key and place in the file stay in memory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from ..records import Finding
from .saved import record_from_dict

__all__ = ["FindingSpool", "SourceGroup"]


@dataclass
class SourceGroup:
    """The findings of one source document (one path and content), by place in the spool."""

    number: int
    source: str
    source_sha256: str
    also_at: tuple[str, ...]
    best: float
    entries: list[tuple[float, int, int, int]]  # (-score, sequence, offset, length)

    @property
    def count(self) -> int:
        return len(self.entries)


class FindingSpool:
    """Append findings; read them back grouped by source, strongest first."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._groups: dict[tuple[str, str], SourceGroup] = {}
        self._size = 0

    def add(self, finding: Finding) -> None:
        data = (json.dumps(finding.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
        self._file.write(data)
        key = (finding.source, finding.source_sha256)
        group = self._groups.get(key)
        if group is None:
            group = SourceGroup(
                0, finding.source, finding.source_sha256, finding.source_also_at, 0.0, []
            )
            self._groups[key] = group
        # Ranked on the score as JSONL keeps it (4 decimals), so a report made again from
        # saved findings orders ties exactly as the live one did.
        score = round(finding.score, 4)
        group.best = max(group.best, score)
        group.entries.append((-score, len(group.entries), self._size, len(data)))
        self._size += len(data)

    def __len__(self) -> int:
        return sum(g.count for g in self._groups.values())

    def groups(self) -> list[SourceGroup]:
        """Groups strongest first (best score, then most findings, then by name), numbered."""
        ordered = sorted(self._groups.values(), key=lambda g: (-g.best, -g.count, g.source))
        for number, group in enumerate(ordered, start=1):
            group.number = number
            group.entries.sort()
        return ordered

    def findings(self, group: SourceGroup) -> Iterator[Finding]:
        """The group's findings, strongest first."""
        self._file.flush()
        for _, _, offset, length in group.entries:
            self._file.seek(offset)
            record = record_from_dict(json.loads(self._file.read(length)))
            assert isinstance(record, Finding)
            yield record
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()
