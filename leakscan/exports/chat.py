"""What a chat export holds, whichever app made it: messages with their place in the file.

A message keeps its text exactly as the export has it (invisible marks
included): evidence is quoted from it, and ``text_start`` says where in the
chat file's decoded text it begins, so a quote can be checked against the file.

Chats are read as streams (:func:`iter_chat`): one message at a time, in
memory bounded whatever the file's size, so a chat of hundreds of megabytes
costs what a small one does. A message's text is cut after
:data:`MAX_MESSAGE_CHARS` characters (the apps' own limits are far lower: such
a message is damage or a forgery); the stream's ``notes`` say so.
"""

from __future__ import annotations

import codecs
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from ..errors import ExtractionError
from ..names import anchored

__all__ = [
    "MAX_MESSAGE_CHARS",
    "AttachmentRef",
    "Chat",
    "ChatContext",
    "ChatFormatError",
    "ChatStream",
    "Message",
    "SentIn",
]

#: A message's text is cut after this many characters (far more than an app sends in one).
MAX_MESSAGE_CHARS = 4 << 20
#: Bytes read from a chat file at a time.
CHUNK_BYTES = 1 << 20

_Decode = Callable[[bytes, str, bool], tuple[str, int]]
_DECODERS: dict[str, _Decode] = {
    "utf-8": codecs.utf_8_decode,
    "utf-16-le": codecs.utf_16_le_decode,
    "utf-16-be": codecs.utf_16_be_decode,
    "utf-32-le": codecs.utf_32_le_decode,
    "utf-32-be": codecs.utf_32_be_decode,
}


class ChatFormatError(ExtractionError):
    """Not a chat export of the app whose parser read it, or a damaged one (truncated JSON)."""


@dataclass(frozen=True)
class AttachmentRef:
    """A file a message sent, as the chat names it.

    ``included`` is False when the export says the file was left out
    (``<Media omitted>``, ``… document omitted``, Telegram's "File not
    included"); ``name`` is then whatever name the trace keeps, or "" if none.
    """

    name: str
    included: bool
    pages: int | None = None


@dataclass(frozen=True)
class Message:
    """One message; ``line`` is the 1-based line of the chat file where it starts.

    ``sent_at`` is local time as the export shows it, ISO 8601 without zone
    (``2026-03-07T21:22:39``). ``system`` marks app notices (group created,
    member added). ``text_start`` is -1 when ``text`` is assembled from the
    file rather than sliced from it (Telegram JSON).
    """

    line: int
    end_line: int
    sender: str | None
    sent_at: str
    text: str
    text_start: int
    attachments: tuple[AttachmentRef, ...] = ()
    system: bool = False
    #: Where the message is when not at a line of a text file: the locator's
    #: fragment ``key=value`` (``message=17`` for a database row, ``model=<id>``
    #: for a UFDR report's model). None: the message is ``#L<line>``.
    anchor: str | None = None
    #: The conversation (chat, thread, group) as the source names it.
    conversation: str | None = None
    #: True when the device's owner sent it (None: the source does not say).
    from_me: bool | None = None
    #: The source marks it deleted (recovered by a forensic tool).
    deleted: bool = False
    #: The application that carried it, when one source holds several (UFDR: "WhatsApp").
    via: str | None = None

    def locator(self, chat_name: str) -> str:
        """How findings name this message: ``<chat>#L<line>`` or ``<chat>#<anchor>``."""
        return anchored(chat_name, self.anchor) if self.anchor else f"{chat_name}#L{self.line}"


@dataclass(frozen=True)
class Chat:
    """A parsed chat export: ``app`` is "whatsapp" or "telegram".

    ``layout`` is "android" or "ios" for WhatsApp, "single_chat" or
    "all_chats" for Telegram Desktop's ``result.json``.
    """

    app: str
    layout: str
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class SentIn:
    """The message (a chat's, an e-mail) that sent an attachment, named as its findings name it.

    ``sent_at`` is None for an e-mail without a readable Date.
    """

    message: str
    sender: str | None
    sent_at: str | None
    conversation: str | None = None
    from_me: bool | None = None
    app: str | None = None

    @classmethod
    def of(cls, message: Message, chat_name: str, app: str | None = None) -> SentIn:
        """The attachment's link to ``message`` of the chat at ``chat_name``."""
        return cls(
            message.locator(chat_name),
            message.sender,
            message.sent_at,
            message.conversation,
            message.from_me,
            message.via or app,
        )


@dataclass(frozen=True)
class ChatContext:
    """A chat file found in an export: its app ("whatsapp", "telegram", "sqlite" for
    a database whose app is told when it is opened, "ufdr" for a Cellebrite
    report…) and the names of the attachments it sent that the export lacks.
    The messages are not kept: they are read again, as a stream, when the chat
    is scanned."""

    app: str
    missing: frozenset[str] = frozenset()
    #: For a database: its write-ahead log and the app's contacts database
    #: (WhatsApp's ``wa.db``), each a path on disk or the bytes of an archive member.
    wal: str | bytes | None = None
    contacts: str | bytes | None = None


class ChatStream(Iterator[Message]):
    """A chat's messages as they are read, and what the reading learnt on the way.

    ``layout`` (see :class:`Chat`) is known once the first message is out
    (WhatsApp) or once the file is read to its end (Telegram). ``notes`` say
    how the reading was degraded without being given up: damaged bytes
    replaced, a message cut at :data:`MAX_MESSAGE_CHARS`, a value too large
    or too deep to read skipped. A file that stops being a chat midway raises
    ChatFormatError from ``next()`` after the messages before the damage.
    """

    def __init__(self, app: str, read: Callable[[ChatStream], Iterator[Message]]) -> None:
        self.app = app
        self.layout: str | None = None
        self.notes: list[str] = []
        self._messages = read(self)

    def __next__(self) -> Message:
        return next(self._messages)


def rewindable(stream: IO[bytes]) -> IO[bytes]:
    """The stream itself if it can seek, else a temporary copy of the rest of it (to close)."""
    if stream.seekable():
        return stream
    copy = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK_BYTES)  # noqa: SIM115
    shutil.copyfileobj(stream, copy, CHUNK_BYTES)
    copy.seek(0)
    return copy


def decode_chunks(
    stream: IO[bytes], encoding: str, notes: list[str] | None, offset: int = 0
) -> Iterator[str]:
    """The rest of the stream as text, a chunk at a time.

    Damaged bytes become U+FFFD, never an error: one bad byte must not cost the
    chat. The first of them is noted in ``notes`` (with its byte offset, counted
    from ``offset`` at the stream's current position).
    """
    decode = _DECODERS.get(encoding) or _single_byte(encoding)
    pending = b""
    damaged = False
    while True:
        chunk = stream.read(CHUNK_BYTES)
        final = not chunk
        data = pending + chunk if pending else chunk
        try:
            text, used = decode(data, "strict", final)
        except UnicodeDecodeError as exc:
            text, used = decode(data, "replace", final)
            if not damaged and notes is not None:
                notes.append(
                    f"bytes that are not {encoding.upper()} replaced by U+FFFD "
                    f"(the first at byte {offset + exc.start})"
                )
            damaged = True
        offset += used
        pending = data[used:]
        if text:
            yield text
        if final:
            return


def _single_byte(encoding: str) -> _Decode:
    """A decoder for a code page of one byte per character (it never waits for more bytes)."""

    def decode(data: bytes, errors: str, final: bool) -> tuple[str, int]:
        return data.decode(encoding, errors), len(data)

    return decode
