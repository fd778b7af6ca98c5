r"""Names are data, never control: how file and member names are printed and located.

A seized device names its own files, so a name can hold anything a terminal
obeys. :func:`printable` writes a name so that it shows as one line that
cannot move the cursor, recolour the screen or reorder the text around it:
every control character, line or paragraph separator, bidirectional mark,
invisible format character (zero-width space and joiners, soft hyphen, tag
characters) and invisible Hangul filler is written as a Python-style escape:
``\n``, ``\r``, ``\t``, ``\x1b`` (other C0 controls and DEL), ``\u202e``
(C1 controls as ``\u0080``-``\u009f``, everything else up to U+FFFF) or
``\U000e0041``. A byte that is not UTF-8, carried as a surrogate escape, is
written ``\xff``, as Python's ``backslashreplace`` writes it. A backslash
that is part of the name stays one backslash unless what follows it would
read as one of those escapes (another backslash, ``n``, ``r``, ``t``, ``x``
and two hex digits below 80, ``u`` and four, ``U`` and eight hex digits); then
it is written ``\\``. Read left to right, every escape stands for exactly one
character, so a printed name reads back to one name, with one exception made
on purpose: ``\x80``-``\xff`` always stands for an undecodable byte, whether
the name carried the byte raw or already escaped (as file paths in records
do), so one file prints the same whichever way its name reached us. Text
quoted from a document (:func:`printable_passage`) follows the same rule but
keeps the joiners and other format characters that Urdu and other scripts
are written with; only controls, separators and bidirectional marks are
escaped there.

Locators (``outer.zip!inner/a.txt``, ``chat.txt#L12``) are built from names in
which ``%``, ``!`` and ``#`` are percent-escaped (:func:`locator_part`), so a
file named ``x.zip!a.txt`` cannot pass for a member of ``x.zip``; the second
member of one container with the same name as an earlier one is ``name#2``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import NamedTuple

__all__ = [
    "Locator",
    "Member",
    "Occurrences",
    "child_locator",
    "duplicate_suffix",
    "locator",
    "locator_part",
    "parse_locator",
    "printable",
    "printable_passage",
]

# Bidirectional embeddings, overrides, isolates and marks: they reorder what
# follows them on screen ("evil\u202etxt.exe" shows as "evilexe.txt").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters that show as nothing at all (Unicode calls them Lo, not format).
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What a backslash can begin in printed text; a literal backslash followed by
# one of these is doubled. "\x80"-"\xff" is left out: it means a byte (see above).
_ESCAPE_AHEAD = re.compile(r"[\\nrt]|x[0-7][0-9a-fA-F]|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}", re.ASCII)


def _hidden_in_names(char: str) -> bool:
    if char in _FILLERS:
        return True
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _hidden_in_passages(char: str) -> bool:
    if char in _BIDI:
        return True
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _printed(text: str, is_hidden: Callable[[str], bool]) -> str:
    out: list[str] = []
    for index, char in enumerate(text):
        if char == "\\":
            following = text[index + 1 : index + 2]
            if (following and is_hidden(following)) or _ESCAPE_AHEAD.match(text, index + 1):
                out.append("\\\\")
            else:
                out.append("\\")
        elif is_hidden(char):
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)


def printable(text: str) -> str:
    """A name as one line that shows what it holds and does nothing else (see the module).

    >>> printable("minutes 2024.pdf")
    'minutes 2024.pdf'
    >>> print(printable("a\\n FOUND fake\\x1b[2J.txt"))
    a\\n FOUND fake\\x1b[2J.txt
    >>> print(printable("report\\u202efdp.exe"))
    report\\u202efdp.exe
    >>> print(printable("bad byte \\udcff.txt"))
    bad byte \\xff.txt
    >>> print(printable("C:\\\\Users\\\\omar\\\\new.txt"))
    C:\\Users\\omar\\\\new.txt
    >>> print(printable("بندرگاہ\\u200cنقشہ.pdf"))
    بندرگاہ\\u200cنقشہ.pdf
    """
    if text.isprintable() and "\\" not in text and _FILLERS.isdisjoint(text):
        return text
    return _printed(text, _hidden_in_names)


def printable_passage(text: str) -> str:
    """Quoted document text, safe to print: only controls, separators and bidi marks escaped.

    Joiners stay, so Urdu words keep their shape.

    >>> printable_passage("بندرگاہ\\u200cنقشہ")
    'بندرگاہ\\u200cنقشہ'
    >>> print(printable_passage("harbour\\x1b[31m plan\\u202e"))
    harbour\\x1b[31m plan\\u202e
    """
    if text.isprintable() and "\\" not in text:
        return text
    return _printed(text, _hidden_in_passages)


# --- locators ----------------------------------------------------------------

_UNESCAPE = re.compile("%(25|21|23)")
_UNESCAPED = {"25": "%", "21": "!", "23": "#"}
_ANCHOR = r"(?:#(?P<anchor>[a-z][a-z_]*=[^#]*))"
_LINE = rf"(?:#L(?P<line>0|[1-9][0-9]*)|{_ANCHOR})"
_OCCURRENCE = r"(?:#(?P<occurrence>[2-9]|[1-9][0-9]+))"
_PATH = re.compile(rf"(?P<name>.*?){_LINE}?", re.DOTALL)
_PATH_ABOVE = re.compile(rf"(?P<name>.*?){_ANCHOR}?", re.DOTALL)
_MEMBER = re.compile(rf"(?P<name>.*?){_OCCURRENCE}?{_ANCHOR}?", re.DOTALL)
_LAST_MEMBER = re.compile(rf"(?P<name>.*?){_OCCURRENCE}?{_LINE}?", re.DOTALL)


class Member(NamedTuple):
    """One step into a container: a member name, which of its same-named members it is,
    and, for a member that is itself a container of places, the place the next step
    is in (``msg=3``: the third message of a mailbox)."""

    name: str
    occurrence: int = 1
    anchor: str | None = None


class Locator(NamedTuple):
    """A locator taken apart: the file on disk, the members below it, a chat line
    or another place in the last one (``message=17``: a database row).

    ``path_anchor`` is the place in the file on disk that the members are in
    (``Inbox.mbox#msg=3!memo.pdf``: the memo attached to message 3).
    """

    path: str
    members: tuple[Member, ...] = ()
    line: int | None = None
    anchor: str | None = None
    path_anchor: str | None = None


def locator_part(name: str) -> str:
    """A name as one part of a locator: ``%``, ``!`` and ``#`` percent-escaped, nothing else.

    >>> locator_part("plan.pdf")
    'plan.pdf'
    >>> locator_part("x.zip!a.txt")
    'x.zip%21a.txt'
    >>> locator_part("100% #1")
    '100%25 %231'
    """
    if "%" not in name and "!" not in name and "#" not in name:
        return name
    return name.replace("%", "%25").replace("!", "%21").replace("#", "%23")


def duplicate_suffix(occurrence: int) -> str:
    """What tells the n-th same-named member of one container from the first: ``#n``.

    >>> duplicate_suffix(1), duplicate_suffix(2)
    ('', '#2')
    """
    if occurrence < 1:
        raise ValueError(f"an occurrence counts from 1, not {occurrence}")
    return "" if occurrence == 1 else f"#{occurrence}"


class Occurrences:
    """Counts the names met in one container, so a repeated name gets its :func:`duplicate_suffix`.

    >>> seen = Occurrences()
    >>> [seen("a.txt"), seen("b.txt"), seen("a.txt")]
    [1, 1, 2]
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def __call__(self, name: str) -> int:
        self._counts[name] += 1
        return self._counts[name]


def child_locator(parent: str, name: str, occurrence: int = 1) -> str:
    """The locator of a member of the container at ``parent``.

    >>> child_locator("mail.eml", "a!.pdf", 2)
    'mail.eml!a%21.pdf#2'
    """
    return f"{parent}!{locator_part(name)}{duplicate_suffix(occurrence)}"


def anchored(text: str, anchor: str) -> str:
    """A locator with a place inside its last part: ``#key=value``, the value escaped.

    >>> anchored("Inbox.mbox", "msg=3")
    'Inbox.mbox#msg=3'
    """
    key, sep, value = anchor.partition("=")
    if not sep or not re.fullmatch("[a-z][a-z_]*", key):
        raise ValueError(f"an anchor is key=value: {anchor!r}")
    return f"{text}#{key}={locator_part(value)}"


def locator(
    path: str,
    members: Sequence[str | Member] = (),
    line: int | None = None,
    anchor: str | None = None,
    path_anchor: str | None = None,
) -> str:
    """``path!member!member#L<line>`` (or ``#<anchor>``) from its parts, each escaped
    by :func:`locator_part`.

    >>> locator("export.zip", ["chats/x.zip!a.txt", Member("notes.txt", 2)], line=12)
    'export.zip!chats/x.zip%21a.txt!notes.txt#2#L12'
    >>> locator("chat #4.txt", line=7)
    'chat %234.txt#L7'
    >>> locator("Inbox.mbox", ["memo.pdf"], path_anchor="msg=3")
    'Inbox.mbox#msg=3!memo.pdf'
    """
    text = locator_part(path)
    if path_anchor is not None:
        text = anchored(text, path_anchor)
    for member in members:
        if isinstance(member, str):
            member = Member(member)
        text = child_locator(text, member.name, member.occurrence)
        if member.anchor is not None:
            text = anchored(text, member.anchor)
    if line is not None:
        if line < 0:
            raise ValueError(f"a line number is not negative: {line}")
        text += f"#L{line}"
    elif anchor is not None:
        text = anchored(text, anchor)
    return text


def _unescape(part: str) -> str:
    return _UNESCAPE.sub(lambda match: _UNESCAPED[match.group(1)], part)


def _split(pattern: re.Pattern[str], part: str) -> re.Match[str]:
    match = pattern.fullmatch(part)
    if match is None:  # the name group takes anything, so this cannot happen
        raise ValueError(f"not a locator part: {part!r}")
    return match


def parse_locator(text: str) -> Locator:
    """The parts of a locator: the inverse of :func:`locator`.

    A ``#`` that does not start ``#<n>`` (a repeated member), ``#L<n>`` (a
    line, last part only) or ``#key=value`` (a place in the part) is kept as
    part of the name, so locators written before names were escaped still
    come apart.

    >>> parse_locator("export.zip!x.zip%21a.txt!notes.txt#2#L12")
    Locator(path='export.zip', members=(Member(name='x.zip!a.txt', occurrence=1, anchor=None), \
Member(name='notes.txt', occurrence=2, anchor=None)), line=12, anchor=None, path_anchor=None)
    >>> parse_locator("Inbox.mbox#msg=3!memo.pdf").path_anchor
    'msg=3'
    """
    parts = text.split("!")
    last = len(parts) - 1
    line: int | None = None
    anchor: str | None = None
    path_anchor: str | None = None
    if last == 0:
        path = _split(_PATH, parts[0])
        line, anchor = _place(path)
    else:
        path = _split(_PATH_ABOVE, parts[0])
        path_anchor = _anchor(path)
    members: list[Member] = []
    for index, part in enumerate(parts[1:], start=1):
        match = _split((_LAST_MEMBER if index == last else _MEMBER), part)
        member_anchor = None
        if index == last:
            line, anchor = _place(match)
        else:
            member_anchor = _anchor(match)
        occurrence = int(match.group("occurrence") or 1)
        members.append(Member(_unescape(match.group("name")), occurrence, member_anchor))
    return Locator(_unescape(path.group("name")), tuple(members), line, anchor, path_anchor)


def _anchor(match: re.Match[str]) -> str | None:
    found = match.group("anchor")
    return _unescape(found) if found else None


def _place(match: re.Match[str]) -> tuple[int | None, str | None]:
    line = match.group("line")
    return (int(line) if line is not None else None, _anchor(match))
