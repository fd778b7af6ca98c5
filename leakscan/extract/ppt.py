"""PowerPoint 97-2003 (.ppt) text: every slide a page, its text then its notes' ([MS-PPT]).

The ``PowerPoint Document`` stream is a tree of records. Which records are
the current slides is said by the persist directory: the ``Current User``
stream points at the last UserEditAtom, whose chain of edits gives every
persist object's offset (the newest edit wins). The document container
lists slides in order (SlideListWithText, with the slide text PowerPoint
itself keeps there), each slide's container holds its drawing, where text
boxes keep their text (LibreOffice keeps all text there), and names its notes.
Text is in TextCharsAtom (UTF-16) and TextBytesAtom (8-bit) records.

catppt read no text of a LibreOffice .ppt (it reads SlideListWithText only);
see README, "Legacy Office files". A file whose persist directory cannot be
followed is read record by record instead, every slide and notes container
in stream order (old versions of an edited slide included), and a note says so.
Master slides are not read: their text is the template's ("Click to edit").
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import EncryptedDocumentError, ExtractionError
from . import PPT, Extracted, from_pages
from .ole import open_streams

__all__ = ["MAX_STREAM_BYTES", "extract"]

#: Largest stream read (the PowerPoint Document stream holds text and drawings, not pictures).
MAX_STREAM_BYTES = 256 << 20
_MAX_RECORDS = 1 << 21
_MAX_DEPTH = 64
_MAX_EDITS = 4096
_KIND = "PowerPoint presentation"

_DOCUMENT, _SLIDE, _NOTES, _SLIDE_ATOM = 0x03E8, 0x03EE, 0x03F0, 0x03EF
_SLIDE_LIST, _SLIDE_PERSIST, _TEXT_CHARS, _TEXT_BYTES = 0x0FF0, 0x03F3, 0x0FA0, 0x0FA8
_USER_EDIT, _PERSIST_DIRECTORY, _CURRENT_USER = 0x0FF5, 0x1772, 0x0FF6
_SLIDES, _NOTES_LIST = 0, 2  # instances of SlideListWithText
_ENCRYPTED_TOKEN, _PLAIN_TOKEN = 0xF3D1C4DF, 0xE391C05F
#: a text atom holding only "*" is a slide-number, date or footer placeholder
_PLACEHOLDER = "*"


@dataclass(frozen=True)
class _Record:
    offset: int  # of the header
    kind: int
    instance: int
    container: bool
    start: int  # of the body
    end: int


def _record(stream: bytes, offset: int, end: int) -> _Record | None:
    """The record at ``offset``, or None if its header or body does not fit before ``end``."""
    if offset + 8 > end:
        return None
    head, kind, length = struct.unpack_from("<HHI", stream, offset)
    if offset + 8 + length > end:
        return None
    return _Record(offset, kind, head >> 4, head & 0xF == 0xF, offset + 8, offset + 8 + length)


class _Walk:
    """Records read depth first, every count bounded over the whole file."""

    def __init__(self, stream: bytes) -> None:
        self.stream = stream
        self.records = 0
        self.damaged = 0

    def children(self, parent: _Record) -> Iterator[_Record]:
        offset = parent.start
        while offset < parent.end:
            record = _record(self.stream, offset, parent.end)
            if record is None:
                self.damaged += 1
                return
            self.records += 1
            if self.records > _MAX_RECORDS:
                raise ExtractionError(
                    f"refused: PowerPoint presentation of over {_MAX_RECORDS} records (hostile?)"
                )
            yield record
            offset = record.end

    def descendants(self, parent: _Record) -> Iterator[_Record]:
        """Every record below ``parent`` in file order (a stack, not recursion)."""
        pending = [self.children(parent)]
        while pending:
            record = next(pending[-1], None)
            if record is None:
                pending.pop()
                continue
            yield record
            if record.container and len(pending) < _MAX_DEPTH:
                pending.append(self.children(record))

    def text(self, record: _Record) -> str | None:
        """The text of a text atom, lines as newlines; None for other records."""
        body = self.stream[record.start : record.end]
        if record.kind == _TEXT_CHARS:
            text = body[: len(body) // 2 * 2].decode("utf-16-le", "replace")
        elif record.kind == _TEXT_BYTES:
            text = body.decode("latin-1")  # the high bytes of UTF-16 code units left out
        else:
            return None
        return text.replace("\r", "\n").replace("\v", "\n")

    def texts(self, parent: _Record) -> list[str]:
        texts = (self.text(record) for record in self.descendants(parent))
        return [text for text in texts if text and text.strip() and text != _PLACEHOLDER]

    def at(self, offset: int) -> _Record | None:
        return _record(self.stream, offset, len(self.stream))


def _current_edit(current_user: bytes) -> int:
    """Offset of the last UserEditAtom, from the Current User stream; refuses an encrypted file."""
    if len(current_user) < 20 or struct.unpack_from("<H", current_user, 2)[0] != _CURRENT_USER:
        raise ValueError("no CurrentUserAtom")
    token, offset = struct.unpack_from("<II", current_user, 12)
    if token == _ENCRYPTED_TOKEN:
        raise EncryptedDocumentError(
            "encrypted PowerPoint presentation (password-protected): not examined"
        )
    if token != _PLAIN_TOKEN:
        raise ValueError(f"unknown CurrentUserAtom token {token:#x}")
    return int(offset)


def _persist_directory(walk: _Walk, edit_offset: int) -> tuple[dict[int, int], int]:
    """Persist id → stream offset, over the whole chain of edits; and the document's id."""
    directory: dict[int, int] = {}
    document_id: int | None = None
    seen: set[int] = set()
    offset = edit_offset
    while offset and offset not in seen and len(seen) < _MAX_EDITS:
        seen.add(offset)
        edit = walk.at(offset)
        if edit is None or edit.kind != _USER_EDIT or edit.end - edit.start < 28:
            raise ValueError("no UserEditAtom where the chain points")
        last_edit, persist_offset, persist_document = struct.unpack_from(
            "<III", walk.stream, edit.start + 8
        )
        if (
            edit.end - edit.start >= 32
            and struct.unpack_from("<I", walk.stream, edit.start + 28)[0]
        ):
            raise EncryptedDocumentError(
                "encrypted PowerPoint presentation (password-protected): not examined"
            )
        document_id = persist_document if document_id is None else document_id
        atom = walk.at(persist_offset)
        if atom is None or atom.kind != _PERSIST_DIRECTORY:
            raise ValueError("no PersistDirectoryAtom where the edit points")
        position = atom.start
        while position + 4 <= atom.end:
            (entry,) = struct.unpack_from("<I", walk.stream, position)
            first, count = entry & 0xFFFFF, entry >> 20
            position += 4
            for number in range(count):
                if position + 4 > atom.end:
                    break
                # an older edit never overrides a newer one
                directory.setdefault(
                    first + number, struct.unpack_from("<I", walk.stream, position)[0]
                )
                position += 4
        offset = last_edit
    if document_id is None:
        raise ValueError("no edit")
    return directory, document_id


def _container(walk: _Walk, directory: dict[int, int], persist: int, kind: int) -> _Record | None:
    offset = directory.get(persist)
    record = None if offset is None else walk.at(offset)
    return record if record is not None and record.kind == kind else None


def _slide_lists(walk: _Walk, document: _Record) -> dict[int, list[tuple[int, int, list[str]]]]:
    """Per SlideListWithText instance: (persist id, slide id, texts kept there) in order."""
    lists: dict[int, list[tuple[int, int, list[str]]]] = {}
    for record in walk.children(document):
        if record.kind != _SLIDE_LIST:
            continue
        entries = lists.setdefault(record.instance, [])
        for child in walk.children(record):
            if child.kind == _SLIDE_PERSIST and child.end - child.start >= 16:
                persist, _, _, slide_id = struct.unpack_from("<IIiI", walk.stream, child.start)
                entries.append((persist, slide_id, []))
            elif entries:
                text = walk.text(child)
                if text and text.strip() and text != _PLACEHOLDER:
                    entries[-1][2].append(text)
    return lists


def _by_persist_directory(walk: _Walk, current_user: bytes) -> list[str]:
    directory, document_id = _persist_directory(walk, _current_edit(current_user))
    document = _container(walk, directory, document_id, _DOCUMENT)
    if document is None:
        raise ValueError("no DocumentContainer")
    lists = _slide_lists(walk, document)
    notes_by_id = {
        notes_id: (persist, texts) for persist, notes_id, texts in lists.get(_NOTES_LIST, [])
    }
    pages = []
    for persist, _slide_id, texts in lists.get(_SLIDES, []):
        slide = _container(walk, directory, persist, _SLIDE)
        if slide is not None:
            texts = [*texts, *walk.texts(slide)]
            atom = next((r for r in walk.children(slide) if r.kind == _SLIDE_ATOM), None)
            if atom is not None and atom.end - atom.start >= 16:
                (notes_id,) = struct.unpack_from("<I", walk.stream, atom.start + 16)
                notes_persist, notes_texts = notes_by_id.get(notes_id, (0, []))
                texts.extend(notes_texts)
                notes = _container(walk, directory, notes_persist, _NOTES)
                if notes is not None:
                    texts.extend(walk.texts(notes))
        pages.append("\n".join(text.strip("\n") for text in texts))
    return pages


def _in_stream_order(walk: _Walk) -> list[str]:
    """Every slide and notes container's text in file order: one page per slide."""
    whole = _Record(0, 0, 0, True, 0, len(walk.stream))
    pages: list[str] = []
    for record in walk.children(whole):
        if record.kind == _SLIDE:
            pages.append("\n".join(text.strip("\n") for text in walk.texts(record)))
        elif record.kind == _NOTES and pages:
            notes = "\n".join(text.strip("\n") for text in walk.texts(record))
            pages[-1] = f"{pages[-1]}\n{notes}" if notes else pages[-1]
        elif record.kind == _DOCUMENT:
            for entries in _slide_lists(walk, record).values():
                for _, _, texts in entries:
                    if texts:
                        pages.append("\n".join(text.strip("\n") for text in texts))
    return pages


def extract(data: bytes) -> Extracted:
    """Text of a PowerPoint 97-2003 presentation, one page per slide (its notes after it)."""
    with open_streams(data, _KIND, MAX_STREAM_BYTES) as streams:
        if not streams.has("PowerPoint Document"):
            raise ExtractionError(
                "not a PowerPoint presentation: the OLE container has no PowerPoint Document stream"
            )
        if streams.has("EncryptedSummary"):
            raise EncryptedDocumentError(
                "encrypted PowerPoint presentation (password-protected): not examined"
            )
        stream = streams.read("PowerPoint Document")
        current_user = streams.read("Current User") if streams.has("Current User") else b""
        notes = list(streams.notes)
    walk = _Walk(stream)
    try:
        pages = _by_persist_directory(walk, current_user)
        problem = "" if any(page.strip() for page in pages) else "its slides hold no text"
    except (ValueError, struct.error) as exc:
        problem = str(exc)
    if problem:  # a damaged directory may point away from slides that are still there
        walk = _Walk(stream)
        pages = _in_stream_order(walk)
        notes.append(
            f"slide list unreadable ({problem}): slides read in stream order, "
            "old versions of edited slides included"
        )
    if walk.damaged:
        notes.append(f"{walk.damaged} record(s) run past their container (truncated or damaged)")
    result = from_pages(pages, PPT, "PowerPoint presentation")
    return Extracted(result.text, PPT, result.pages, tuple(notes))
