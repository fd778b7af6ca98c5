"""Mailboxes of the mbox family, split into their messages while streaming over the file.

Thunderbird, Apple Mail (``X.mbox/mbox``), Google Takeout (``All mail
Including Spam and Trash.mbox``), mutt and Python's :mod:`mailbox` all write
one message after another, each after a ``From `` separator line
(``From nadia@example.org Tue Mar  5 09:15:00 2024``). A Takeout mailbox can
be many gigabytes, so it is never read whole: :func:`iter_mbox` finds the
separators a block at a time, then reads one message (at most the size
limit; a larger one is passed over with its size, unread), and hands it on
as the bytes an .eml file would hold: separator line and the blank line
before the next one removed, ``>From `` lines unquoted as mboxrd has it.

A separator is a line starting ``From `` that carries a weekday and a time,
as every writer puts one (mutt requires the same): a body line such as
"From the harbour office we went on" does not split a message even where a
writer forgot to quote it. mboxcl2 writers quote nothing and say where a body
ends in a Content-Length field; that length is used only when a message
really ends there (at the end of the file or before a separator), else the
message is split at its separators and a note says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from ..errors import ExtractionError
from .mime import looks_like_eml

__all__ = ["MAX_MESSAGES", "MboxMessage", "iter_mbox", "looks_like_mbox"]

#: Messages read from one mailbox; the rest is an error (a million is far beyond any real one).
MAX_MESSAGES = 1_000_000
_CHUNK = 1 << 20
_FIRST_CHUNK = 16 << 10
# A separator line is short; what is not a separator within this many bytes is not one.
_MAX_FROM_LINE = 1024
_TICK_BYTES = 256 << 20
_HEADER_PROBE = 64 << 10
# A separator: "From ", the envelope sender (maybe empty), then a date with a weekday and a
# time after it. Three searches rather than one pattern: linear on any line.
_FROM_SENDER = re.compile(rb"From \S*[ \t]+")
_WEEKDAY = re.compile(rb"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
_TIME = re.compile(rb"\b\d{1,2}:\d\d")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d{1,15})[ \t]*\r?$")
_QUOTED_FROM = re.compile(rb"(?m)^>(>*From )")


def _no_tick() -> None:
    pass


@dataclass(frozen=True)
class MboxMessage:
    """One message: ``number`` its 1-based place in the mailbox, ``data`` its bytes as an .eml.

    ``offset`` is where it starts in the mailbox (after its separator line),
    ``size`` its length there (without the blank line before the next
    separator). A message over the size limit is not read: ``too_large`` is
    set and ``data`` is empty. ``notes`` say how its end was found when that
    was in doubt.
    """

    number: int
    offset: int
    size: int
    data: bytes
    too_large: bool = False
    notes: tuple[str, ...] = ()


def looks_like_mbox(head: bytes) -> bool:
    """Whether the bytes start as an mbox: a ``From `` separator line, then mail headers.

    >>> looks_like_mbox(b"From a@example.org Tue Mar  5 09:15:00 2024\\nFrom: a@example.org\\n"
    ...                 b"Message-ID: <1@example.org>\\n\\nhello\\n")
    True
    >>> looks_like_mbox(b"From: a@example.org\\nMessage-ID: <1@example.org>\\n\\nhello\\n")
    False
    """
    if not _is_separator(head.split(b"\n", 1)[0]):
        return False
    # The head may cut its last line: judge the header lines before it.
    cut = head.rfind(b"\n") + 1
    return looks_like_eml(head[:cut] if cut else head)


def _is_separator(line: bytes) -> bool:
    """Whether a line (its first bytes) is a separator: ``From <sender> <weekday> … <hh:mm>``."""
    line = line[:_MAX_FROM_LINE]
    sender = _FROM_SENDER.match(line)
    if sender is None:
        return False
    weekday = _WEEKDAY.search(line, sender.end())
    return weekday is not None and _TIME.search(line, weekday.end()) is not None


def _next_separator(
    stream: IO[bytes], position: int, tick: Callable[[], None]
) -> tuple[int, int] | None:
    """Where the first separator line at or after ``position`` (a line start) begins and ends."""
    stream.seek(position)
    carry = b"\n"  # what comes before ``position`` is a line break, or the file's start
    offset = position - 1  # where ``carry`` begins in the file
    scanned = 0
    size = _FIRST_CHUNK  # most messages are short: no need to read a whole block past them
    while True:
        chunk = stream.read(size)
        size = min(size * 2, _CHUNK)
        final = not chunk
        data = carry + chunk if chunk else carry
        scanned += len(chunk)
        if scanned >= _TICK_BYTES:
            tick()
            scanned = 0
        last = data.rfind(b"\n")
        # The line after the last line break may be cut by the chunk: look at it next time,
        # unless it is so long already that a separator would have shown by now.
        tail_open = not final and last != -1 and len(data) - last <= _MAX_FROM_LINE
        found = data.find(b"\nFrom ")
        while found != -1:
            if found == last and tail_open:
                break
            start = found + 1
            end = data.find(b"\n", start, start + _MAX_FROM_LINE + 1)
            line = data[start : end if end != -1 else start + _MAX_FROM_LINE]
            if _is_separator(line):
                return offset + start, offset + (end + 1 if end != -1 else len(data))
            found = data.find(b"\nFrom ", start)
        if final:
            return None
        carry = data[last:] if tail_open else b""
        offset += len(data) - len(carry)


def _ends_here(stream: IO[bytes], position: int, size: int) -> bool:
    """Whether a message can end at ``position``: the file ends, or a separator line follows
    (after one blank line at most)."""
    if position >= size:
        return position == size
    if position < 1:
        return False
    stream.seek(position - 1)
    look = stream.read(_MAX_FROM_LINE + 4)
    before, look = look[:1], look[1:]
    for blank in (b"", b"\n", b"\r\n"):
        if not look.startswith(blank):
            continue
        rest = look[len(blank) :]
        starts_line = before == b"\n" if not blank else True
        if starts_line and (not rest or _is_separator(rest.split(b"\n", 1)[0])):
            return True
    return False


def _trim(data: bytes) -> bytes:
    """The message without the blank line that parts it from the next separator."""
    if data.endswith(b"\r\n\r\n"):
        return data[:-2]
    if data.endswith(b"\n\n"):
        return data[:-1]
    return data


class _Reader:
    """One pass over a mailbox; each message read when its end is known."""

    def __init__(
        self, stream: IO[bytes], max_bytes: int, max_messages: int, tick: Callable[[], None]
    ) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self.tick = tick
        stream.seek(0, 2)
        self.size = stream.tell()

    def messages(self) -> Iterator[MboxMessage]:
        separator = _next_separator(self.stream, 0, self.tick)
        if separator is None or separator[0] != 0:
            raise ExtractionError("not an mbox mailbox: no From separator line at the start")
        number = 0
        while separator is not None:
            number += 1
            if number > self.max_messages:
                raise ExtractionError(
                    f"more than {self.max_messages} messages: the rest of the mailbox was not read"
                )
            body = separator[1]
            following = _next_separator(self.stream, body, self.tick)
            end = following[0] if following is not None else self.size
            notes: list[str] = []
            length_end = self.content_length_end(body, end, notes)
            if length_end is not None:
                # mboxcl2: the body runs past separator-like lines, which are its own.
                end = length_end
                following = _next_separator(self.stream, end, self.tick)
            yield self.read(number, body, end, length_end is not None, notes)
            separator = following

    def content_length_end(self, body: int, end: int, notes: list[str]) -> int | None:
        """Where Content-Length says the message ends, when that is beyond the separator
        found and a message really ends there; None to split at the separator."""
        header_end = None
        for probe_bytes in (_HEADER_PROBE >> 4, _HEADER_PROBE):  # most header blocks are short
            self.stream.seek(body)
            probe = self.stream.read(min(end - body, probe_bytes))
            header_end = _HEADER_END.search(probe)
            if header_end is not None or len(probe) < probe_bytes:
                break
        if header_end is None:
            return None
        declared = _CONTENT_LENGTH.search(probe, 0, header_end.start() + 1)
        if declared is None:
            return None
        target = body + header_end.end() + int(declared.group(1))
        if target in (end, self.natural(body, end)):
            return None
        if target > self.size:
            notes.append(
                f"Content-Length says {declared.group(1).decode()} bytes of body but the "
                f"mailbox ends after {self.size - body - header_end.end()} (truncated?)"
            )
            return None
        if target > end and _ends_here(self.stream, target, self.size):
            return target
        notes.append(
            f"Content-Length ({declared.group(1).decode()} bytes) does not end where a message "
            "does; split at the From separator lines instead"
        )
        return None

    def natural(self, body: int, end: int) -> int:
        """Where the message ends when split at separators, less the blank line before one."""
        self.stream.seek(max(body, end - 4))
        last = self.stream.read(end - max(body, end - 4))
        return end - (len(last) - len(_trim(last)))

    def read(
        self, number: int, body: int, end: int, by_length: bool, notes: list[str]
    ) -> MboxMessage:
        if not by_length:
            end = self.natural(body, end)
        size = end - body
        if size > self.max_bytes:
            return MboxMessage(number, body, size, b"", too_large=True, notes=tuple(notes))
        self.stream.seek(body)
        data = self.stream.read(size)
        if len(data) < size:
            notes.append(f"only {len(data)} of its {size} bytes could be read (file shrank?)")
        if not by_length and b">From " in data:
            data = _QUOTED_FROM.sub(rb"\1", data)
        return MboxMessage(number, body, size, data, notes=tuple(notes))


def iter_mbox(
    stream: IO[bytes],
    *,
    max_message_bytes: int = 256 << 20,
    max_messages: int = MAX_MESSAGES,
    tick: Callable[[], None] = _no_tick,
) -> Iterator[MboxMessage]:
    """The messages of an mbox mailbox on a seekable stream, one at a time.

    Memory is one message at most (``max_message_bytes``; a larger one comes
    back ``too_large``, unread), whatever the mailbox's size. ``tick`` is
    called every 256 MiB of a long search for the next separator (a step's
    time limit is then not spent on a single read). Raises ExtractionError
    when the stream does not start with a separator line, or after
    ``max_messages`` messages; OSError from the stream is the caller's.
    """
    return _Reader(stream, max_message_bytes, max_messages, tick).messages()
