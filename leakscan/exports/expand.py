"""One file on disk → scannable items: archives and e-mails opened, chat exports inside found.

This runs in a worker process (see :mod:`leakscan.isolation`), under its
time limit and memory cap: the scanning process only walks folders
(:mod:`.folders`). Archives (and archives in archives, and e-mail
attachments) are read in memory under
:class:`~leakscan.exports.archives.ArchiveLimits`; their members become
items named ``outer.zip!inner/path`` (a second member of the same name
``outer.zip!inner/path#2``). A chat export inside an archive is found by
its content; the attachments it names are tied to the message that sent
them. Whatever goes wrong in one container becomes an ``error`` record for
that container and reading goes on with the next.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import IO, Any, NamedTuple

from ..errors import ExtractionError
from ..extract import OLE_MAGIC
from ..isolation import Done, Isolation, Progress
from ..names import Occurrences, child_locator
from ..records import ErrorRecord, ExtractionRecord, NoteRecord, SkippedRecord
from ..walk import Item, open_evidence
from .archives import (
    ArchiveLimits,
    Budget,
    Member,
    Refused,
    archive_kind,
    read_archive,
    unsafe_name,
)
from .chat import ChatContext, SentIn
from .chat_apps import DATABASE, UFDR
from .databases import SQLITE_MAGIC, encrypted_backup
from .folders import (
    CHAT_HEAD_BYTES,
    FileJob,
    Walker,
    attachment_location,
    chat_app,
    chat_candidate,
    link_chat,
)
from .media_links import (
    DatabaseLinks,
    Resolver,
    companion_names,
    database_candidate,
    database_context,
    link_database,
    link_messages,
)

__all__ = ["CONTAINER_MIME", "Container", "Entry", "Expander", "Opened", "resume_after"]

_HEAD = 8192
_HASH_TICK = 256 << 20  # a long hash reports progress, so the step time limit does not cut it


#: The MIME type of each kind of container the Expander opens (for inventories).
CONTAINER_MIME = {
    "zip": "application/zip",
    "tar": "application/x-tar",
    "7z": "application/x-7z-compressed",
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "mbox": "application/mbox",
    "eml": "message/rfc822",
    "msg": "application/vnd.ms-outlook",
}


@dataclass(frozen=True)
class Opened:
    """An archive or e-mail was opened; its members follow as items of their own.

    ``sha256`` and ``size`` are of the container's own bytes (``sha256``
    None: not hashed, a sparse decoy on disk, or a container in memory when
    the Expander does not hash those); ``mime`` its type as the reader took it.
    """

    name: str
    kind: str
    sha256: str | None = None
    size: int | None = None
    mime: str | None = None


class Container(NamedTuple):
    """One container enclosing an entry: its locator and the sha256 of its bytes."""

    name: str
    sha256: str | None


Entry = Item | SkippedRecord | ErrorRecord | NoteRecord | ExtractionRecord | Opened
Tick = Callable[[], None]


def _no_tick() -> None:
    pass


@dataclass(frozen=True)
class _Tagged:
    """What a forensic report says of one file it holds: where it lay, its hashes."""

    device_path: str
    sha256: str | None
    md5: str | None


@dataclass
class _Chats:
    """Chats (text exports, apps' databases, a forensic report's messages) found in one
    archive and the attachments they sent, by member location."""

    contexts: dict[str, ChatContext]
    sent: dict[str, SentIn]
    tagged: dict[str, _Tagged] = field(default_factory=dict)
    extractions: list[ExtractionRecord] = field(default_factory=list)


_NO_CHATS = _Chats({}, {})


def _mail_kind(head: bytes, handle: IO[bytes], name: str) -> str | None:
    """Which message the content is ("msg", "mbox", "eml"), or None; by content: OLE by
    its streams, a mailbox by its From separator line and headers.

    A legacy Word, Excel or PowerPoint file renamed .msg stays a document; a
    container too damaged to list is taken at its name, so the mail reader's
    error says what is wrong with it.
    """
    from ..extract.ole import MSG, ole_kind
    from .mail import looks_like_eml
    from .mbox import looks_like_mbox

    if head.startswith(OLE_MAGIC):
        kind = ole_kind(handle)
        if kind == MSG or (kind is None and name.lower().endswith(".msg")):
            return "msg"
        return None
    if looks_like_mbox(head):
        return "mbox"
    if looks_like_eml(head):
        return "eml"
    return None


def _sparse_decoy(info: os.stat_result, limit: int) -> bool:
    """A file far larger than what it stores (holes read as zeros): judged from stat alone."""
    stored = getattr(info, "st_blocks", 0) * 512
    return info.st_size > limit and stored < info.st_size // 2


class Expander:
    """Expands files into items, under archive limits shared by each outermost archive."""

    def __init__(
        self, limits: ArchiveLimits | None = None, *, hash_containers: bool = False
    ) -> None:
        self.limits = limits or ArchiveLimits()
        #: Hash containers inside others (and e-mails) for their Opened entries and the
        #: chains of :meth:`located`; off, only the file on disk is hashed (cheaper).
        self.hash_containers = hash_containers
        #: The containers open at this point of the expansion, outermost first.
        self._open: list[Container] = []

    def expand(
        self, targets: Sequence[str | os.PathLike[str]], isolation: Isolation | None = None
    ) -> Iterator[Entry]:
        """Every item below the targets, in this process (for tools and benchmarks)."""
        for job in Walker(isolation).jobs(targets):
            if isinstance(job, FileJob):
                yield from self.expand_file(job)
            else:
                yield job

    def stepped(self, job: FileJob, progress: Progress) -> Iterator[Entry]:
        """The entries of one file job in a worker, each its own step of the time limit.

        Reading up to an entry is a "read" step of the file; working on an
        item, a "scan" step of that item (announced here, before it is yielded).
        Entries a previous attempt already reported (``job.skip``) are passed
        over; see :func:`resume_after`.
        """
        entries = self.expand_file(job, tick=lambda: progress.step(job.name, "read"))
        number = 0
        while True:
            progress.step(job.name, "read")
            entry = next(entries, None)
            if entry is None:
                return
            number += 1
            if number <= job.skip:
                continue
            if isinstance(entry, Item):
                progress.step(entry.name, "scan")
            yield entry

    def located(
        self, job: FileJob, progress: Progress
    ) -> Iterator[tuple[Entry, tuple[Container, ...]]]:
        """:meth:`stepped`, each entry with the containers it lies in, outermost first
        (an entry about a container itself, its ``Opened`` or its error, lists only
        those around it): the chain of custody of an archive member."""
        for entry in self.stepped(job, progress):
            yield entry, self._enclosing(entry)

    def _enclosing(self, entry: Entry) -> tuple[Container, ...]:
        name = entry.name if isinstance(entry, Item | Opened) else entry.suspect
        chain = self._open
        if chain and chain[-1].name == name:  # the container's own text or error
            chain = chain[:-1]
        return tuple(chain)

    def _own(self, data: bytes) -> _Own:
        """A container in memory: its size, and its sha256 when containers are hashed."""
        return _Own(hashlib.sha256(data).hexdigest() if self.hash_containers else None, len(data))

    @contextmanager
    def _inside(self, name: str, sha256: str | None) -> Iterator[None]:
        """Entries yielded in this block lie in the container ``name``."""
        self._open.append(Container(name, sha256))
        try:
            yield
        finally:
            self._open.pop()

    def expand_file(self, job: FileJob, tick: Tick = _no_tick) -> Iterator[Entry]:
        """The items of one file on disk: itself, or an archive's or e-mail's members."""
        try:
            handle = open_evidence(job.path)
        except OSError as exc:
            yield ErrorRecord(job.name, f"cannot read: {exc.strerror or exc}")
            return
        with handle:
            try:
                info = os.fstat(handle.fileno())
                head = handle.read(_HEAD)
                kind = archive_kind(head, handle, job.name) if head else None
                mail = None if kind or not head else _mail_kind(head, handle, job.name)
            except OSError as exc:
                yield ErrorRecord(job.name, f"cannot read: {exc.strerror or exc}")
                return
            if not kind and not mail:
                backup = encrypted_backup(job.name, head)
                if backup is not None:
                    yield ErrorRecord(job.name, backup)
                    return
                chat = job.chat
                if chat is None and head.startswith(SQLITE_MAGIC):
                    chat = database_context(job.path)  # told by content, whatever its name
                yield Item(job.name, job.path, sent_in=job.sent_in, chat=chat, notes=job.notes)
                return
            if _sparse_decoy(info, self.limits.max_member_bytes):
                # Hashing its holes would take minutes: read what it holds, unhashed.
                stored = info.st_blocks * 512
                sha256 = ""
                yield NoteRecord(
                    job.name,
                    f"sparse file: {info.st_size} bytes long but only {stored} stored; "
                    "its sha256 was not computed (its holes are zeros), its contents are read",
                )
            else:
                try:
                    sha256 = _hash_handle(handle, tick)
                except OSError as exc:
                    yield ErrorRecord(job.name, f"cannot read: {exc.strerror or exc}")
                    return
            budget = _budget(self.limits, info.st_size)
            own = _Own(sha256 or None, info.st_size)
            if kind:
                yield from self._open_archive(
                    kind, handle, job.name, own, job.path, sha256, budget, 1
                )
                return
            assert mail is not None
            if mail == "mbox":  # streamed, a message at a time: a mailbox can be gigabytes
                yield from self._mbox(handle, job.name, own, job.path, sha256, None, 1, tick)
                return
            if info.st_size > self.limits.max_member_bytes:
                limit = f"larger than the {self.limits.max_member_bytes}-byte limit"
                yield SkippedRecord(job.name, f"{limit} ({info.st_size} bytes)", None, sha256)
                return
            handle.seek(0)
            data = handle.read()
        yield from self._mail(mail, data, job.name, job.path, sha256, budget, 1, own=own)

    # -- archives and e-mail --------------------------------------------------------

    def _open_archive(
        self,
        kind: str,
        handle: IO[bytes],
        name: str,
        own: _Own,
        holder: str,
        sha256: str,
        budget: Budget,
        depth: int,
    ) -> Iterator[Entry]:
        size = own.size
        yield Opened(name, kind, own.sha256, size, CONTAINER_MIME.get(kind))
        try:
            chats = self._archive_chats(kind, handle, name, size)
        except Exception:  # a damaged archive: the reading pass below says how
            chats = _NO_CHATS
        for extraction in chats.extractions:
            yield replace(extraction, suspect_sha256=sha256)
        handle.seek(0)
        seen = Occurrences()
        try:
            with self._inside(name, own.sha256):
                for member in read_archive(kind, handle, name, size, budget):
                    full = child_locator(name, member.name, seen(member.name))
                    if isinstance(member, Refused):
                        if member.error:
                            yield ErrorRecord(full, member.reason, sha256)
                        else:
                            yield SkippedRecord(full, member.reason, member.mime, sha256)
                        continue
                    yield from self._member(full, member, chats, holder, sha256, budget, depth)
        except ExtractionError as exc:
            yield ErrorRecord(name, str(exc), sha256)
        except Exception as exc:  # no exception from evidence ends the scan
            yield ErrorRecord(name, f"damaged {kind} archive: {_describe(exc)}", sha256)

    def _archive_chats(self, kind: str, handle: IO[bytes], name: str, size: int) -> _Chats:
        """First pass: every member name, and the chats among them (text exports, apps'
        databases with their logs and contacts, a forensic report), linked to the
        members they sent."""
        names: set[str] = set()

        def select(member: str) -> bool:
            names.add(posixpath.normpath(member.replace("\\", "/")))
            return _first_pass_candidate(member) and unsafe_name(member) is None

        chats = _Chats({}, {})
        found: dict[str, bytes] = {}
        try:
            for member in read_archive(kind, handle, name, size, Budget(self.limits), select):
                if isinstance(member, Member):
                    found.setdefault(member.name, member.data)
        except ExtractionError:
            pass  # the second pass reports it
        from .ufdr import looks_like_report

        resolve: Resolver | None = None
        for location, data in found.items():
            folder = posixpath.dirname(location)
            base = posixpath.basename(location).lower()
            if base == "report.xml" and looks_like_report(data[:CHAT_HEAD_BYTES]):
                resolve = resolve or Resolver(names)
                self._link_report(location, data, name, chats, resolve)
                continue
            if data.startswith(SQLITE_MAGIC):
                resolve = resolve or Resolver(names)
                self._link_database(location, data, found, name, chats, resolve)
                continue
            app = chat_app(data[:CHAT_HEAD_BYTES], location)
            if app is None:
                continue

            def present(attachment: str, folder: str = folder) -> str | None:
                where = attachment_location(folder, attachment, names.__contains__)
                return where if where in names else None

            links = link_chat(app, io.BytesIO(data), f"{name}!{location}", present)
            if links is None or not links.messages:
                continue
            chats.contexts[location] = ChatContext(app, links.missing)
            for where, sent in links.sent.items():
                chats.sent.setdefault(where, sent)
        return chats

    @staticmethod
    def _link_database(
        location: str,
        data: bytes,
        found: dict[str, bytes],
        name: str,
        chats: _Chats,
        resolve: Resolver,
    ) -> None:
        """An app's database in an archive, with its log and contacts from the same folder."""
        folder = posixpath.dirname(location)
        wal_name, contacts_name = companion_names(posixpath.basename(location))
        contacts = found.get(posixpath.join(folder, contacts_name)) if contacts_name else None
        context = ChatContext(
            DATABASE, wal=found.get(posixpath.join(folder, wal_name)), contacts=contacts
        )
        try:
            links = link_database(DATABASE, io.BytesIO(data), f"{name}!{location}", context)
        except ExtractionError:
            links = None  # not one leakscan reads: the scan of it says so
        _store_links(location, links, context, chats, resolve)

    @staticmethod
    def _link_report(
        location: str, data: bytes, name: str, chats: _Chats, resolve: Resolver
    ) -> None:
        """A Cellebrite report: the case it records, the files it tags (with the device
        path and hashes each had), and its messages linked to the files they sent."""
        from . import ufdr

        try:
            report = ufdr.read_report(io.BytesIO(data))
        except ExtractionError:
            chats.contexts[location] = ChatContext(UFDR)  # the scan of it says what failed
            return
        chats.extractions.append(
            ExtractionRecord(name, "Cellebrite UFDR", dict(report.case), dict(report.device))
        )
        base = posixpath.dirname(location)
        for local, tagged in report.files_by_local_path.items():
            where = posixpath.normpath(posixpath.join(base, local.replace("\\", "/")))
            chats.tagged[where] = _Tagged(tagged.device_path, tagged.sha256, tagged.md5)
        try:  # the messages, with the inventory of files just read (not read again)
            messages = ufdr.iter_messages(io.BytesIO(data), report)
            links = link_messages(messages, f"{name}!{location}")
        except ExtractionError:
            links = None
        _store_links(location, links, ChatContext(UFDR), chats, resolve)

    def _member(
        self,
        full: str,
        member: Member,
        chats: _Chats,
        holder: str,
        sha256: str,
        budget: Budget,
        depth: int,
        notes: tuple[str, ...] = (),
    ) -> Iterator[Entry]:
        data = member.data
        notes = (*member.notes, *notes)
        try:
            kind = archive_kind(data[:_HEAD], io.BytesIO(data), member.name) if data else None
            mail = (
                None
                if kind or not data
                else _mail_kind(data[:_HEAD], io.BytesIO(data), member.name)
            )
        except Exception as exc:
            yield ErrorRecord(full, f"cannot tell its type: {_describe(exc)}", sha256)
            return
        if (kind or mail) and depth >= self.limits.max_depth:
            yield ErrorRecord(
                full,
                f"refused: containers nested more than {self.limits.max_depth} deep "
                "(decompression bomb?)",
                sha256,
            )
            return
        own = self._own(data)
        if kind:
            yield from self._open_archive(
                kind, io.BytesIO(data), full, own, holder, sha256, budget, depth + 1
            )
            return
        if mail:
            yield from self._mail(mail, data, full, holder, sha256, budget, depth + 1, own=own)
            return
        backup = encrypted_backup(member.name, data[:_HEAD])
        if backup is not None:
            yield ErrorRecord(full, backup, sha256)
            return
        location = posixpath.normpath(member.name.replace("\\", "/"))
        chat = chats.contexts.get(member.name)
        if chat is None and data.startswith(SQLITE_MAGIC):
            chat = ChatContext(DATABASE)  # told by content, whatever its name
        tagged = chats.tagged.get(location)
        if tagged is not None:
            notes = (*notes, *_hash_check(tagged, data))
        yield Item(
            full,
            holder,
            data=data,
            holder_sha256=sha256,
            sent_in=chats.sent.get(location),
            chat=chat,
            notes=notes,
            device_path=tagged.device_path if tagged else None,
        )

    def _mail(
        self,
        kind: str,
        data: bytes,
        name: str,
        holder: str,
        sha256: str,
        budget: Budget,
        depth: int,
        notes: tuple[str, ...] = (),
        own: _Own | None = None,
    ) -> Iterator[Entry]:
        if own is None:
            own = self._own(data)
        if kind == "mbox":  # a mailbox inside an archive or a mail: already in memory
            yield from self._mbox(io.BytesIO(data), name, own, holder, sha256, budget, depth)
            return
        try:
            with self._inside(name, own.sha256):
                yield from self._read_mail(
                    kind, data, name, own, holder, sha256, budget, depth, notes
                )
        except Exception as exc:  # no exception from evidence ends the scan
            yield ErrorRecord(name, f"damaged e-mail: {_describe(exc)}", sha256)

    def _mbox(
        self,
        stream: IO[bytes],
        name: str,
        own: _Own,
        holder: str,
        sha256: str,
        budget: Budget | None,
        depth: int,
        tick: Tick = _no_tick,
    ) -> Iterator[Entry]:
        """An mbox mailbox: each message an e-mail of its own, ``<mailbox>#msg=<n>``.

        A mailbox on disk is like a folder of .eml files: each message gets
        its own budget (``budget`` None); inside an archive they share the
        archive's. A message that cannot be read costs that message only.
        """
        yield Opened(name, "mbox", own.sha256, own.size, CONTAINER_MIME["mbox"])
        with self._inside(name, own.sha256):
            yield from self._messages(stream, name, holder, sha256, budget, depth, tick)

    def _messages(
        self,
        stream: IO[bytes],
        name: str,
        holder: str,
        sha256: str,
        budget: Budget | None,
        depth: int,
        tick: Tick,
    ) -> Iterator[Entry]:
        from .mbox import iter_mbox

        limit = self.limits.max_member_bytes
        messages = iter_mbox(stream, max_message_bytes=limit, tick=tick)
        number = 0
        while True:
            try:
                message = next(messages, None)
            except ExtractionError as exc:
                yield ErrorRecord(name, str(exc), sha256)
                return
            except OSError as exc:
                after = f"; messages after #{number} were not read" if number else ""
                yield ErrorRecord(name, f"cannot read: {exc.strerror or exc}{after}", sha256)
                return
            except Exception as exc:  # no exception from evidence ends the scan
                yield ErrorRecord(name, f"damaged mailbox: {_describe(exc)}", sha256)
                return
            if message is None:
                return
            number = message.number
            full = f"{name}#msg={number}"
            if message.too_large:
                reason = f"larger than the {limit}-byte limit ({message.size} bytes)"
                yield SkippedRecord(full, reason, None, sha256)
                continue
            if not message.data.strip():
                yield ErrorRecord(full, "empty message (a From line with nothing after it)", sha256)
                continue
            own = budget if budget is not None else _budget(self.limits, message.size)
            yield from self._mail(
                "eml", message.data, full, holder, sha256, own, depth, message.notes
            )

    def _read_mail(
        self,
        kind: str,
        data: bytes,
        name: str,
        own: _Own,
        holder: str,
        sha256: str,
        budget: Budget,
        depth: int,
        notes: tuple[str, ...] = (),
    ) -> Iterator[Entry]:
        from .mail import read_eml, read_msg

        # The reader bounds parts, nesting and header sizes itself, keeping what
        # it read before a limit (its notes say where it stopped).
        limit = self.limits.max_member_bytes
        try:
            mail = (
                read_msg(data, max_attachment_bytes=limit)
                if kind == "msg"
                else read_eml(data, max_attachment_bytes=limit)
            )
        except ExtractionError as exc:
            yield ErrorRecord(name, str(exc), sha256)
            return
        yield Opened(name, "e-mail", own.sha256, own.size, CONTAINER_MIME[kind])
        # Findings in the mail and in what it carried say who sent it and when; on the
        # mail's own text, a SentIn naming the mail itself gives just that (see Item).
        sent = SentIn(name, mail.sender, mail.sent_at) if mail.sender or mail.sent_at else None
        # What the reader had to cut or guess is a note on the mail: it was read.
        yield Item(
            name,
            holder,
            data=data,
            text=mail.text,
            holder_sha256=sha256,
            sent_in=sent,
            notes=(*notes, *mail.problems),
        )
        seen = Occurrences()
        for part in mail.attachments:
            full = child_locator(name, part.name, seen(part.name))
            problem = unsafe_name(part.name)
            try:
                budget.count_member()
            except ExtractionError as exc:
                yield ErrorRecord(name, str(exc), sha256)
                return
            if part.too_large:
                size = f" ({part.size} bytes)" if part.size is not None else ""
                yield SkippedRecord(full, f"larger than the {limit}-byte limit{size}", None, sha256)
                continue
            odd = (f"suspicious attachment name: {problem}",) if problem else ()
            member = Member(part.name, part.data)
            for entry in self._member(full, member, _NO_CHATS, holder, sha256, budget, depth, odd):
                # What the mail carried (in a ZIP it attached too) was sent with it; a mail
                # forwarded inside keeps its own sender.
                if sent is not None and isinstance(entry, Item) and entry.sent_in is None:
                    entry = replace(entry, sent_in=sent)
                yield entry


class _Own(NamedTuple):
    """A container's own bytes: their sha256 (None: not hashed) and size."""

    sha256: str | None
    size: int


def resume_after(job: FileJob, done: Done[Any]) -> FileJob | None:
    """The job again from the entry after the item that stopped its worker (each entry
    reported one part); None when reading the file itself could not go on."""
    if done.step_kind != "scan":
        return None
    return replace(job, skip=job.skip + len(done.parts) + 1)


def _store_links(
    location: str,
    links: DatabaseLinks | None,
    context: ChatContext,
    chats: _Chats,
    resolve: Resolver,
) -> None:
    """A database's or report's chat context, and the members its messages sent."""
    if links is None:
        chats.contexts[location] = context
        return
    chats.contexts[location], sent = links.resolve(resolve, context)
    for where, message in sent.items():
        chats.sent.setdefault(posixpath.normpath(where), message)


def _first_pass_candidate(member: str) -> bool:
    """Members read in the first pass over an archive: what may be a chat, an app's
    database or its log, or a forensic report."""
    base = posixpath.basename(member.replace("\\", "/")).lower()
    return (
        chat_candidate(member)
        or database_candidate(base)
        or base.endswith("-wal")
        or base == "report.xml"
    )


def _hash_check(tagged: _Tagged, data: bytes) -> tuple[str, ...]:
    """A note when the bytes read are not the ones the report hashed (none when they are)."""
    for algorithm, recorded in (("sha256", tagged.sha256), ("md5", tagged.md5)):
        if recorded:
            actual = hashlib.new(algorithm, data).hexdigest()
            if actual != recorded.strip().lower():
                return (
                    f"the extraction report gives {algorithm.upper()} {recorded.strip()} "
                    f"for this file, but its bytes hash to {actual}",
                )
            return ()
    return ()


def _budget(limits: ArchiveLimits, on_disk: int) -> Budget:
    """One outermost archive's budget: it may expand to a multiple of its size on disk."""
    return Budget(limits, on_disk=on_disk)


def _describe(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _hash_handle(handle: IO[bytes], tick: Tick) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    done = 0
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
        done += len(block)
        if done % _HASH_TICK < len(block):
            tick()
    handle.seek(0)
    return digest.hexdigest()
