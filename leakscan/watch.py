"""Continuous scanning of drop folders: a thin adapter from watchdog events to the Scanner.

Events only say *which* paths to look at. A path is scanned once it has
settled (size and mtime unchanged for ``settle`` seconds; a ZIP once it
opens), by the same ``Scanner`` the CLI uses, in worker processes. What was
scanned is kept in a small SQLite state file keyed by content hash and index
scheme, so a restart neither misses what arrived while it was down nor
repeats what it already reported. Stopping lets the items in flight finish;
whatever was still waiting is picked up by the next start.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from .errors import ConfigurationError
from .index import Index
from .isolation import Done, Failure, Pool
from .names import printable
from .records import (
    AlsoAtRecord,
    ErrorRecord,
    Finding,
    LeadRecord,
    Record,
    SkippedRecord,
    outcome_of,
)
from .scan import ScanOptions, _init_worker, _work_path
from .walk import Item, display_name, hash_evidence, open_evidence, walk

__all__ = ["WatchOptions", "WatchState", "WatchStats", "Watcher"]

log = logging.getLogger(__name__)


class ObserverLike(Protocol):
    """What the watcher needs of a watchdog observer (native or polling)."""

    def schedule(
        self, event_handler: FileSystemEventHandler, path: str, *, recursive: bool = ...
    ) -> Any: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def join(self, timeout: float | None = ...) -> None: ...


class WatchState:
    """Which contents were scanned with which index scheme (a SQLite file)."""

    def __init__(self, path: str | os.PathLike[str], scheme_key: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.scheme_key = scheme_key
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS scanned (sha256 TEXT NOT NULL, scheme TEXT NOT NULL,"
                " path TEXT NOT NULL, outcome TEXT NOT NULL, findings INTEGER NOT NULL,"
                " scanned_at TEXT NOT NULL, PRIMARY KEY (sha256, scheme))"
            )
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"cannot use watch state file {self.path}: {exc}") from exc

    def seen(self, sha256: str) -> bool:
        return self.first_seen(sha256) is not None

    def first_seen(self, sha256: str) -> tuple[str, int] | None:
        """(path, findings) of the first scan of a content, if it was scanned."""
        row = self._db.execute(
            "SELECT path, findings FROM scanned WHERE sha256 = ? AND scheme = ?",
            (sha256, self.scheme_key),
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def record(self, sha256: str, path: str, outcome: str, findings: int) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO scanned VALUES (?, ?, ?, ?, ?, ?)",
            (
                sha256,
                self.scheme_key,
                path,
                outcome,
                findings,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            ),
        )

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM scanned").fetchone()[0])

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class WatchOptions:
    """How the watcher decides a file is complete and how hard it works."""

    settle_seconds: float = 2.0
    poll_seconds: float = 0.2
    new_only: bool = False
    scan: ScanOptions = field(default_factory=ScanOptions)
    on_finding: str | None = None
    on_finding_timeout: float = 60.0
    status_every: float = 5.0


@dataclass
class WatchStats:
    """Counters of a watcher's run, for status lines and tests."""

    scanned: int = 0
    already_seen: int = 0
    findings: int = 0
    #: Weak matches of one source in one item added up (``lead`` records): alerted as findings.
    leads: int = 0
    errors: int = 0
    skipped: int = 0
    hook_failures: int = 0


@dataclass
class _Candidate:
    size: int
    mtime_ns: int
    stable_since: float


class _Events(FileSystemEventHandler):
    """watchdog handler: remembers paths, de-duplicated; the watcher does the rest."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        super().__init__()
        self.notify = notify

    # Opening and reading (ours included) must not make a file look new again;
    # a folder's own "modified" says only that its files changed, and they tell.
    _WANTED = frozenset({"created", "modified", "moved", "closed"})

    def dispatch(self, event: FileSystemEvent) -> None:
        if event.event_type not in self._WANTED:
            return
        if event.is_directory and event.event_type == "modified":
            return
        path = event.dest_path if event.event_type == "moved" else event.src_path
        if path:
            self.notify(os.fsdecode(path))


class Watcher:
    """Watches folders and scans what arrives; ``run`` blocks until ``stop``."""

    def __init__(
        self,
        index_location: str | os.PathLike[str],
        folders: Sequence[str | os.PathLike[str]],
        *,
        key_file: str | os.PathLike[str] | None = None,
        options: WatchOptions | None = None,
        output: TextIO | None = None,
        state_path: str | os.PathLike[str] | None = None,
        observer: ObserverLike | None = None,
        echo: Callable[[str], None] | None = None,
        status: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options or WatchOptions()
        self.folders = [os.fspath(f) for f in folders]
        for folder in self.folders:
            if not os.path.isdir(folder):
                raise ConfigurationError(f"cannot watch {folder}: not a folder")
        self.index_location = os.fspath(index_location)
        # The workers reopen the index by location with these key bytes (a key file
        # found here, relative to this folder, may be out of reach for them).
        with Index.open(self.index_location, key_file=key_file, readonly=True) as index:
            self.key = index.key
            scheme_key = json.dumps([index.index_id, index.scheme.to_dict()], sort_keys=True)
        state = state_path or Path(self.index_location).with_suffix(".watch-state.sqlite")
        self.state = WatchState(state, scheme_key)
        self.output = output
        self.echo = echo or (lambda line: None)
        self.status = status or log.info
        self.stats = WatchStats()
        self._observer = observer
        self._lock = threading.Lock()
        self._events: set[str] = set()
        self._candidates: dict[str, _Candidate] = {}
        self._stop = threading.Event()
        self._last_status = 0.0
        self._reported: set[str] = set()

    # -- events ----------------------------------------------------------

    def _notify(self, path: str) -> None:
        with self._lock:
            self._events.add(path)

    def _take_events(self) -> set[str]:
        with self._lock:
            events, self._events = self._events, set()
        return events

    def _expand(self, paths: set[str]) -> None:
        """Turn event paths (files, or folders moved in) into candidates."""
        for path in paths:
            if os.path.isdir(path) and not os.path.islink(path):
                for entry in walk([path]):
                    if isinstance(entry, Item):
                        self._observe(entry.path)
                    else:  # a FIFO, socket or link: reported, never opened
                        self._write(entry)
            else:
                self._observe(path)

    def _observe(self, path: str) -> None:
        try:
            info = os.lstat(path)
        except OSError:
            self._candidates.pop(path, None)  # gone again (a temporary file)
            return
        if not stat.S_ISREG(info.st_mode):  # a FIFO, socket, device or link: never opened
            self._candidates.pop(path, None)
            if path not in self._reported:
                entry = _entry(path)
                if entry is not None and not isinstance(entry, Item):
                    self._reported.add(path)
                    self._write(entry)
            return
        now = time.monotonic()
        known = self._candidates.get(path)
        if known is None or (known.size, known.mtime_ns) != (info.st_size, info.st_mtime_ns):
            self._candidates[path] = _Candidate(info.st_size, info.st_mtime_ns, now)

    def _settled(self) -> list[str]:
        """Candidates whose size and mtime have not changed for the settle time."""
        now = time.monotonic()
        ready = []
        for path in list(self._candidates):
            self._observe(path)
            current = self._candidates.get(path)
            if current is None or now - current.stable_since < self.options.settle_seconds:
                continue
            if path.lower().endswith(".zip") and not _zip_complete(path):
                current.stable_since = now  # still being written: look again later
                continue
            del self._candidates[path]
            ready.append(path)
        return sorted(ready)

    # -- results ---------------------------------------------------------

    def _write(self, record: Record) -> None:
        if self.output is not None:
            self.output.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            self.output.flush()

    def _finish(self, path: str, sha256: str, records: list[Record]) -> None:
        findings = sum(isinstance(r, Finding) for r in records)
        leads = sum(isinstance(r, LeadRecord) for r in records)
        for record in records:
            self._write(record)
            if isinstance(record, Finding):
                self.echo(
                    f"FOUND   {printable(record.suspect)}: {record.kind} of "
                    f"{printable(record.source)} "
                    f"(score {record.score:.2f}, {record.matched_tokens} words)"
                )
                self._run_hook(record)
            elif isinstance(record, LeadRecord):
                # weak one by one, together as strong as a finding: alerted the same way
                self.echo(
                    f"LEAD    {printable(record.suspect)}: {len(record.matches)} matches of "
                    f"{printable(record.source)} add up "
                    f"(score {record.score:.2f}, {record.evidence:.1f} words of evidence)"
                )
                self._run_hook(record)
            elif isinstance(record, ErrorRecord):
                self.echo(f"ERROR   {printable(record.suspect)}: {printable(record.error)}")
        outcome = outcome_of(records)
        self.stats.scanned += 1
        self.stats.findings += findings
        self.stats.leads += leads
        self.stats.errors += outcome == "error"
        self.stats.skipped += outcome == "skipped"
        # a lead is what was found in this content as much as a finding: a copy of it that
        # arrives later is reported as FOUND again
        self.state.record(sha256, path, outcome, findings + leads)

    def _also_at(self, path: str, sha256: str, first: tuple[str, int]) -> None:
        """Known content at a new path: reported there, not scanned again."""
        first_path, findings = first
        if first_path == path:
            return
        record = AlsoAtRecord(display_name(path), sha256, display_name(first_path), findings)
        self._write(record)
        if findings:
            self.echo(
                f"FOUND   {printable(record.suspect)}: same content as "
                f"{printable(record.first_seen_as)} "
                f"({findings} finding(s) or lead(s) there)"
            )

    def _run_hook(self, finding: Finding | LeadRecord) -> None:
        """The --on-finding command, the record (a finding or a lead: see its ``type``) as
        one JSON line on its stdin; its failure is counted and logged, never fatal."""
        command = self.options.on_finding
        if not command:
            return
        try:
            done = subprocess.run(
                command,
                shell=True,
                input=(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n").encode("utf-8"),
                capture_output=True,
                timeout=self.options.on_finding_timeout,
                check=False,
            )
            if done.returncode != 0:
                self.stats.hook_failures += 1
                log.warning(
                    "--on-finding command failed (exit %d): %s",
                    done.returncode,
                    done.stderr.decode("utf-8", "replace").strip()[:200],
                )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.stats.hook_failures += 1
            log.warning("--on-finding command failed: %s", exc)

    def _status(self, queued: int, in_flight: int) -> None:
        now = time.monotonic()
        if now - self._last_status >= self.options.status_every:
            self._last_status = now
            self.status(
                f"watching: {len(self._candidates)} settling, {queued} queued, "
                f"{in_flight} in flight; {self.stats.scanned} scanned, "
                f"{self.stats.findings} findings, {self.stats.leads} leads"
            )

    # -- running ---------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run`` to return: work in flight is stopped and picked up by the next start."""
        self._stop.set()

    def run(self, *, until_idle: float | None = None) -> WatchStats:
        """Watch until :meth:`stop` (or, with ``until_idle``, until nothing happened for
        that many seconds: for tests and one-off catch-up runs)."""
        observer: ObserverLike
        if self._observer is not None:
            observer = self._observer
        else:
            from watchdog.observers import Observer

            observer = Observer()
        handler = _Events(self._notify)
        for folder in self.folders:
            observer.schedule(handler, folder, recursive=True)
        observer.start()
        if not self.options.new_only:
            self._expand(set(self.folders))
        jobs = max(1, self.options.scan.jobs)
        queue: deque[str] = deque()
        in_flight: dict[str, str] = {}  # path -> sha256
        idle_since = time.monotonic()
        isolation = self.options.scan.isolation
        try:
            with Pool(
                isolation, _init_worker, (self.index_location, self.key, self.options.scan)
            ) as pool:
                while not self._stop.is_set():
                    events = self._take_events()
                    if events:
                        self._expand(events)
                    queue.extend(self._settled())
                    while queue and len(in_flight) < 2 * jobs:
                        self._start(queue.popleft(), pool, in_flight)
                    wait = self.options.poll_seconds if in_flight else 0.0
                    for done in pool.poll(wait):  # wakes as soon as a worker is done
                        self._done(done, pool, in_flight)
                    self._status(len(queue), len(in_flight))
                    busy = events or queue or in_flight or self._candidates
                    now = time.monotonic()
                    if busy:
                        idle_since = now
                    elif until_idle is not None and now - idle_since >= until_idle:
                        break
                    if not in_flight:
                        self._stop.wait(self.options.poll_seconds)
                if self._stop.is_set():
                    pool.kill()  # stop now: what was in flight is scanned at the next start
        finally:
            observer.stop()
            observer.join(timeout=10)
        return self.stats

    def _start(self, path: str, pool: Pool, in_flight: dict[str, str]) -> None:
        """Hash a settled file in a worker: even a huge or sparse one never holds up the loop."""
        entry = _entry(path)
        if not isinstance(entry, Item):
            if entry is not None:  # a FIFO, socket or link: never opened
                self._write(entry)
            return
        if path in in_flight:
            return
        in_flight[path] = ""  # hashing
        pool.submit(("hash", path), _sha256, path)

    def _done(self, done: Done[tuple[str, str]], pool: Pool, in_flight: dict[str, str]) -> None:
        step, path = done.key
        if step == "scan":
            self._finish(path, in_flight.pop(path), _result(done, path))
            return
        sha256 = done.result
        if not isinstance(sha256, str):  # gone, unreadable, or its hashing was stopped
            in_flight.pop(path)
            if isinstance(sha256, Failure):
                self._write(ErrorRecord(display_name(path), f"cannot hash: {sha256.reason}"))
            return
        first = self.state.first_seen(sha256)
        if first is not None or sha256 in in_flight.values():
            in_flight.pop(path)
            self.stats.already_seen += 1
            if first is not None:
                self._also_at(path, sha256, first)
            return
        in_flight[path] = sha256
        pool.submit(("scan", path), _work_path, path)

    def close(self) -> None:
        self.state.close()


def _result(done: Done[tuple[str, str]], path: str) -> list[Record]:
    if isinstance(done.result, Failure):
        return [ErrorRecord(display_name(path), done.result.reason)]
    return list(done.result)


def _entry(path: str) -> Item | SkippedRecord | ErrorRecord | None:
    """The one walk entry of a single path; None if it is gone."""
    try:
        return next(iter(walk([path])), None)
    except ConfigurationError:
        return None


def _sha256(path: str) -> str | None:
    try:
        return hash_evidence(path)[0]
    except OSError:
        return None


def _zip_complete(path: str) -> bool:
    """Whether a ZIP has been written to its end: its end-of-central-directory record is
    in its last 64 KiB (read bounded, regular files only; the ZIP is parsed by a worker)."""
    try:
        with open_evidence(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - (1 << 16) - 22))
            tail = handle.read()
    except OSError:
        return False
    return b"PK\x05\x06" in tail
