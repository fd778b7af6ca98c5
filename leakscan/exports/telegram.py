"""Telegram Desktop JSON exports (``result.json``), one chat or a whole account.

A one-chat export is ``{"name", "type", "id", "messages": [...]}``; an
account export holds its chats in ``{"chats": {"list": [...]}}`` (and
``"left_chats"``). The file is read once: a small walker steps through the
objects that lead to message arrays and decodes each message with
``json.JSONDecoder.raw_decode``, so it knows the line each message starts on.

    >>> export = {"name": "Ops", "type": "private_group", "id": 7, "messages": [
    ...     {"id": 1, "type": "message", "date": "2026-03-07T21:22:39", "from": "Bilal",
    ...      "text": ["See ", {"type": "bold", "text": "page 2"}]}]}
    >>> data = json.dumps(export, indent=1).encode()
    >>> looks_like_export(data)
    True
    >>> m = parse(data).messages[0]
    >>> (m.line, m.end_line, m.sender, m.sent_at, m.text, m.text_start)
    (6, 18, 'Bilal', '2026-03-07T21:22:39', 'See page 2', -1)

``text`` is assembled from the JSON (string parts and the ``text`` of
entities), so it is no slice of the file: ``text_start`` is -1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NoReturn

from .chat import AttachmentRef, Chat, ChatFormatError, Message

__all__ = ["looks_like_export", "parse"]

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
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


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


def parse(data: bytes) -> Chat:
    """Messages of a Telegram Desktop export, of all its chats for an account export.

    ``line``/``end_line`` are the lines of a message object's ``{`` and ``}``.
    ``sent_at`` is the ``date`` field; ``sender`` is ``from``, or for a service
    message (``system`` True) its ``actor``. ``file`` and ``photo`` become
    attachments named by their relative path; a path that is a notice in
    parentheses ("(File not included. ...") means the file was left out, and
    the attachment is then named by ``file_name`` ("" if none).
    Raises ChatFormatError, with line and column, for invalid or truncated JSON.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChatFormatError(f"not a Telegram export: invalid UTF-8 at byte {exc.start}") from exc
    walker = _Walker(text)
    pos = walker.space(0)
    if walker.peek(pos) != "{":
        walker.fail(pos, "a Telegram export is a JSON object")
    keys, pos = walker.chat(pos, account=True)
    if walker.space(pos) != len(text):
        walker.fail(walker.space(pos), "extra data after the JSON object")
    if "messages" in keys:
        layout = "single_chat"
    elif keys & {"chats", "left_chats"}:
        layout = "all_chats"
    else:
        raise ChatFormatError("not a Telegram export: no messages and no chats")
    return Chat(app="telegram", layout=layout, messages=tuple(walker.messages))


class _Walker:
    """Steps through the JSON text, decoding leaves whole and tracking line numbers."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()
        self.messages: list[Message] = []
        self._line_pos = 0
        self._line = 1

    def peek(self, pos: int) -> str:
        return self.text[pos : pos + 1]

    def space(self, pos: int) -> int:
        match = _JSON_SPACE.match(self.text, pos)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def line_at(self, pos: int) -> int:
        """Line of a position; positions are asked for in increasing order."""
        self._line += self.text.count("\n", self._line_pos, pos)
        self._line_pos = pos
        return self._line

    def fail(self, pos: int, what: str) -> NoReturn:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - self.text.rfind("\n", 0, pos)
        found = repr(self.peek(pos)) if pos < len(self.text) else "the end (truncated?)"
        raise ChatFormatError(
            f"invalid Telegram JSON at line {line}, column {column}: {what}, found {found}"
        )

    def value(self, pos: int) -> tuple[Any, int]:
        """Decode the JSON value at pos whole: (value, end)."""
        try:
            return self.decoder.raw_decode(self.text, pos)
        except json.JSONDecodeError as exc:
            raise ChatFormatError(
                f"invalid Telegram JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
        except RecursionError:
            self.fail(pos, "a value nested too deeply")

    def expect(self, pos: int, char: str) -> int:
        pos = self.space(pos)
        if self.peek(pos) != char:
            self.fail(pos, f"expected {char!r}")
        return self.space(pos + 1)

    def members(self, pos: int, member: Callable[[str, int], int]) -> tuple[set[str], int]:
        """Walk an object, ``member(key, pos) -> end`` reading each value; returns (keys, end)."""
        keys: set[str] = set()
        pos = self.expect(pos, "{")
        if self.peek(pos) == "}":
            return keys, pos + 1
        while True:
            if self.peek(pos) != '"':
                self.fail(pos, "expected a key")
            key, pos = self.value(pos)
            keys.add(key)
            pos = self.space(member(key, self.expect(pos, ":")))
            if self.peek(pos) == "}":
                return keys, pos + 1
            pos = self.expect(pos, ",")

    def items(self, pos: int, item: Callable[[int], int]) -> int:
        """Walk an array, ``item(pos) -> end`` reading each element; returns its end."""
        pos = self.expect(pos, "[")
        if self.peek(pos) == "]":
            return pos + 1
        while True:
            pos = self.space(item(pos))
            if self.peek(pos) == "]":
                return pos + 1
            pos = self.expect(pos, ",")

    def chat(self, pos: int, account: bool) -> tuple[set[str], int]:
        """Walk a chat object (or, if account, the top object of an account export)."""

        def member(key: str, at: int) -> int:
            if key == "messages" and self.peek(at) == "[":
                return self.items(at, self.message)
            if account and key in ("chats", "left_chats") and self.peek(at) == "{":
                return self.members(at, self.chat_list)[1]
            return self.value(at)[1]

        return self.members(pos, member)

    def chat_list(self, key: str, pos: int) -> int:
        """A member of ``{"about": ..., "list": [chat, ...]}`` in an account export."""
        if key == "list" and self.peek(pos) == "[":
            return self.items(pos, lambda at: self.chat(at, account=False)[1])
        return self.value(pos)[1]

    def message(self, pos: int) -> int:
        """Decode one message object and record it."""
        line = self.line_at(pos)
        obj, end = self.value(pos)
        if not isinstance(obj, dict) or not isinstance(obj.get("date"), str):
            self.fail(pos, "expected a message object with a date")
        system = obj.get("type") == "service"
        sender = obj.get("actor" if system else "from")
        files = [obj[key] for key in ("file", "photo") if isinstance(obj.get(key), str)]
        self.messages.append(
            Message(
                line=line,
                end_line=self.line_at(end - 1),
                sender=sender if isinstance(sender, str) else None,
                sent_at=obj["date"],
                text=_flatten(obj.get("text")),
                text_start=-1,
                attachments=tuple(_attachment(obj, path) for path in files),
                system=system,
            )
        )
        return end


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
