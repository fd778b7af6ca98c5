"""Walking a large JSON chat export in bounded memory: the machinery the JSON chat readers share.

A chat export in JSON (Telegram's ``result.json``, a Facebook thread, an X
archive's ``tweets.js``) can be hundreds of megabytes, and the messages are
what matters, each with the line it starts on. :class:`JsonText` holds a
window of the decoded text over the file (what the walk is past is dropped,
lines counted on the way); :class:`JsonWalker` steps through the objects
that lead to the message arrays and decodes each message whole with the
standard library's C scanner (``json.JSONDecoder.raw_decode``). Integers are
read as floats (a 5,000-digit one is no error). A value too large
(``max_value`` characters) or too deeply nested to decode raises
:class:`Unreadable`, and :meth:`JsonWalker.skip` steps over it without
holding it.

    >>> import io
    >>> from .chat import decode_chunks
    >>> text = JsonText(decode_chunks(io.BytesIO(b'{"a": [1, {"b": 2}]}'), "utf-8", None))
    >>> walker = JsonWalker([], text, "demo")
    >>> walker.value(6)
    ([1.0, {'b': 2.0}], 19)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterator
from typing import Any, NoReturn

from .chat import CHUNK_BYTES, ChatFormatError, Message

__all__ = [
    "DROP_CHARS",
    "MAX_VALUE_CHARS",
    "JsonText",
    "JsonWalker",
    "Unreadable",
    "without_bom",
]

#: A JSON value (a message object, say) larger than this is stepped over, not decoded.
MAX_VALUE_CHARS = 8 << 20
#: Text the walker is done with is dropped once there is this much of it.
DROP_CHARS = CHUNK_BYTES

_JSON_SPACE = re.compile(r"[ \t\n\r]*")
# int() refuses more than 4,300 digits (a ValueError that once ended whole scans);
# float() takes any number of them, and no field read needs an exact integer.
_DECODER = json.JSONDecoder(parse_int=float)
# What the skipper steps over outside strings: whole strings and all but brackets (possessive,
# so nothing is tried twice); and the rest of a string up to its closing quote.
_OUTSIDE = re.compile(r'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.DOTALL)
_STRING_REST = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)
_SCALAR = re.compile(r"[^\s,\]}]*+")
# The end of an array element: "," or "]", with the whitespace around it.
_AFTER_ITEM = re.compile(r"[ \t\n\r]*+([,\]])[ \t\n\r]*+")

#: Reads one element of an array at a position: (the message it is, if any, and its end).
Element = Callable[[int], tuple[Message | None, int]]


def without_bom(chunks: Iterator[str]) -> Iterator[str]:
    """The decoded chunks without a leading byte-order mark."""
    first = next(chunks, "")
    yield first[1:] if first.startswith("\ufeff") else first
    yield from chunks


class Unreadable(Exception):
    """A JSON value too large or too deeply nested to decode whole (it is stepped over)."""


class JsonText:
    """The JSON text as it is read: a window of decoded characters over the file.

    Positions are absolute (characters from the start of the text). The text
    before a position the walker is done with is dropped (once ``drop``
    characters of it are held), lines counted on the way.
    """

    def __init__(self, chunks: Iterator[str], drop: int = DROP_CHARS) -> None:
        self._chunks = chunks
        self.drop_chars = drop
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
        if cut < self.drop_chars:
            return
        if pos > self.counted:
            self.line_at(pos)
        newline = self.text.rfind("\n", 0, cut)
        if newline >= 0:
            self.base_line_start = self.base + newline + 1
        self.base_line = self.line
        self.text = self.text[cut:]
        self.base = pos


class JsonWalker:
    """Steps through JSON objects and arrays over a :class:`JsonText`.

    ``label`` names the format in errors ("invalid Telegram JSON at line 3,
    column 7: ..."). Subclasses walk the objects that lead to messages
    with :meth:`members` and :meth:`items`, and yield the messages of an
    array with :meth:`array`.
    """

    def __init__(
        self, notes: list[str], text: JsonText, label: str, max_value: int = MAX_VALUE_CHARS
    ) -> None:
        self.notes = notes
        self.text = text
        self.label = label
        self.max_value = max_value

    def fail(self, pos: int, what: str) -> NoReturn:
        char = self.text.char(pos)
        found = repr(char) if char else "the end (truncated?)"
        raise ChatFormatError(
            f"invalid {self.label} JSON at {self.text.where(pos)}: {what}, found {found}"
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

        Raises Unreadable for a value over ``max_value`` characters (no more
        than that is read for it) or nested too deeply.
        """
        text = self.text
        limit = self.max_value
        over = f"over {limit} characters"
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
                        f"invalid {self.label} JSON at {where}: {exc.msg}{ends}{self.damage()}"
                    ) from None
            except RecursionError:
                raise Unreadable("nested too deeply") from None
            else:
                if end - rel > limit:
                    raise Unreadable(over)
                # A number held whole ends where the text held does: it may go on.
                if end < len(text.text) or text.eof:
                    return value, text.base + end
            if held > limit:
                raise Unreadable(over)
            text.more(min(max(held, text.drop_chars), limit + 1 - held))

    def skip(self, pos: int, what: str) -> int:
        """Step over the value at pos without decoding or holding it: its end."""
        text = self.text
        depth = 0
        in_string = False
        rel = pos - text.base
        first = text.char(pos)
        if first not in '"[{':
            while True:
                match = _SCALAR.match(text.text, pos - text.base)
                assert match is not None  # the pattern matches the empty string
                pos = text.base + match.end()
                if match.end() < len(text.text):
                    return pos
                text.drop(pos)
                if not text.more():
                    return pos
        if first == '"':
            in_string = True
            rel = pos + 1 - text.base
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
                # Whole strings and everything but brackets, in one step.
                match = _OUTSIDE.match(text.text, rel)
                assert match is not None  # the pattern matches the empty string
                rel = match.end()
                if rel < len(text.text):
                    char = text.text[rel]
                    rel += 1
                    if char == '"':
                        in_string = True  # a string the text held does not finish
                    elif char in "[{":
                        depth += 1
                    else:
                        depth -= 1
                        if depth <= 0:
                            return text.base + rel
                    continue
            pos = text.base + rel
            text.drop(pos)
            if not text.more():
                self.fail(pos, f"{what} runs to the end of the text")
            rel = pos - text.base

    def skip_value(self, pos: int) -> Generator[Message, None, int]:
        """Step over a value no message is in: decoded if it can be (which checks it)."""
        try:
            return self.value(pos)[1]
        except Unreadable as exc:
            return self.skip(pos, f"a value {exc}")
        yield  # a generator, like the walks that do yield messages

    def small_value(self, pos: int, what: str) -> tuple[Any, int]:
        """A value read whole if it can be, else stepped over (noted) and read as None."""
        line = self.text.line_at(pos)
        try:
            return self.value(pos)
        except Unreadable as exc:
            self.notes.append(f"line {line}: {what} {exc} was skipped")
            return None, self.skip(pos, f"{what} {exc}")

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
            except Unreadable as exc:
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

    def array(self, pos: int, element: Element) -> Generator[Message, None, int]:
        """Walk an array of messages, yielding what ``element`` reads of each; returns its end.

        (items() for messages, without a generator per message: the common
        ``,`` between two is stepped over with one regex match.)
        """
        text = self.text
        pos = self.expect(pos, "[")
        if text.char(pos) == "]":
            return pos + 1
        while True:
            message, end = element(pos)
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
