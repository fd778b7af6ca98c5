"""Telegram Desktop JSON exports (``result.json``), one chat or a whole account, as a stream.

A one-chat export is ``{"name", "type", "id", "messages": [...]}``; an
account export holds its chats in ``{"chats": {"list": [...]}}`` (and
``"left_chats"``). The file is read once, in bounded memory, by the walker
of :mod:`.jsonstream`: it steps through the objects that lead to message
arrays over a window of the decoded text, and decodes each message whole,
so it knows the line each message starts on. A value too large
(:data:`MAX_VALUE_CHARS`) or too deeply nested to decode is stepped over
without being held, and, if it was a message, noted.

    >>> import io
    >>> export = {"name": "Ops", "type": "private_group", "id": 7, "messages": [
    ...     {"id": 1, "type": "message", "date": "2026-03-07T21:22:39", "from": "Bilal",
    ...      "text": ["See ", {"type": "bold", "text": "page 2"}]}]}
    >>> data = json.dumps(export, indent=1).encode()
    >>> looks_like_export(data)
    True
    >>> m = next(iter_messages(io.BytesIO(data)))
    >>> (m.line, m.end_line, m.sender, m.sent_at, m.text, m.text_start)
    (6, 18, 'Bilal', '2026-03-07T21:22:39', 'See page 2', -1)

``text`` is assembled from the JSON (string parts and the ``text`` of
entities), so it is no slice of the file: ``text_start`` is -1.
"""

from __future__ import annotations

import io
import json  # noqa: F401  (the doctest above uses it)
import re
from collections.abc import Generator, Iterator
from typing import IO, Any

from .chat import (
    MAX_MESSAGE_CHARS,
    AttachmentRef,
    Chat,
    ChatFormatError,
    ChatStream,
    Message,
    decode_chunks,
)
from .jsonstream import DROP_CHARS, MAX_VALUE_CHARS, JsonText, JsonWalker, Unreadable, without_bom

__all__ = ["MAX_VALUE_CHARS", "iter_messages", "looks_like_export", "parse"]

# How much of the file looks_like_export reads.
_HEAD_BYTES = 8192
_CHAT_TYPES = (
    "personal_chat|private_group|private_supergroup|public_supergroup|private_channel"
    "|public_channel|bot_chat|saved_messages"
)
_ONE_CHAT = (
    re.compile(rf'"type"\s*:\s*"(?:{_CHAT_TYPES})"'),
    re.compile(r'"id"\s*:\s*-?\d'),
    re.compile(r'"messages"\s*:\s*\['),
)
# An account export starts {"about": ..., then personal data or the chats.
_ACCOUNT = re.compile(
    r'\{\s*"about"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*"(?:personal_information|chats)"'
)
# Text the walker is done with is dropped once there is this much of it.
_DROP = DROP_CHARS
# The walker's window (tests watch what it holds).
_Text = JsonText


def looks_like_export(data: bytes) -> bool:
    """Whether data is a Telegram Desktop ``result.json``, from its first 8 KB.

    >>> looks_like_export(b'{"name": "Ops", "type": "private_group", "id": 7, "messages": [')
    True
    >>> looks_like_export(b'{"id": 7, "type": "note", "messages": []}')
    False
    """
    head = data[:_HEAD_BYTES].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if not head.startswith("{"):
        return False
    return bool(_ACCOUNT.match(head)) or all(p.search(head) for p in _ONE_CHAT)


def iter_messages(stream: IO[bytes]) -> ChatStream:
    """Messages of a Telegram Desktop export read from a binary stream, in bounded memory.

    ``line``/``end_line`` are the lines of a message object's ``{`` and ``}``.
    ``sent_at`` is the ``date`` field; ``sender`` is ``from``, or for a service
    message (``system`` True) its ``actor``. ``file`` and ``photo`` become
    attachments named by their relative path; a path that is a notice in
    parentheses ("(File not included. ...") means the file was left out, and
    the attachment is then named by ``file_name`` ("" if none).

    Bytes that are not UTF-8 become U+FFFD (noted). Invalid or truncated JSON
    raises ChatFormatError, with line and column, from ``next()`` once the
    messages before the damage are out. ``layout`` is known at the end.
    """
    return ChatStream("telegram", lambda chat: _read(chat, stream))


def parse(data: bytes) -> Chat:
    """Messages of a Telegram Desktop export held in memory, of all its chats for an account
    export (see :func:`iter_messages`); raises ChatFormatError for invalid or truncated JSON."""
    chat = iter_messages(io.BytesIO(data))
    messages = tuple(chat)
    return Chat(app="telegram", layout=chat.layout or "single_chat", messages=messages)


def _read(chat: ChatStream, stream: IO[bytes]) -> Iterator[Message]:
    text = JsonText(without_bom(decode_chunks(stream, "utf-8", chat.notes)), _DROP)
    walker = _Walker(chat.notes, text, "Telegram", MAX_VALUE_CHARS)
    pos = text.space(0)
    if text.char(pos) != "{":
        walker.fail(pos, "a Telegram export is a JSON object")
    keys: set[str] = set()
    pos = yield from walker.chat(pos, account=True, keys=keys)
    pos = text.space(pos)
    if text.char(pos):
        walker.fail(pos, "extra data after the JSON object")
    if "messages" in keys:
        chat.layout = "single_chat"
    elif keys & {"chats", "left_chats"}:
        chat.layout = "all_chats"
    else:
        raise ChatFormatError("not a Telegram export: no messages and no chats")


class _Walker(JsonWalker):
    """Steps through the JSON objects that lead to messages, yielding each message."""

    def chat(
        self, pos: int, account: bool, keys: set[str] | None = None
    ) -> Generator[Message, None, int]:
        """Walk a chat object (or, if account, the top object of an account export)."""

        def member(key: str, at: int) -> Generator[Message, None, int]:
            char = self.text.char(at)
            if key == "messages" and char == "[":
                return self.messages(at)
            if account and key in ("chats", "left_chats") and char == "{":
                return self.members(at, self.chat_list)
            return self.skip_value(at)

        return (yield from self.members(pos, member, keys))

    def chat_list(self, key: str, pos: int) -> Generator[Message, None, int]:
        """A member of ``{"about": ..., "list": [chat, ...]}`` in an account export."""
        if key == "list" and self.text.char(pos) == "[":
            return (yield from self.items(pos, lambda at: self.chat(at, account=False)))
        return (yield from self.skip_value(pos))

    def messages(self, pos: int) -> Generator[Message, None, int]:
        """Walk a message array, yielding each message; returns the array's end."""
        return (yield from self.array(pos, self.message))

    def message(self, pos: int) -> tuple[Message | None, int]:
        """The message object at pos (None if it had to be skipped) and its end."""
        line = self.text.line_at(pos)
        try:
            obj, end = self.value(pos)
        except Unreadable as exc:
            self.notes.append(f"line {line}: a message {exc} was skipped")
            return None, self.skip(pos, f"a message {exc}")
        if not isinstance(obj, dict) or not isinstance(obj.get("date"), str):
            self.fail(pos, "expected a message object with a date")
        system = obj.get("type") == "service"
        sender = obj.get("actor" if system else "from")
        files = [obj[key] for key in ("file", "photo") if isinstance(obj.get(key), str)]
        text = _flatten(obj.get("text"))
        if len(text) > MAX_MESSAGE_CHARS:
            self.notes.append(
                f"line {line}: message text cut after {MAX_MESSAGE_CHARS} characters "
                f"({len(text) - MAX_MESSAGE_CHARS} more not read)"
            )
            text = text[:MAX_MESSAGE_CHARS]
        message = Message(
            line=line,
            end_line=self.text.line_at(end - 1),
            sender=sender if isinstance(sender, str) else None,
            sent_at=obj["date"],
            text=text,
            text_start=-1,
            attachments=tuple(_attachment(obj, path) for path in files),
            system=system,
        )
        return message, end


def _flatten(text: object) -> str:
    """A message's text: a string, or a list of strings and entities carrying a "text"."""
    if isinstance(text, str):
        return text
    if not isinstance(text, list):
        return ""
    parts = []
    for part in text:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return "".join(parts)


def _attachment(message: dict[str, Any], path: str) -> AttachmentRef:
    """A file or photo path; a parenthesized notice instead of a path means it was left out."""
    if not path.startswith("("):
        return AttachmentRef(name=path, included=True)
    name = message.get("file_name")
    return AttachmentRef(name=name if isinstance(name, str) else "", included=False)
