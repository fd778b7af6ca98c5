"""What a chat export holds, whichever app made it: messages with their place in the file.

A message keeps its text exactly as the export has it (invisible marks
included): evidence is quoted from it, and ``text_start`` says where in the
chat file's decoded text it begins, so a quote can be checked against the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ExtractionError

__all__ = ["AttachmentRef", "Chat", "ChatContext", "ChatFormatError", "Message", "SentIn"]


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
    """The chat message that sent an attachment, named as its findings name it."""

    message: str
    sender: str | None
    sent_at: str


@dataclass(frozen=True)
class ChatContext:
    """A chat file found in an export, parsed, with the attachments the export lacks."""

    chat: Chat
    missing: frozenset[str] = frozenset()
