"""``leakscan verify``: hash the evidence an inventory lists again, and say what changed.

The targets the inventory names are walked again (relative ones from the
folder the scan ran in, or ``base``) and every file is hashed in a sandboxed
worker, read-only. A file whose sha256 is the one listed is the same bytes,
so every member read from it is the same too, and is not read again. A
container whose bytes differ is read again through the same reader the scan
used (:class:`~leakscan.exports.expand.Expander`, in the worker, under the
archive limits the inventory records), so the report names the members that
changed, went missing or were added, not only the archive.

Each difference is a :class:`Difference`: ``changed`` (sha256 differs),
``missing`` (listed, not there now; a container's members are counted in
its line), ``added`` (there now, not listed) or ``unreadable`` (there, but it
could not be read again). Items the inventory lists without a sha256 (a
link passed over, a member refused before it was decompressed) can only be
found present. The last record is a :class:`Verification` with the counts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import ConfigurationError
from .exports.archives import ArchiveLimits
from .exports.expand import Expander, Opened
from .exports.folders import FileJob
from .inventory import Inventory, Listed, hash_file, read_inventory
from .isolation import Done, Failure, Isolation, Progress, run_steps
from .names import locator_part, parse_locator
from .records import ErrorRecord, ExtractionRecord, NoteRecord, SkippedRecord
from .walk import Item, display_name, walk_target

__all__ = ["Difference", "Verification", "verify", "verify_inventory"]


@dataclass(frozen=True)
class Difference:
    """One way the evidence is not what the inventory lists."""

    #: ``changed``, ``missing``, ``added`` or ``unreadable``.
    status: str
    suspect: str
    #: The line is about a container opened (its members are lines of their own).
    container: bool = False
    expected_sha256: str | None = None
    actual_sha256: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "difference", "status": self.status}
        data["suspect"] = self.suspect
        optional = {
            "container": self.container or None,
            "expected_sha256": self.expected_sha256,
            "actual_sha256": self.actual_sha256,
            "detail": self.detail,
        }
        data.update((key, value) for key, value in optional.items() if value is not None)
        return data


@dataclass
class Verification:
    """The last record of a verification: the inventory's items, by what became of them."""

    listed: int = 0
    #: Hashed again, same sha256 (members of an unchanged file included).
    identical: int = 0
    #: Listed without a sha256 and still there.
    present: int = 0
    changed: int = 0
    #: Items not found (a missing container's members included).
    missing: int = 0
    added: int = 0
    unreadable: int = 0
    #: The inventory ran to its end (an interrupted scan's lacks items, found "added").
    complete: bool = True

    @property
    def differences(self) -> int:
        return self.changed + self.missing + self.added + self.unreadable

    def to_dict(self) -> dict[str, Any]:
        return {"type": "verification", **dataclasses.asdict(self)}


def verify(
    inventory: str | Inventory, *, base: str | None = None, isolation: Isolation | None = None
) -> Iterator[Difference | Verification]:
    """Differences between the evidence and an inventory (a path or one read), then a
    Verification. Raises ConfigurationError when the inventory cannot be read."""
    listing = read_inventory(inventory) if isinstance(inventory, str) else inventory
    return _Verifier(listing, base, isolation or Isolation()).run()


def verify_inventory(path: str, **options: Any) -> Verification:
    """:func:`verify`, only its counts."""
    last = Verification()
    for record in verify(path, **options):
        if isinstance(record, Verification):
            last = record
    return last


def top_of(suspect: str) -> str:
    """The file on disk an inventory line is in (its locator's first part)."""
    return locator_part(parse_locator(suspect).path)


class _Key(NamedTuple):
    suspect: str
    container: bool
    occurrence: int


@dataclass
class _Group:
    """The lines of one file on disk: its own, and those of what was read from it."""

    own: list[Listed] = field(default_factory=list)
    inside: list[Listed] = field(default_factory=list)
    done: bool = False

    @property
    def sha256(self) -> str | None:
        return next((e.sha256 for e in self.own if e.sha256 is not None), None)

    @property
    def size(self) -> int | None:
        return next((e.size for e in self.own if e.size is not None), None)


class _Seen(NamedTuple):
    """An entry found now (sent back by a worker)."""

    suspect: str
    container: bool
    sha256: str | None
    size: int | None
    error: str | None = None


@dataclass(frozen=True)
class _Job:
    name: str
    path: str
    expected: str | None
    expand: bool


class _Verifier:
    def __init__(self, inventory: Inventory, base: str | None, isolation: Isolation) -> None:
        self.inventory = inventory
        header = inventory.header
        self.base = base if base is not None else str(header.get("cwd") or os.getcwd())
        self.limits = _limits(header.get("limits"))
        self.isolation = isolation
        self.groups: dict[str, _Group] = {}
        self._paths: dict[str, str] = {}
        for entry in inventory.items:
            top = top_of(entry.suspect)
            group = self.groups.setdefault(top, _Group())
            (group.own if entry.suspect == top else group.inside).append(entry)
        self.report = Verification(listed=len(inventory.items), complete=inventory.complete)

    def run(self) -> Iterator[Difference | Verification]:
        work = ((key, self._job(key) if isinstance(key, str) else None) for key in self._walk())
        for done in run_steps(
            self.isolation,
            _verify_job,
            work,
            initializer=_init_verifier,
            initargs=(self.limits,),
        ):
            if isinstance(done.key, str):
                yield from self._file(done)
            else:
                yield from self._record(done.key)
        for top, group in self.groups.items():
            if not group.done:
                yield self._missing(top, group)
        yield self.report

    # -- walking

    def _walk(self) -> Iterator[str | SkippedRecord | ErrorRecord]:
        """The files below the targets (by the locators the scan gave them), and records
        for what the walk passes over; a target gone is walked as nothing."""
        for given in self.inventory.header["targets"]:
            resolved = given if os.path.isabs(given) else os.path.join(self.base, given)
            if not os.path.lexists(resolved):
                continue
            try:
                for entry in walk_target(resolved):
                    if isinstance(entry, str):
                        name = display_name(given + entry[len(resolved) :])
                        self._paths[name] = entry
                        yield name
                    else:
                        prefix = display_name(resolved)
                        suspect = display_name(given) + entry.suspect[len(prefix) :]
                        yield dataclasses.replace(entry, suspect=suspect)
            except ConfigurationError:
                continue  # gone between the look and the walk: its files are missing

    def _job(self, name: str) -> _Job:
        group = self.groups.get(name)
        path = self._paths.pop(name)
        if group is None or group.done:
            return _Job(name, path, None, False)
        return _Job(name, path, group.sha256, bool(group.inside))

    # -- comparing

    def _record(self, record: SkippedRecord | ErrorRecord) -> Iterator[Difference]:
        """Something the walk passes over (a link, a FIFO, a folder it cannot list)."""
        reason = record.reason if isinstance(record, SkippedRecord) else record.error
        group = self.groups.get(record.suspect)
        if group is None:
            self.report.added += 1
            yield Difference("added", record.suspect, detail=reason)
            return
        if group.done:
            return
        group.done = True
        if group.sha256 is not None:
            self.report.changed += 1
            yield Difference("changed", record.suspect, expected_sha256=group.sha256, detail=reason)
            return
        self.report.present += len(group.own) + len(group.inside)

    def _file(self, done: Done[Any]) -> Iterator[Difference]:
        top: str = done.key
        group = self.groups.get(top)
        seen = [p for p in done.parts if isinstance(p, _Seen)]
        failure = done.result.reason if isinstance(done.result, Failure) else None
        if group is None:
            self.report.added += 1
            sha256 = seen[0].sha256 if seen else None
            yield Difference("added", top, actual_sha256=sha256)
            return
        if group.done:
            return  # a file two targets both hold: checked once
        group.done = True
        own = seen[0] if seen else None
        if own is None or own.error is not None:
            self.report.unreadable += len(group.own) + len(group.inside)
            yield Difference("unreadable", top, detail=(own.error if own else None) or failure)
            return
        expected = group.sha256
        if expected is not None and own.sha256 == expected:
            self.report.identical += len(group.own) + len(group.inside)
            return
        if expected is None:
            self.report.present += len(group.own)
        else:
            self.report.changed += len(group.own)
            yield Difference(
                "changed",
                top,
                any(e.container for e in group.own),
                expected_sha256=expected,
                actual_sha256=own.sha256,
                detail=_sizes(group.size, own.size)
                or (None if own.sha256 else "not hashed now: a sparse file"),
            )
        if group.inside:
            if failure is not None:
                self.report.unreadable += len(group.inside)
                yield Difference("unreadable", top, detail=f"cannot read it again: {failure}")
                return
            yield from self._members(group, [s for s in seen[1:] if s.suspect != top])

    def _members(self, group: _Group, seen: list[_Seen]) -> Iterator[Difference]:
        now: dict[_Key, _Seen] = {}
        counts: Counter[tuple[str, bool]] = Counter()
        for entry in seen:
            counts[entry.suspect, entry.container] += 1
            now[_Key(entry.suspect, entry.container, counts[entry.suspect, entry.container])] = (
                entry
            )
        counts.clear()
        for listed in group.inside:
            counts[listed.suspect, listed.container] += 1
            key = _Key(listed.suspect, listed.container, counts[listed.suspect, listed.container])
            found = now.pop(key, None)
            if found is None:
                self.report.missing += 1
                yield Difference("missing", listed.suspect, listed.container, listed.sha256)
            elif listed.sha256 is None:
                self.report.present += 1
            elif found.sha256 == listed.sha256:
                self.report.identical += 1
            else:
                self.report.changed += 1
                yield Difference(
                    "changed",
                    listed.suspect,
                    listed.container,
                    listed.sha256,
                    found.sha256,
                    _sizes(listed.size, found.size) or found.error,
                )
        for key, found in now.items():
            self.report.added += 1
            yield Difference("added", key.suspect, key.container, None, found.sha256, found.error)

    def _missing(self, top: str, group: _Group) -> Difference:
        inside = len(group.inside)
        self.report.missing += len(group.own) + inside
        detail = f"with the {inside} items read from it" if inside else None
        container = any(e.container for e in group.own)
        return Difference("missing", top, container, group.sha256, detail=detail)


def _sizes(before: int | None, after: int | None) -> str | None:
    if before is None or after is None or before == after:
        return None
    return f"{before} bytes then, {after} now"


def _limits(listed: object) -> ArchiveLimits:
    """The archive limits the scan read under (those the inventory records)."""
    if not isinstance(listed, dict):
        return ArchiveLimits()
    known = {f.name for f in dataclasses.fields(ArchiveLimits)}
    values = {k: v for k, v in listed.items() if k in known and isinstance(v, int)}
    try:
        return ArchiveLimits(**values)
    except (TypeError, ValueError, ConfigurationError) as exc:
        raise ConfigurationError(f"the inventory's archive limits are not valid: {exc}") from exc


# -- the worker side -----------------------------------------------------------------

_worker_limits = ArchiveLimits()


def _init_verifier(limits: ArchiveLimits) -> None:
    global _worker_limits
    _worker_limits = limits


def _verify_job(job: _Job, progress: Progress) -> None:
    """Hash one file; read it again as the scan did when it is not the file listed."""
    limits = _worker_limits
    try:
        own = hash_file(job.path, lambda: progress.step(job.name, "read"), limits.max_member_bytes)
    except OSError as exc:
        progress.part(_Seen(job.name, False, None, None, f"cannot read: {exc.strerror or exc}"))
        return
    progress.part(_Seen(job.name, False, own.sha256, own.size))
    if not job.expand or (job.expected is not None and own.sha256 == job.expected):
        return
    expander = Expander(limits, hash_containers=True)
    for entry, _ in expander.located(FileJob(job.name, job.path), progress):
        if isinstance(entry, Opened):
            progress.part(_Seen(entry.name, True, entry.sha256, entry.size))
        elif isinstance(entry, Item):
            if entry.data is not None:
                sha256 = hashlib.sha256(entry.data).hexdigest()
                progress.part(_Seen(entry.name, False, sha256, len(entry.data)))
        elif not isinstance(entry, NoteRecord | ExtractionRecord):
            reason = entry.reason if isinstance(entry, SkippedRecord) else entry.error
            progress.part(_Seen(entry.suspect, False, None, None, reason))
