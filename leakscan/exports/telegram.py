"""Telegram Desktop JSON exports (``result.json``), one chat or a whole account, as a stream.

A one-chat export is ``{"name", "type", "id", "messages": [...]}``; an
account export holds its chats in ``{"chats": {"list": [...]}}`` (and
``"left_chats"``). The file is read once, in bounded memory: a small walker
steps through the objects that lead to message arrays over a window of the
decoded text, and decodes each message whole with the standard library's
C scanner (``json.JSONDecoder.raw_decode``), so it knows the line each
message starts on. Integers are read as floats (a 5,000-digit one is no
error, and no field read is a number); a value too large
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
import json
import re
from collections.abc import Callable, Generator, Iterator
from typing import IO, Any, NoReturn

from .chat import (
    CHUNK_BYTES,
    MAX_MESSAGE_CHARS,
    AttachmentRef,
    Chat,
    ChatFormatError,
    ChatStream,
    Message,
    decode_chunks,
)

__all__ = ["MAX_VALUE_CHARS", "iter_messages", "looks_like_export", "parse"]

#: A JSON value (a message object, say) larger than this is stepped over, not decoded.
MAX_VALUE_CHARS = 8 << 20

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
# int() refuses more than 4,300 digits (a ValueError that once ended whole scans);
# float() takes any number of them, and no field read is a number.
_DECODER = json.JSONDecoder(parse_int=float)
# Text the walker is done with is dropped once there is this much of it.
_DROP = CHUNK_BYTES
# What the skipper looks for outside strings, and the rest of a string up to its closing quote.
_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_REST = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)
_SCALAR = re.compile(r"[^\s,\]}]*+")
# The end of an array element: "," or "]", with the whitespace around it.
_AFTER_ITEM = re.compile(r"[ \t\n\r]*+([,\]])[ \t\n\r]*+")


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
    text = _Text(_without_bom(decode_chunks(stream, "utf-8", chat.notes)))
    walker = _Walker(chat.notes, text)
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


def _without_bom(chunks: Iterator[str]) -> Iterator[str]:
    first = next(chunks, "")
    yield first[1:] if first.startswith("\ufeff") else first
    yield from chunks


class _Unreadable(Exception):
    """A JSON value too large or too deeply nested to decode whole (it is stepped over)."""


class _Text:
    """The JSON text as it is read: a window of decoded characters over the file.

    Positions are absolute (characters from the start of the text). The text
    before a position the walker is done with is dropped, lines counted on the way.
    """

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self.text = ""
        self.base = 0  # position of text[0]
        self.eof = False
        self.base_line = 1  # line of base, and where that line starts
        self.base_line_start = 0
        self.line = 1  # line of position counted (for line_at)
        self.counted = 0

    def more(self, at_least: int = 1) -> bool:
        """Read on until at least this many more characters are held; False if none could be."""
        size = len(self.text)
        while not self.eof and len(self.text) < size + at_least:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
            else:
                self.text = self.text + chunk if self.text else chunk
        return len(self.text) > size

    def char(self, pos: int) -> str:
        """The character at pos, "" at the end of the text."""
        while pos - self.base >= len(self.text):
            if not self.more():
                return ""
        return self.text[pos - self.base]

    def space(self, pos: int) -> int:
        """The position after the JSON whitespace at pos (however much of it there is)."""
        while True:
            match = _JSON_SPACE.match(self.text, pos - self.base)
            assert match is not None  # the pattern matches the empty string
            pos = self.base + match.end()
            if match.end() < len(self.text):
                return pos
            self.drop(pos)
            if not self.more():
                return pos

    def line_at(self, pos: int) -> int:
        """Line of a position; positions are asked for in increasing order."""
        self.line += self.text.count("\n", self.counted - self.base, pos - self.base)
        self.counted = pos
        return self.line

    def where(self, pos: int) -> str:
        """ "line L, column C" of a held position."""
        rel = pos - self.base
        line = self.base_line + self.text.count("\n", 0, rel)
        newline = self.text.rfind("\n", 0, rel)
        start = self.base + newline + 1 if newline >= 0 else self.base_line_start
        return f"line {line}, column {pos - start + 1}"

    def drop(self, pos: int) -> None:
        """Forget the text before pos, which the walker is past, once there is enough of it."""
        cut = pos - self.base
        if cut < _DROP:
            return
        if pos > self.counted:
            self.line_at(pos)
        newline = self.text.rfind("\n", 0, cut)
        if newline >= 0:
            self.base_line_start = self.base + newline + 1
        self.base_line = self.line
        self.text = self.text[cut:]
        self.base = pos


class _Walker:
    """Steps through the JSON objects that lead to messages, yielding each message."""

    def __init__(self, notes: list[str], text: _Text) -> None:
        self.notes = notes
        self.text = text

    def fail(self, pos: int, what: str) -> NoReturn:
        char = self.text.char(pos)
        found = repr(char) if char else "the end (truncated?)"
        raise ChatFormatError(
            f"invalid Telegram JSON at {self.text.where(pos)}: {what}, found {found}"
            + self.damage()
        )

    def damage(self) -> str:
        """The note on damaged bytes, if any: the likely cause of invalid JSON."""
        return "".join(f"; {note}" for note in self.notes if note.startswith("bytes "))

    def expect(self, pos: int, char: str) -> int:
        pos = self.text.space(pos)
        if self.text.char(pos) != char:
            self.fail(pos, f"expected {char!r}")
        return self.text.space(pos + 1)

    def value(self, pos: int) -> tuple[Any, int]:
        """Decode the JSON value at pos whole, reading as far as it takes: (value, end).

        Raises _Unreadable for a value over MAX_VALUE_CHARS (no more than that
        is read for it) or nested too deeply.
        """
        text = self.text
        over = f"over {MAX_VALUE_CHARS} characters"
        while True:
            rel = pos - text.base
            held = len(text.text) - rel
            try:
                value, end = _DECODER.raw_decode(text.text, rel)
            except json.JSONDecodeError as exc:
                cut_short = exc.msg.startswith("Unterminated string") or exc.pos + 8 >= len(
                    text.text
                )
                if not cut_short or text.eof:
                    where = text.where(text.base + exc.pos)
                    ends = ", and the text ends there (truncated?)" if cut_short else ""
                    raise ChatFormatError(
                        f"invalid Telegram JSON at {where}: {exc.msg}{ends}{self.damage()}"
                    ) from None
            except RecursionError:
                raise _Unreadable("nested too deeply") from None
            else:
                if end - rel > MAX_VALUE_CHARS:
                    raise _Unreadable(over)
                # A number held whole ends where the text held does: it may go on.
                if end < len(text.text) or text.eof:
                    return value, text.base + end
            if held > MAX_VALUE_CHARS:
                raise _Unreadable(over)
            text.more(min(max(held, _DROP), MAX_VALUE_CHARS + 1 - held))

    def skip(self, pos: int, what: str) -> int:
        """Step over the value at pos without decoding or holding it: its end."""
        text = self.text
        depth = 0
        in_string = False
        rel = pos - text.base
        if text.char(pos) not in '"[{':
            while True:
                match = _SCALAR.match(text.text, pos - text.base)
                assert match is not None  # the pattern matches the empty string
                pos = text.base + match.end()
                if match.end() < len(text.text):
                    return pos
                text.drop(pos)
                if not text.more():
                    return pos
        while True:
            if in_string:
                match = _STRING_REST.match(text.text, rel)
                assert match is not None  # the pattern matches the empty string
                rel = match.end()
                if rel < len(text.text) and text.text[rel] == '"':
                    in_string = False
                    rel += 1
                    if not depth:
                        return text.base + rel
                    continue
                # The text held ends inside the string (maybe just after a backslash).
            else:
                found = _STRUCTURE.search(text.text, rel)
                if found is not None:
                    rel = found.end()
                    char = found.group()
                    if char == '"':
                        in_string = True
                    elif char in "[{":
                        depth += 1
                    else:
                        depth -= 1
                        if depth <= 0:
                            return text.base + rel
                    continue
                rel = len(text.text)
            pos = text.base + rel
            text.drop(pos)
            if not text.more():
                self.fail(pos, f"{what} runs to the end of the text")
            rel = pos - text.base

    def skip_value(self, pos: int) -> Generator[Message, None, int]:
        """Step over a value no message is in: decoded if it can be (which checks it)."""
        try:
            return self.value(pos)[1]
        except _Unreadable as exc:
            return self.skip(pos, f"a value {exc}")
        yield  # a generator, like the walks that do yield messages

    def members(
        self,
        pos: int,
        member: Callable[[str, int], Generator[Message, None, int]],
        keys: set[str] | None = None,
    ) -> Generator[Message, None, int]:
        """Walk an object, ``member(key, pos)`` walking each value to its end; returns the end."""
        pos = self.expect(pos, "{")
        if self.text.char(pos) == "}":
            return pos + 1
        while True:
            if self.text.char(pos) != '"':
                self.fail(pos, "expected a key")
            try:
                key, pos = self.value(pos)
            except _Unreadable as exc:
                key, pos = "", self.skip(pos, f"a key {exc}")
            if keys is not None:
                keys.add(key)
            pos = yield from member(key, self.expect(pos, ":"))
            pos = self.text.space(pos)
            if self.text.char(pos) == "}":
                return pos + 1
            pos = self.expect(pos, ",")
            self.text.drop(pos)

    def items(
        self, pos: int, item: Callable[[int], Generator[Message, None, int]]
    ) -> Generator[Message, None, int]:
        """Walk an array, ``item(pos)`` walking each element to its end; returns the end."""
        pos = self.expect(pos, "[")
        if self.text.char(pos) == "]":
            return pos + 1
        while True:
            pos = self.text.space((yield from item(pos)))
            if self.text.char(pos) == "]":
                return pos + 1
            pos = self.expect(pos, ",")
            self.text.drop(pos)

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
        """Walk a message array, yielding each message; returns the array's end.

        (items() for messages, without a generator per message: the common
        ``,`` between two is stepped over with one regex match.)
        """
        text = self.text
        pos = self.expect(pos, "[")
        if text.char(pos) == "]":
            return pos + 1
        while True:
            message, end = self.message(pos)
            if message is not None:
                yield message
            after = _AFTER_ITEM.match(text.text, end - text.base)
            if after is not None and after.end() < len(text.text):
                if after[1] == "]":
                    return text.base + after.end(1)
                pos = text.base + after.end()
            else:
                pos = text.space(end)
                if text.char(pos) == "]":
                    return pos + 1
                pos = self.expect(pos, ",")
            text.drop(pos)

    def message(self, pos: int) -> tuple[Message | None, int]:
        """The message object at pos (None if it had to be skipped) and its end."""
        line = self.text.line_at(pos)
        try:
            obj, end = self.value(pos)
        except _Unreadable as exc:
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
