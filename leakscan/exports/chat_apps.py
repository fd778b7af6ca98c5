"""Which reader reads a chat: the one dispatch from an app name to its message stream.

Kept apart from :mod:`.chat` (the types every parser imports), so that the
parsers import the types and this module imports the parsers, never the reverse.

A text export (WhatsApp, Telegram) is parsed from the stream itself. A
database is copied out of the evidence first and opened as a copy
(:func:`.databases.opened_copy`), with its write-ahead log when the
extraction holds one; which app wrote it is told from its tables. A
Cellebrite report is read twice: its file inventory first, then its messages.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO

from ..errors import ExtractionError
from ..walk import open_evidence
from . import social, telegram, whatsapp
from .chat import ChatContext, ChatFormatError, ChatStream, Message

__all__ = ["DATABASE", "UFDR", "NoMessages", "iter_chat"]

#: The app of a chat that is a SQLite database, whichever app wrote it.
DATABASE = "sqlite"
#: The app of a Cellebrite UFDR report's messages.
UFDR = "ufdr"
#: A database (with its log) is copied out of the evidence up to this size.
MAX_DATABASE_BYTES = 16 << 30


class NoMessages(ExtractionError):
    """A database that holds no messages leakscan reads: passed over, its tables named."""

    def __init__(self, app: str | None, tables: list[str]) -> None:
        self.app = app
        self.tables = tables
        shown = ", ".join(tables[:12]) + (
            f" and {len(tables) - 12} more" if len(tables) > 12 else ""
        )
        if app == "whatsapp-contacts":
            what = "WhatsApp contacts database (read for the names of msgstore.db's senders)"
        elif app:
            what = f"{app} database with no messages leakscan reads"
        else:
            what = "SQLite database of no app leakscan reads"
        super().__init__(f"{what}; tables: {shown or 'none'}")


def iter_chat(app: str, stream: IO[bytes], context: ChatContext | None = None) -> ChatStream:
    """Messages of a chat of ``app`` ("whatsapp", "telegram", "sqlite", "ufdr", or a
    social archive's app in :data:`.social.APPS`), read from a binary stream;
    ``context`` brings a database's log and contacts.

    The stream should be seekable (WhatsApp's, a report's and a Meta thread's
    are read twice); one that is not is copied to a temporary file first.
    """
    if app == "whatsapp":
        return whatsapp.iter_messages(stream)
    if app == "telegram":
        return telegram.iter_messages(stream)
    if app == DATABASE:
        return _database(stream, context)
    if app == UFDR:
        return _report(stream)
    if app in social.APPS:
        return social.iter_messages(app, stream)
    raise ChatFormatError(f"not a chat app leakscan reads: {app!r}")


def _companion(where: str | bytes | None, stack: ExitStack) -> IO[bytes] | None:
    if where is None:
        return None
    if isinstance(where, bytes):
        return io.BytesIO(where)
    try:
        return stack.enter_context(open_evidence(where))
    except OSError:
        return None  # gone since the walk: the database is read without it


def _database(stream: IO[bytes], context: ChatContext | None) -> ChatStream:
    """A database's messages; the stream's ``app`` becomes the app that wrote it."""
    from .databases import database_app, iter_database, opened_copy, table_names

    def read(chat: ChatStream) -> Iterator[Message]:
        with ExitStack() as stack:
            wal = _companion(context.wal if context else None, stack)
            database = stack.enter_context(
                opened_copy(stream, wal=wal, max_bytes=MAX_DATABASE_BYTES)
            )
            app = database_app(database)
            if app is None or app not in _DATABASE_MESSAGES:
                raise NoMessages(app, table_names(database))
            chat.app = app
            contacts = None
            source = _companion(context.contacts if context else None, stack)
            if source is not None:
                try:
                    contacts = stack.enter_context(
                        opened_copy(source, max_bytes=MAX_DATABASE_BYTES)
                    )
                except ExtractionError as exc:
                    chat.notes.append(f"contacts database not read: {exc}")
            messages = iter_database(app, database, contacts)
            try:
                yield from messages
            finally:
                chat.notes.extend(messages.notes)

    return ChatStream(DATABASE, read)


#: Database apps whose rows are messages (a contacts database holds none).
_DATABASE_MESSAGES = frozenset({"whatsapp-android", "whatsapp-ios", "sms-android", "sms-ios"})


def _report(stream: IO[bytes]) -> ChatStream:
    """A Cellebrite report's messages: its inventory of files first, then its models."""
    from .ufdr import iter_messages, read_report

    def read(chat: ChatStream) -> Iterator[Message]:
        report = read_report(stream)
        stream.seek(0)
        messages = iter_messages(stream, report)
        try:
            yield from messages
        finally:
            chat.notes.extend(messages.notes)

    return ChatStream(UFDR, read)
