"""The source side of a passage, re-read from the case archive on disk.

The index holds no text, only each document's archive root, its path below
it and its sha256. To quote what a passage matched, the source file is read
again (in a sandboxed worker, as every piece of evidence is), its sha256 is
checked against the one the finding names, and the passage's token positions
are turned into characters with the tokenizer the fingerprints were made
with. A file that moved, changed or cannot be read is not quoted: the reason
is shown instead. ``--archive DIR`` names a folder the archive root was moved
to; it is tried before the roots the index recorded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import LeakscanError
from ..exports.archives import ArchiveLimits
from ..exports.expand import Expander
from ..exports.folders import FileJob
from ..extract import Extracted
from ..index.base import file_name_of
from ..intake import DEFAULT_MAX_FILE_BYTES, Loaded, load_item, read_item
from ..isolation import Failure, Isolation, Pool
from ..names import parse_locator
from ..normalize import tokenize
from ..records import ErrorRecord, SkippedRecord
from ..walk import Item, display_name

if TYPE_CHECKING:
    from ..index import Index

__all__ = ["Quoted", "SourceQuoter", "SourceText", "Unquoted"]

#: Characters of one quoted passage shown; the rest is counted, not shown.
MAX_QUOTE_CHARS = 20_000
#: Seconds one source may take to be read again.
SOURCE_TIMEOUT = 120.0


@dataclass(frozen=True)
class Quoted:
    """One passage's source text, and the page of the source it starts on."""

    text: str
    page: int | None = None
    #: Characters of the matched span left out (past MAX_QUOTE_CHARS).
    cut: int = 0


@dataclass(frozen=True)
class SourceText:
    """A source read again and found unchanged: where, and one quote per passage asked for
    (None where the passage lies beyond the text read now)."""

    location: str
    quotes: tuple[Quoted | None, ...]
    tokens: int


@dataclass(frozen=True)
class Unquoted:
    """Why a source was not quoted (not found, changed, unreadable), one line a person acts on."""

    reason: str


@dataclass(frozen=True)
class _Job:
    """For a worker: the places the file may be, the member inside it, the expected hash."""

    candidates: tuple[str, ...]
    tail: str
    sha256: str
    spans: tuple[tuple[int, int], ...]
    max_bytes: int


def _quotes(extracted: Extracted, spans: Sequence[tuple[int, int]]) -> SourceText:
    tokens = tokenize(extracted.text)
    count = len(tokens)
    starts, ends = tokens.starts, tokens.ends
    quotes: list[Quoted | None] = []
    for first, end in spans:
        last = min(end, count) - 1
        if first < 0 or first >= count or last < first:
            quotes.append(None)
            continue
        begin, stop = int(starts[first]), int(ends[last])
        cut = max(0, stop - begin - MAX_QUOTE_CHARS)
        page = extracted.page_at(begin) if len(extracted.pages) > 1 else None
        quotes.append(Quoted(extracted.text[begin : stop - cut], page, cut))
    return SourceText("", tuple(quotes), count)


def _member_item(path: str, tail: str, max_bytes: int) -> Item | str:
    """The archive member ``tail`` (``!inner/a.pdf``) of the file at ``path``, or why not."""
    wanted = display_name(path) + tail
    expander = Expander(ArchiveLimits(max_member_bytes=max_bytes))
    for entry in expander.expand_file(FileJob(display_name(path), path)):
        if isinstance(entry, Item) and entry.name == wanted:
            return entry
    return "the archive no longer holds this member"


def _why(record: ErrorRecord | SkippedRecord) -> str:
    return record.error if isinstance(record, ErrorRecord) else f"not read: {record.reason}"


def _read_one(path: str, job: _Job) -> SourceText | str:
    if not os.path.isfile(path):
        return "not found"
    item = (
        _member_item(path, job.tail, job.max_bytes) if job.tail else Item(display_name(path), path)
    )
    if isinstance(item, str):
        return item
    read = read_item(item, job.max_bytes)
    if not isinstance(read, tuple):
        return _why(read)
    data, sha256 = read
    if sha256 != job.sha256:
        return f"changed since it was indexed (its sha256 is now {sha256})"
    loaded = load_item(Item(item.name, item.path, data=data), job.max_bytes)
    if not isinstance(loaded, Loaded):
        return _why(loaded)
    text = _quotes(loaded.extracted, job.spans)
    return SourceText(display_name(path) + job.tail, text.quotes, text.tokens)


def _read_source(job: _Job) -> SourceText | Unquoted:
    """In a worker: the first candidate that holds the indexed content, quoted."""
    reasons = []
    for path in job.candidates:
        try:
            found = _read_one(path, job)
        except (LeakscanError, OSError) as exc:
            found = f"cannot read: {exc}"
        if isinstance(found, SourceText):
            return found
        reasons.append(f"{display_name(path)}{job.tail}: {found}")
    if not reasons:
        return Unquoted("its archive folder is not known (give --archive DIR or the index)")
    return Unquoted("; ".join(reasons))


def _safe_relative(path: str) -> bool:
    """A source path from a (possibly edited) report file must stay below its root."""
    parts = path.replace("\\", "/").split("/")
    return bool(path) and not os.path.isabs(path) and ".." not in parts


class SourceQuoter:
    """Finds indexed documents on disk and quotes passages of them.

    ``archive_dirs`` are tried first (a root moved elsewhere), then the root
    each document was indexed from. Reading happens in one sandboxed worker
    (time limit, memory cap), reused from source to source until :meth:`close`.
    """

    def __init__(
        self,
        index: Index | None = None,
        archive_dirs: Sequence[str | os.PathLike[str]] = (),
        *,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
        isolation: Isolation | None = None,
    ) -> None:
        self.index = index
        self.archive_dirs = tuple(os.path.abspath(os.fspath(d)) for d in archive_dirs)
        self.max_bytes = max_bytes
        self._isolation = isolation or Isolation(jobs=1, timeout_seconds=SOURCE_TIMEOUT)
        self._pool: Pool | None = None

    def roots(self, source: str) -> list[str]:
        """Folders the document at ``source`` may be below: --archive ones, then the index's."""
        roots = list(self.archive_dirs)
        if self.index is not None:
            try:
                documents = self.index.documents_named(file_name_of(source))
            except LeakscanError:
                documents = []
            roots.extend(d.root for d in documents if d.path == source and d.root)
        return list(dict.fromkeys(roots))

    def candidates(self, sources: Sequence[str]) -> tuple[tuple[str, ...], str] | str:
        """The files on disk that may hold the first of ``sources`` (the others are paths of
        the same content), and its member tail; or why there can be none."""
        paths: list[str] = []
        tail = ""
        for number, source in enumerate(sources):
            outer, bang, rest = source.partition("!")
            relative = parse_locator(outer).path
            if not _safe_relative(relative):
                if number == 0:
                    return "its path leaves the archive folder: not read"
                continue
            if number == 0:
                tail = bang + rest
            elif bang + rest != tail:
                continue  # another member path: the file to open differs in kind
            paths.extend(os.path.join(root, relative) for root in self.roots(source))
        return tuple(dict.fromkeys(paths)), tail

    def quote(
        self, sources: Sequence[str], sha256: str, spans: Sequence[tuple[int, int]]
    ) -> SourceText | Unquoted:
        """Quote the token spans of the source named ``sources[0]`` (``sources[1:]``: other
        paths of the same content), if a file there still has the sha256 ``sha256``."""
        if not sources or sources[0] == "<removed>":
            return Unquoted("no longer in the index: its path is not known")
        found = self.candidates(sources)
        if isinstance(found, str):
            return Unquoted(found)
        paths, tail = found
        job = _Job(paths, tail, sha256, tuple(spans), self.max_bytes)
        if self._pool is None:
            self._pool = Pool(self._isolation)
        self._pool.submit(sources[0], _read_source, job)
        (done,) = self._pool.poll()
        if isinstance(done.result, Failure):
            return Unquoted(f"reading it failed: {done.result.reason}")
        result: SourceText | Unquoted = done.result
        return result

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()

    def __enter__(self) -> SourceQuoter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
