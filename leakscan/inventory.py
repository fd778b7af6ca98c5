"""The inventory of a scan: every item examined, clean ones included, with its hashes.

A report lists what was found; a chain of custody must also list what was
looked at and found clean, with hashes that let anyone show later that the
evidence is the evidence that was scanned (``leakscan verify``, see
:mod:`leakscan.verify`). The inventory is a JSON Lines file:

* a header, ``{"type": "inventory", "schema": 1, ...}``: the tool and its
  version, the command line, host, working folder, targets, start time, the
  index (id, key id, scheme) and the archive limits the evidence was read
  under (``verify`` reads archives again under the same ones);
* one :class:`~leakscan.records.ItemRecord` (``"type": "item"``) per item, in
  scan order: files, archive and e-mail members, and the containers opened
  (outcome ``opened``); a chat export is one item, its messages are not;
* a trailer, ``{"type": "inventory-end", ...}``: end time, whether the scan
  was interrupted, and the items by outcome (the summary's counts).

The facts of an item (size, sha256, MIME type, the containers it lies in)
are gathered in the worker that read it and travel with its outcome, so
listing them costs nothing but the lines; only files skipped for their size
are read again, to hash them, and only when an inventory is asked for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import sys
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, NamedTuple, TextIO

from ._version import __version__
from .errors import ConfigurationError, LeakscanError
from .exports.archives import ArchiveLimits
from .exports.expand import Container, Opened
from .extract import detect_mime
from .intake import ItemBytes
from .records import (
    OUTCOMES,
    ErrorRecord,
    Finding,
    ItemRecord,
    Record,
    SkippedRecord,
    Summary,
    item_outcome,
)
from .walk import Item, open_evidence

__all__ = [
    "INVENTORY_SCHEMA",
    "Inventory",
    "InventoryWriter",
    "Listed",
    "container_facts",
    "enclosing",
    "hash_file",
    "hash_unread",
    "inventory_header",
    "item_facts",
    "read_inventory",
    "record_facts",
    "stream_mime",
    "utc_now",
]

#: The version of the inventory's schema: fields may be added, a removal or rename bumps it.
INVENTORY_SCHEMA = 1

_BLOCK = 1 << 20
_MIME_HEAD = 1 << 16
_TICK = 256 << 20  # a long hash reports progress, so a step's time limit does not cut it


def utc_now(when: float | None = None) -> str:
    """A time as UTC ISO 8601 with milliseconds and a trailing Z."""
    moment = datetime.now(UTC) if when is None else datetime.fromtimestamp(when, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- facts, gathered where the item is read -----------------------------------------


def item_facts(
    name: str,
    records: Sequence[Record],
    seen: ItemBytes,
    containers: Sequence[Container],
    examined_at: str,
    *,
    app: str = "",
    messages: int = 0,
) -> ItemRecord:
    """The inventory line of an item, from its records and what reading it learnt."""
    listed = list(records)
    return ItemRecord(
        suspect=name,
        outcome=item_outcome(listed),
        examined_at=examined_at,
        size=seen.size,
        sha256=seen.sha256,
        mime=seen.mime,
        containers=tuple((c.name, c.sha256) for c in containers),
        findings=sum(isinstance(r, Finding) for r in listed),
        reason=_reason(listed),
        app=app or None,
        messages=messages if app else None,
    )


def container_facts(
    opened: Opened, containers: Sequence[Container], examined_at: str
) -> ItemRecord:
    """The inventory line of a container opened (its members follow)."""
    return ItemRecord(
        suspect=opened.name,
        outcome="opened",
        examined_at=examined_at,
        size=opened.size,
        sha256=opened.sha256,
        mime=opened.mime,
        containers=tuple((c.name, c.sha256) for c in containers),
        container=opened.kind,
    )


def record_facts(
    records: Sequence[Record], containers: Sequence[Container] = (), name: str | None = None
) -> ItemRecord:
    """The line of an item known only by its records: a link or FIFO the walk passed
    over, an item whose worker was stopped. Nothing of its bytes is known."""
    listed = list(records)
    suspect = name or next((r.suspect for r in listed if hasattr(r, "suspect")), "")
    return item_facts(suspect, listed, ItemBytes(), containers, utc_now())


def enclosing(name: str, opened: Iterable[ItemRecord | None]) -> tuple[Container, ...]:
    """The containers an item lies in, from the lines of the containers its job opened
    before it (for an item whose worker was stopped: it could not say)."""
    best: ItemRecord | None = None
    for facts in opened:
        if facts is None or facts.outcome != "opened":
            continue
        inside = name.startswith((facts.suspect + "!", facts.suspect + "#msg="))
        if inside and (best is None or len(facts.suspect) > len(best.suspect)):
            best = facts
    if best is None:
        return ()
    return (*(Container(*c) for c in best.containers), Container(best.suspect, best.sha256))


def hash_unread(item: Item, tick: Callable[[], None], limit: int) -> ItemBytes:
    """Size and sha256 of a file on disk skipped for its size (nothing for a member:
    one too large was never decompressed)."""
    if item.data is not None:
        return ItemBytes()
    try:
        return hash_file(item.path, tick, limit)
    except OSError:
        return ItemBytes()


def stream_mime(stream: BinaryIO) -> str | None:
    """The type of a chat file from its first bytes (the stream is rewound)."""
    try:
        head = stream.read(_MIME_HEAD)
        stream.seek(0)
        return detect_mime(head) if head else None
    except (OSError, LeakscanError):
        return None


def _reason(records: list[Record]) -> str | None:
    for record in records:
        if isinstance(record, ErrorRecord):
            return record.error
    for record in records:
        if isinstance(record, SkippedRecord):
            return record.reason
    return None


def _no_tick() -> None:
    pass


def hash_file(path: str, tick: Callable[[], None] = _no_tick, limit: int = 0) -> ItemBytes:
    """Size and sha256 of a file on disk, read-only in blocks (memory stays small).

    A sparse file larger than ``limit`` (its holes read as zeros: a decoy
    that would take hours to hash) gets its size only. Raises OSError.
    """
    with open_evidence(path) as handle:
        info = os.fstat(handle.fileno())
        stored = getattr(info, "st_blocks", info.st_size // 512 + 1) * 512
        if info.st_size > limit and stored < info.st_size // 2:
            return ItemBytes(info.st_size)
        digest = hashlib.sha256()
        done = 0
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
            done += len(block)
            if done % _TICK < len(block):
                tick()
    return ItemBytes(done, digest.hexdigest())


# -- writing -------------------------------------------------------------------------


def inventory_header(
    targets: Sequence[str | os.PathLike[str]],
    *,
    index: dict[str, Any],
    limits: ArchiveLimits,
    command: Sequence[str] | None = None,
    started_at: str | None = None,
) -> dict[str, Any]:
    """The first line of an inventory: what ran, where, when, on what, against which index."""
    return {
        "type": "inventory",
        "schema": INVENTORY_SCHEMA,
        "tool": "leakscan",
        "tool_version": __version__,
        "command": list(sys.argv if command is None else command),
        "host": socket.gethostname(),
        "cwd": os.getcwd(),
        "targets": [os.fspath(t) for t in targets],
        "started_at": started_at or utc_now(),
        "index": index,
        "limits": dataclasses.asdict(limits),
    }


class InventoryWriter:
    """Writes an inventory: the header at once, item lines as they come, the trailer at the end.

    :meth:`tee` passes a scan's records through, keeping the ``item`` ones;
    :meth:`close` writes the trailer (marked interrupted if the summary never came).
    """

    def __init__(self, stream: TextIO, header: dict[str, Any]) -> None:
        self.stream = stream
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.items = 0
        self._summary: Summary | None = None
        self._closed = False
        # Names reach us escaped (no lone surrogates), but paths in the header may hold
        # undecodable bytes: ASCII-escaped JSON keeps them exactly.
        self.stream.write(json.dumps(header) + "\n")

    @classmethod
    def create(
        cls,
        path: str,
        targets: Sequence[str | os.PathLike[str]],
        *,
        index: dict[str, Any],
        limits: ArchiveLimits,
        command: Sequence[str] | None = None,
    ) -> InventoryWriter:
        """Start an inventory at ``path``; ConfigurationError if it cannot be written or
        would lie among the evidence (a scan would list it, and verify find it added)."""
        inside = _target_holding(path, targets)
        if inside is not None:
            raise ConfigurationError(
                f"the inventory {path} would be written inside the evidence ({inside}): "
                "write it elsewhere"
            )
        try:
            stream = open(path, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write the inventory {path}: {exc.strerror or exc}"
            ) from exc
        header = inventory_header(targets, index=index, limits=limits, command=command)
        return cls(stream, header)

    def write(self, record: ItemRecord) -> None:
        self.stream.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        self.items += 1
        self.counts[record.outcome] = self.counts.get(record.outcome, 0) + 1

    def take(self, record: Record) -> bool:
        """Keep what a scan's record says for the inventory; True when it is an item line
        (which goes to the inventory only, not to the report)."""
        if isinstance(record, ItemRecord):
            self.write(record)
            return True
        if isinstance(record, Summary):
            self._summary = record
        return False

    def tee(self, records: Iterator[Record]) -> Generator[Record, None, None]:
        """The records of a scan (``Scanner.scan(..., inventory=True)``) without the item
        lines, which go to the inventory. Closing it closes the scan."""
        try:
            for record in records:
                if not self.take(record):
                    yield record
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        """Write the trailer and close the file."""
        if self._closed:
            return
        self._closed = True
        summary = self._summary
        trailer = {
            "type": "inventory-end",
            "finished_at": utc_now(),
            "interrupted": summary is None or summary.interrupted,
            "items": self.items,
            "outcomes": self.counts,
        }
        try:
            self.stream.write(json.dumps(trailer) + "\n")
        finally:
            self.stream.close()


def _target_holding(path: str, targets: Sequence[str | os.PathLike[str]]) -> str | None:
    """The target the file at ``path`` would lie in (or be), if any."""
    where = os.path.realpath(path)
    for target in targets:
        root = os.path.realpath(os.fspath(target))
        if where == root or where.startswith(root.rstrip(os.sep) + os.sep):
            return os.fspath(target)
    return None


# -- reading -------------------------------------------------------------------------


class Listed(NamedTuple):
    """One line of an inventory as ``verify`` needs it."""

    suspect: str
    container: bool
    sha256: str | None
    size: int | None


@dataclass
class Inventory:
    """An inventory read back: its header, its items in order, and how it ended."""

    header: dict[str, Any]
    items: list[Listed] = field(default_factory=list)
    #: The trailer, None when the scan did not get to write it (killed).
    trailer: dict[str, Any] | None = None
    #: The last line was cut short (the scan was killed while writing it).
    truncated: bool = False

    @property
    def complete(self) -> bool:
        """Whether the scan ran to its end: every item of the targets is listed."""
        return self.trailer is not None and not self.trailer.get("interrupted", True)


def read_inventory(path: str) -> Inventory:
    """Read an inventory; ConfigurationError when it is not one this version can read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as stream:
            return _parse(stream, path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the inventory {path}: {exc.strerror}") from exc


def _parse(stream: TextIO, path: str) -> Inventory:
    inventory: Inventory | None = None
    for number, line in enumerate(stream, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            if not line.endswith("\n") and inventory is not None:
                inventory.truncated = True  # the last line, cut by a killed scan
                break
            raise ConfigurationError(f"{path}: line {number} is not JSON") from None
        if not isinstance(record, dict):
            raise ConfigurationError(f"{path}: line {number} is not a JSON object")
        if inventory is None:
            inventory = Inventory(_header(record, path))
            continue
        kind = record.get("type")
        if kind == "item":
            inventory.items.append(_listed(record, path, number))
        elif kind == "inventory-end":
            inventory.trailer = record
        # any other type: a later version's, ignored
    if inventory is None:
        raise ConfigurationError(f"{path} is empty: not a leakscan inventory")
    return inventory


def _header(record: dict[str, Any], path: str) -> dict[str, Any]:
    if record.get("type") != "inventory":
        raise ConfigurationError(f"{path} is not a leakscan inventory (no header line)")
    schema = record.get("schema")
    if not isinstance(schema, int) or schema > INVENTORY_SCHEMA:
        raise ConfigurationError(
            f"{path}: inventory schema {schema!r} is not one this leakscan reads "
            f"(up to {INVENTORY_SCHEMA}): use a newer leakscan"
        )
    targets = record.get("targets")
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise ConfigurationError(f"{path}: the header lists no targets")
    return record


def _listed(record: dict[str, Any], path: str, number: int) -> Listed:
    suspect = record.get("suspect")
    sha256 = record.get("sha256")
    size = record.get("size")
    if (
        not isinstance(suspect, str)
        or not (sha256 is None or isinstance(sha256, str))
        or not (size is None or isinstance(size, int))
    ):
        raise ConfigurationError(f"{path}: line {number} is not an item of an inventory")
    return Listed(suspect, record.get("outcome") == "opened", sha256, size)
