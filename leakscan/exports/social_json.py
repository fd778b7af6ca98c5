"""What every social-archive reader shares: a walker that builds messages, times, repaired text.

Social archives ("download your data") are JSON documents whose message
arrays are walked with :mod:`.jsonstream`; each element is decoded whole and
handed to a builder that makes a :class:`~.chat.Message` of it. Elements
that are no message (not an object, too large, too deep) are skipped: the
first of each kind is noted with its line, and how many there were in all
at the end, so a hostile file cannot flood the notes.

Meta (Facebook, Instagram, Messenger) writes its JSON with every UTF-8 byte
of a string escaped as a character of its own (``"\\u00d9\\u0085"`` for
``م``): :func:`repair` undoes it, and leaves text that is already right as
it is, even within one string.

    >>> repair("Ù\\x85Ù\\x84Ø§Ù\\x82Ø§Øª")
    'ملاقات'
    >>> repair("بندرگاہ Ù\\x85Ù\\x84Ø§Ù\\x82Ø§Øª café")
    'بندرگاہ ملاقات café'
    >>> utc_from_epoch(1710191585123.0, 1000)
    '2024-03-11T21:13:05Z'
    >>> utc_from_iso("2019-01-01T12:00:00.000Z")
    '2019-01-01T12:00:00Z'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from .chat import MAX_MESSAGE_CHARS, AttachmentRef, Message, decode_chunks
from .jsonstream import (
    DROP_CHARS,
    MAX_VALUE_CHARS,
    Element,
    JsonText,
    JsonWalker,
    Unreadable,
    without_bom,
)

__all__ = [
    "Build",
    "SocialWalker",
    "fail_on_extra",
    "objects",
    "open_text",
    "repair",
    "utc_from_epoch",
    "utc_from_iso",
]

#: Makes a message of a decoded element (with the lines of its braces), or None.
Build = Callable[[dict[str, Any], int, int], Message | None]

# Text the walker is done with is dropped once there is this much of it.
_DROP = DROP_CHARS
# A time kept as the archive wrote it when it cannot be read is cut to this.
_RAW_TIME_CHARS = 64
# Characters a Latin-1 reading of UTF-8 bytes gives (mojibake is made of them).
_LATIN1_HIGH = re.compile("[\x80-\xff]")


def open_text(stream: IO[bytes], notes: list[str] | None) -> JsonText:
    """The stream's UTF-8 JSON text as a window (damaged bytes noted when ``notes`` is given)."""
    return JsonText(without_bom(decode_chunks(stream, "utf-8", notes)), _DROP)


def repair(text: str) -> str:
    """Meta's text with its UTF-8 read back: each byte was written as a character of its own.

    The whole string is turned back at once when it is all such characters
    (the common case, and exact). A string that mixes them with text that is
    right (a quote pasted into the export, a name fixed by hand) goes to
    ftfy, which repairs the runs that are mojibake and leaves the rest.
    """
    if text.isascii() or not _LATIN1_HIGH.search(text):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    import ftfy

    return ftfy.fix_encoding(text)


def utc_from_epoch(value: object, per_second: int) -> str:
    """A Unix time (in seconds, or ``per_second`` parts of one) as UTC ISO 8601 with "Z";
    "" when it is not a number or out of range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    if not math.isfinite(value):
        return ""
    try:
        when = datetime.fromtimestamp(value / per_second, UTC)
    except (OverflowError, OSError, ValueError):
        return ""
    return when.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def utc_from_iso(value: object) -> str:
    """An ISO 8601 time with a zone as UTC with "Z"; one without a zone as written; one
    that cannot be read as written (cut short); "" when it is no string."""
    if not isinstance(value, str):
        return ""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return value[:_RAW_TIME_CHARS]
    if when.tzinfo is None:
        return when.replace(microsecond=0).isoformat()
    return when.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


class SocialWalker(JsonWalker):
    """A :class:`JsonWalker` that turns array elements into messages of one app.

    ``via`` is the app's name as findings show it ("Facebook"); ``mojibake``
    says whether strings are to be :func:`repair`-ed.
    """

    def __init__(
        self, notes: list[str], text: JsonText, label: str, via: str, mojibake: bool = False
    ) -> None:
        super().__init__(notes, text, label, MAX_VALUE_CHARS)
        self.via = via
        self.mojibake = mojibake
        self._skipped: dict[str, list[int]] = {}

    def element(self, build: Build) -> Element:
        """Reads an array element whole and builds a message of it (None: skipped, noted)."""

        def read(pos: int) -> tuple[Message | None, int]:
            line = self.text.line_at(pos)
            try:
                obj, end = self.value(pos)
            except Unreadable as exc:
                self.skipped(f"a message {exc}", line)
                return None, self.skip(pos, f"a message {exc}")
            if not isinstance(obj, dict):
                self.skipped("an element that is not an object", line)
                return None, end
            return build(obj, line, self.text.line_at(end - 1)), end

        return read

    def skipped(self, what: str, line: int) -> None:
        """Note the first element skipped for a reason; count the others."""
        seen = self._skipped.get(what)
        if seen is None:
            self._skipped[what] = [1, line]
            self.notes.append(f"line {line}: {what} was skipped")
        else:
            seen[0] += 1

    def finish(self) -> None:
        """Add how many elements were skipped for each reason, where more than one was."""
        for what, (count, line) in self._skipped.items():
            if count > 1:
                self.notes.append(f"{count} skipped in all: {what} (the first at line {line})")
        self._skipped.clear()

    def string(self, *values: object) -> str | None:
        """The first of the values that is a string, as the app meant it (repaired); None
        when none is."""
        for value in values:
            if isinstance(value, str):
                return repair(value) if self.mojibake else value
        return None

    def message_text(self, value: object, line: int) -> str:
        """A message's text (repaired), cut at MAX_MESSAGE_CHARS (noted); "" if no string."""
        if not isinstance(value, str):
            return ""
        if len(value) > MAX_MESSAGE_CHARS:
            self.notes.append(
                f"line {line}: message text cut after {MAX_MESSAGE_CHARS} characters "
                f"({len(value) - MAX_MESSAGE_CHARS} more not read)"
            )
            value = value[:MAX_MESSAGE_CHARS]
        return repair(value) if self.mojibake else value

    def attachment(self, uri: object) -> AttachmentRef | None:
        """A file the archive holds, named by its path (repaired); None for a web address."""
        name = self.string(uri)
        if not name or "://" in name:
            return None  # an expired CDN link, not a file of the archive
        return AttachmentRef(name=name, included=True)


def objects(value: object) -> Iterator[dict[str, Any]]:
    """The objects of a list (anything else in it, or a value that is no list: nothing)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield item


def fail_on_extra(walker: JsonWalker, pos: int, allowed: str = "") -> None:
    """Raise unless only whitespace (and the ``allowed`` characters) follow pos."""
    text = walker.text
    pos = text.space(pos)
    while text.char(pos) and text.char(pos) in allowed:
        pos = text.space(pos + 1)
    if text.char(pos):
        walker.fail(pos, "extra data after the JSON value")
