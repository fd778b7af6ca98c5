"""Which file of an extraction a database's message sent: media named by path, found by suffix.

A text chat export keeps its attachments beside the chat. A phone
extraction does not: WhatsApp's ``msgstore.db`` lies under
``data/data/com.whatsapp/databases/`` and names its media
``Media/WhatsApp Images/IMG-20240311-WA0007.jpg``, a path relative to a
folder on the phone's shared storage (``sdcard/WhatsApp/``, or
``sdcard/Android/media/com.whatsapp/WhatsApp/`` on newer phones), wherever
the extraction put it; iOS names ``Media/<jid>/…`` below its app group,
and the Messages database ``~/Library/SMS/Attachments/…``. So a reference
is matched to the file of the extraction whose path ends with the most of
its trailing parts (its file name at least); among equals the first in
path order wins, so the choice does not depend on the walk.

The same matching serves a folder (the walker lists it, :class:`Resolver`
over the paths found) and an archive (over its member names).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from ..errors import ExtractionError
from .chat import ChatContext, ChatStream, SentIn

__all__ = [
    "DATABASE_NAMES",
    "DatabaseLinks",
    "Resolver",
    "companion_names",
    "database_candidate",
    "database_context",
    "link_database",
    "link_messages",
    "reference_parts",
]

#: Names and suffixes of files that may be an app's SQLite database (content decides).
DATABASE_NAMES = frozenset({"msgstore.db", "chatstorage.sqlite", "mmssms.db", "sms.db"})
_DATABASE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".sqlitedb", ".storedata")
#: References linked per database at most (a hostile database may name millions).
MAX_REFERENCES = 1_000_000


def database_candidate(name: str) -> bool:
    """Whether a file's name says it may be a database worth a look at its first bytes."""
    lower = name.lower()
    return lower in DATABASE_NAMES or lower.endswith(_DATABASE_SUFFIXES)


def companion_names(name: str) -> tuple[str, str | None]:
    """The names of a database's write-ahead log and of its app's contacts database
    (None when its app keeps none beside it), in the same folder."""
    contacts = "wa.db" if name.lower() == "msgstore.db" else None
    return f"{name}-wal", contacts


def database_context(path: str) -> ChatContext:
    """A database file's context on disk: its log and contacts database, when beside it."""
    from .chat_apps import DATABASE

    folder, name = os.path.split(path)
    wal_name, contacts_name = companion_names(name)
    wal = os.path.join(folder, wal_name)
    contacts = os.path.join(folder, contacts_name) if contacts_name else None
    return ChatContext(
        DATABASE,
        wal=wal if _is_regular(wal) else None,
        contacts=contacts if contacts and _is_regular(contacts) else None,
    )


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def reference_parts(reference: str) -> tuple[str, ...]:
    """A path as a database stores it, as path parts: separators unified, the
    phone's roots (``/``, ``~/``, ``./``, a drive) dropped, ``..`` refused.

    >>> reference_parts("~/Library/SMS/Attachments/0a/10/IMG_0001.HEIC")
    ('Library', 'SMS', 'Attachments', '0a', '10', 'IMG_0001.HEIC')
    >>> reference_parts("Media\\\\WhatsApp Images\\\\IMG-1.jpg")
    ('Media', 'WhatsApp Images', 'IMG-1.jpg')
    >>> reference_parts("../../etc/passwd")
    ('etc', 'passwd')
    """
    parts = reference.replace("\\", "/").split("/")
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":
        parts = parts[1:]  # a Windows drive
    return tuple(p for p in parts if p not in ("", ".", "..", "~"))


class Resolver:
    """Finds the file a reference names among the paths of one extraction."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._by_name: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for path in paths:
            parts = tuple(p for p in path.replace(os.sep, "/").split("/") if p)
            if parts:
                self._by_name.setdefault(parts[-1], []).append((parts, path))
        for candidates in self._by_name.values():
            candidates.sort()

    def __call__(self, reference: str) -> str | None:
        """The path (as given) that best matches the reference, or None."""
        wanted = reference_parts(reference)
        if not wanted:
            return None
        best: str | None = None
        best_score = 0
        for parts, path in self._by_name.get(wanted[-1], ()):
            score = _common_tail(parts, wanted)
            if score > best_score:
                best, best_score = path, score
        return best


def _common_tail(path: tuple[str, ...], wanted: tuple[str, ...]) -> int:
    count = 0
    for have, want in zip(reversed(path), reversed(wanted), strict=False):
        if have != want:
            break
        count += 1
    return count


@dataclass
class DatabaseLinks:
    """What one database (or report) says about the files of its extraction."""

    app: str
    #: References that name a file, with the message that sent it (in message order).
    references: list[tuple[str, SentIn]] = field(default_factory=list)
    #: References the database names that could not all be kept (over MAX_REFERENCES).
    dropped: int = 0
    messages: int = 0

    def resolve(
        self, resolve: Callable[[str], str | None], context: ChatContext
    ) -> tuple[ChatContext, dict[str, SentIn]]:
        """The database's chat context (with the media it names that the extraction
        lacks) and the message that sent each file found, by the file's location."""
        sent: dict[str, SentIn] = {}
        missing: set[str] = set()
        for reference, message in self.references:
            where = resolve(reference)
            if where is None:
                missing.add(reference)
            else:
                sent.setdefault(where, message)
        return (
            ChatContext(context.app, frozenset(missing), context.wal, context.contacts),
            sent,
        )


def link_database(
    app: str, stream: IO[bytes], chat_name: str, context: ChatContext
) -> DatabaseLinks | None:
    """Read a database's (or report's) messages for the files they sent; None when it
    holds no messages leakscan reads. A database failing midway keeps the links of
    the messages before (the scan of it reports the damage)."""
    from .chat_apps import iter_chat

    return link_messages(iter_chat(app, stream, context), chat_name)


def link_messages(messages: ChatStream, chat_name: str) -> DatabaseLinks | None:
    """The files the messages of an open stream sent (see :func:`link_database`)."""
    links = DatabaseLinks(messages.app)
    try:
        for message in messages:
            links.messages += 1
            for ref in message.attachments:
                if not ref.name or not ref.included:
                    continue
                if len(links.references) >= MAX_REFERENCES:
                    links.dropped += 1
                    continue
                links.references.append((ref.name, SentIn.of(message, chat_name, messages.app)))
    except ExtractionError:
        if not links.messages:
            return None
    links.app = messages.app
    return links
