"""JSON Lines: one record per line, flushed, so ``tail -f`` and pipes see each at once."""

from __future__ import annotations

import json
from typing import TextIO

from ..records import Record

__all__ = ["JsonlWriter"]


class JsonlWriter:
    """The machine-readable report of DESIGN.md."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, record: Record) -> None:
        self.stream.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()
