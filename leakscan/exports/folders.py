"""Targets → file jobs, in the scanning process, which never parses evidence.

The walk only lists folders (iteratively: no depth can exhaust the stack)
and looks at file types with ``lstat``. The one thing it reads is the first
64 KiB of a ``.txt``/``.json`` file beside the others, opened non-blocking
and only if it is a regular file, to tell whether it may be a chat export;
a likely chat is then parsed in a sandboxed worker (time limit and memory
cap), which returns only the links between its messages and the files
beside it: which message sent which attachment, and which attachments the
export lacks. Everything else is read by workers (see :mod:`.expand`).
"""

from __future__ import annotations

import itertools
import os
import posixpath
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from ..errors import ExtractionError
from ..isolation import Failure, Isolation, Pool
from ..records import ErrorRecord, SkippedRecord
from ..walk import display_name, open_evidence, walk_entries, walk_target
from .chat import ChatContext, SentIn
from .databases import SQLITE_MAGIC
from .media_links import (
    MAX_REFERENCES,
    DatabaseLinks,
    Resolver,
    database_candidate,
    database_context,
    link_database,
    reference_parts,
)

_R = TypeVar("_R")

__all__ = [
    "CHAT_HEAD_BYTES",
    "ChatLinks",
    "FileJob",
    "Walker",
    "attachment_location",
    "chat_app",
    "chat_links",
    "link_chat",
    "link_database_file",
]

#: Bytes of a candidate read to tell whether it may be a chat export.
CHAT_HEAD_BYTES = 1 << 16


@dataclass(frozen=True)
class FileJob:
    """A regular file for a worker to open and read, whatever it holds.

    ``chat`` marks a chat export file (scanned message by message),
    ``sent_in`` the chat message that sent this file as an attachment.
    ``skip`` counts the entries a previous attempt already reported (a job
    resumed after one of its members stopped a worker).
    """

    name: str
    path: str
    chat: ChatContext | None = None
    sent_in: SentIn | None = None
    skip: int = 0
    #: Facts about the file found while walking (a chat file that could not be parsed).
    notes: tuple[str, ...] = ()


def chat_candidate(name: str) -> bool:
    """Whether a file's name allows it to be a chat export (``.js``: an X archive's data)."""
    return name.lower().endswith((".txt", ".json", ".js"))


def chat_app(head: bytes, name: str) -> str | None:
    """Which app's chat export a file may be ("whatsapp", "telegram", or a social archive's
    app: see :data:`.social.APPS`), from its name and first bytes."""
    from . import social, telegram, whatsapp

    lower = name.lower()
    if lower.endswith(".js"):
        return social.looks_like_export(head, name)
    if lower.endswith(".json"):
        if telegram.looks_like_export(head):
            return "telegram"
        return social.looks_like_export(head, name)
    for bom, encoding in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            text = head[2:].decode(encoding, "ignore")
            return "whatsapp" if whatsapp.looks_like_chat(text) else None
    return "whatsapp" if whatsapp.looks_like_chat(head.decode("utf-8", "ignore")) else None


@dataclass
class ChatLinks:
    """What one chat file says about the files around it (paths as on disk, normalized)."""

    app: str
    missing: frozenset[str] = frozenset()
    sent: dict[str, SentIn] = field(default_factory=dict)
    messages: int = 0


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def link_chat(
    app: str, stream: IO[bytes], chat_name: str, present: Callable[[str], str | None]
) -> ChatLinks | None:
    """Stream a chat for its attachments, in a folder or an archive alike.

    ``present`` maps an attachment's name to where the export holds its file
    (None: not there). None when the chat fails before its first message; a
    chat cut short keeps the links of the messages before the cut (the scan
    of the chat reports the damage).
    """
    from .chat_apps import iter_chat

    links = ChatLinks(app)
    missing: set[str] = set()
    try:
        for message in iter_chat(app, stream):
            links.messages += 1
            for ref in message.attachments:
                if not ref.name:
                    continue
                where = present(ref.name) if ref.included else None
                if where is None:
                    missing.add(ref.name)
                else:
                    sent = SentIn.of(message, chat_name)
                    links.sent.setdefault(where, sent)
    except ExtractionError:
        if not links.messages:
            return None
    links.missing = frozenset(missing)
    return links


def link_database_file(argument: tuple[str, ...]) -> DatabaseLinks | None:
    """The links of an app's database to the media it names; runs in a sandboxed worker."""
    from .chat_apps import DATABASE

    path, name = argument
    with open_evidence(path) as handle:
        return link_database(DATABASE, handle, name, database_context(path))


def chat_links(argument: tuple[str, ...]) -> ChatLinks | None:
    """The links of a chat file beside its attachments; runs in a sandboxed worker."""
    path, name, app = argument
    folder = os.path.dirname(path)

    def present(attachment: str) -> str | None:
        where = attachment_location(folder, attachment, _is_regular, os.path)
        return where if _is_regular(where) else None

    with open_evidence(path) as handle:
        return link_chat(app, handle, name, present)


@dataclass
class _FolderChats:
    contexts: dict[str, ChatContext] = field(default_factory=dict)
    sent: dict[str, SentIn] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


class Walker:
    """Walks targets into file jobs; chat exports in a folder are linked to their files.

    With ``isolation`` (the scanning process) likely chats are parsed in a
    sandboxed worker; without (already inside a worker) in this process.
    """

    def __init__(self, isolation: Isolation | None = None) -> None:
        self.isolation = isolation
        self._folder_chats: dict[str, _FolderChats] = {}
        self._databases = _FolderChats()
        #: Every file a chat of the target being walked was linked to, wherever it lies.
        self._linked: dict[str, SentIn] = {}

    def jobs(
        self, targets: Sequence[str | os.PathLike[str]]
    ) -> Iterator[FileJob | SkippedRecord | ErrorRecord]:
        """Every file below the targets, in a stable order; a missing target is a usage error."""
        for target in targets:
            path = os.fspath(target)
            folder = os.path.isdir(path) and not os.path.islink(path)
            root = path if folder else os.path.dirname(path)
            entries = walk_target(path)  # a missing target raises ConfigurationError
            first = next(entries, None)
            self._databases = self._link_databases(path) if folder else _FolderChats()
            for entry in itertools.chain((first,) if first is not None else (), entries):
                if isinstance(entry, str):
                    yield from self._job(entry, root)
                else:
                    yield entry
            self._folder_chats.clear()
            self._linked.clear()
            self._databases = _FolderChats()

    def _job(self, path: str, root: str) -> Iterator[FileJob]:
        chats = self._chats_in(os.path.dirname(path))
        problem = chats.problems.get(path) or self._databases.problems.get(path)
        yield FileJob(
            display_name(path),
            path,
            chat=chats.contexts.get(path) or self._databases.contexts.get(path),
            sent_in=self._sent_in(path, root),
            notes=(problem,) if problem else (),
        )

    def _link_databases(self, root: str) -> _FolderChats:
        """The apps' databases anywhere below a folder, linked to the media they name
        wherever the extraction holds them (see :mod:`.media_links`).

        Two listings of the folder, no more: one for the databases (a look at
        the first bytes of files named like one), and, when they name media,
        one for the files of those names.
        """
        found = _FolderChats()
        databases = [
            path
            for path in walk_entries(root)
            if isinstance(path, str)
            and database_candidate(os.path.basename(path))
            and _peek_head(path, len(SQLITE_MAGIC)) == SQLITE_MAGIC
        ]
        if not databases:
            return found
        results = self._sandboxed(
            link_database_file, [(path, display_name(path)) for path in databases]
        )
        linked: list[tuple[str, DatabaseLinks]] = []
        for path, result in results:
            if isinstance(result, Failure):
                found.problems[path] = (
                    f"looks like an app's database but could not be read ({result.reason})"
                )
            elif result is not None:
                linked.append((path, result))
        wanted = {
            parts[-1]
            for _, links in linked
            for reference, _ in links.references
            if (parts := reference_parts(reference))
        }
        resolve = Resolver(
            path
            for path in (walk_entries(root) if wanted else ())
            if isinstance(path, str) and os.path.basename(path) in wanted
        )
        for path, links in linked:
            context, sent = links.resolve(resolve, database_context(path))
            found.contexts[path] = context
            for where, message in sent.items():
                found.sent.setdefault(os.path.normpath(where), message)
            if links.dropped:
                found.problems[path] = (
                    f"names more than {MAX_REFERENCES} media files: "
                    f"{links.dropped} were not linked to their messages"
                )
        return found

    def _sandboxed(
        self, function: Callable[[tuple[str, ...]], _R], arguments: list[tuple[str, ...]]
    ) -> list[tuple[str, _R | Failure]]:
        """``function`` over each (path, name), in a sandboxed worker when the walk has one."""
        results: list[tuple[str, _R | Failure]] = []
        if self.isolation is None:
            for argument in arguments:
                try:
                    results.append((argument[0], function(argument)))
                except (OSError, ValueError, ExtractionError) as exc:
                    results.append((argument[0], Failure(f"{type(exc).__name__}: {exc}")))
            return results
        with Pool(self.isolation) as pool:
            for argument in arguments:
                pool.submit(argument[0], function, argument)
            while pool.pending:
                results.extend((done.key, done.result) for done in pool.poll())
        order = {argument[0]: n for n, argument in enumerate(arguments)}
        return sorted(results, key=lambda result: order[result[0]])

    def _sent_in(self, path: str, root: str) -> SentIn | None:
        """The message that sent a file: from a database of the extraction, or from a
        chat in its folder or one above (to root)."""
        normal = os.path.normpath(path)
        linked = self._databases.sent.get(normal)
        if linked is not None:
            return linked
        folder = os.path.dirname(path)
        while True:
            sent = self._chats_in(folder).sent.get(normal)
            if sent is not None:
                return sent
            parent = os.path.dirname(folder)
            if not folder or len(folder) <= len(root) or parent == folder:
                # A chat elsewhere may name it (a Facebook thread's photos under
                # messages/photos/): any chat already linked in this target.
                return self._linked.get(normal)
            folder = parent

    def _chats_in(self, folder: str) -> _FolderChats:
        cached = self._folder_chats.get(folder)
        if cached is not None:
            return cached
        chats = self._folder_chats[folder] = _FolderChats()
        try:
            with os.scandir(folder or ".") as entries:
                names = sorted(e.name for e in entries if chat_candidate(e.name))
        except OSError:
            return chats  # the walk reports an unreadable folder
        likely = []
        for name in names:
            location = os.path.join(folder, name)
            app = _peek_chat(location, name)
            if app is not None:
                likely.append((location, app))
        if len(_PEEKS) > _PEEK_CACHE_SIZE:
            _PEEKS.clear()
        if likely:
            self._link(likely, chats)
        return chats

    def _link(self, likely: list[tuple[str, str]], chats: _FolderChats) -> None:
        """Parse likely chats in a sandbox: a hostile chat file costs a note, never the scan."""
        results = self._sandboxed(
            chat_links, [(location, display_name(location), app) for location, app in likely]
        )
        for location, result in results:
            if isinstance(result, Failure):
                chats.problems[location] = (
                    "looks like a chat export but could not be parsed as one "
                    f"({result.reason}): read as plain text"
                )
            elif result is not None:
                chats.contexts[location] = ChatContext(result.app, result.missing)
                for where, sent in result.sent.items():
                    chats.sent.setdefault(where, sent)
                    self._linked.setdefault(where, sent)


#: Earlier looks at candidates, by path: (size, mtime, inode) → app. A watcher scans
#: one file at a time, and must not read every sibling's head again for each.
_PEEKS: dict[str, tuple[tuple[int, int, int], str | None]] = {}
_PEEK_CACHE_SIZE = 100_000


def _peek_head(path: str, size: int) -> bytes:
    """The first bytes of a regular file (b"" for anything else or on any failure)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return b""
        with open_evidence(path) as handle:
            return handle.read(size)
    except (OSError, ValueError):
        return b""


def _peek_chat(path: str, name: str) -> str | None:
    """The chat app a regular file may be an export of, from its first 64 KiB (None: not one)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # a FIFO, socket, device or link: never opened (the walk reports it)
    signature = (info.st_size, info.st_mtime_ns, info.st_ino)
    known = _PEEKS.get(path)
    if known is not None and known[0] == signature:
        return known[1]
    try:
        with open_evidence(path) as handle:
            head = handle.read(CHAT_HEAD_BYTES)
    except (OSError, ValueError):
        return None  # swapped, gone, unreadable: the walk reports it
    app = chat_app(head, name)
    _PEEKS[path] = (signature, app)
    return app


def posix_location(folder: str, name: str) -> str:
    """Where a chat's attachment lies inside an archive, with "/" separators."""
    return posixpath.normpath(posixpath.join(folder, name.replace("\\", "/")))


def attachment_location(
    folder: str, name: str, exists: Callable[[str], bool], paths: Any = posixpath
) -> str:
    """Where a chat's attachment is: beside the chat, or from a folder above it.

    Social archives name a file by its path from the archive's root
    (``messages/inbox/x/photos/1.jpg``, from ``messages/inbox/x/message_1.json``),
    so the name is tried against the chat's folder, then each folder above
    it, as many as the name has folders (a path from the root climbs no
    higher), and no further than the top of the archive or the file
    system. The first place ``exists`` says is there wins; when none is,
    the place beside the chat. ``paths`` is :mod:`posixpath` for archive
    members, :mod:`os.path` on disk.

    >>> names = {"root/messages/inbox/x/photos/1.jpg"}
    >>> attachment_location("root/messages/inbox/x", "messages/inbox/x/photos/1.jpg",
    ...                     names.__contains__)
    'root/messages/inbox/x/photos/1.jpg'
    >>> attachment_location("root/chat", "../../etc/passwd", names.__contains__)
    'etc/passwd'
    """
    name = name.replace("\\", "/")
    beside = paths.normpath(paths.join(folder, name))
    if exists(beside):
        return str(beside)
    here = folder
    for _ in range(name.strip("/").count("/")):
        above = paths.dirname(here)
        if above == here:
            break
        here = above
        where = paths.normpath(paths.join(here, name))
        if exists(where):
            return str(where)
    return str(beside)
