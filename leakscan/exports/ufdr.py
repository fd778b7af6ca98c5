"""Cellebrite UFDR reports: the case, the device, the files and the messages of a ``report.xml``.

A ``.ufdr`` is a zip holding ``report.xml`` (namespace :data:`CELLEBRITE_NS`)
and the files Physical Analyzer extracted (``files/Image/…``, ``files/Audio/…``).
The report is read twice, each time as a stream (no tree is built, memory is
bounded whatever its size):

1. :func:`read_report` reads the header and the tagged files: ``<project>``'s
   attributes, ``<sourceExtractions>``, ``<caseInformation>`` (older reports:
   ``<metadata section="Additional Fields">``), the ``"Extraction Data"`` and
   ``"Device Info"`` metadata, and each ``<taggedFiles>/<file>`` with its
   ``id``, device ``path``, ``size``, ``deleted`` and, from its
   ``<metadata section="File">``, "Local Path" (the zip member), "SHA256" and
   "MD5". It stops at ``<decodedData>`` once the tagged files are read.
2. :func:`iter_messages` reads ``<decodedData>``: the messages of its Chat,
   InstantMessage, SMS, MMS and Email models (:mod:`._ufdr_models` reads
   them, :mod:`._ufdr_messages` makes Messages of them).

The structure is the one IPED's UfedXmlReader and followthemoney-cellebrite
read; the bytes are repaired on the way as :mod:`._ufdr_xml` says (forbidden
character references, undeclared entities, oversized values).

    >>> import io
    >>> xml = (b'<?xml version="1.0" encoding="utf-8"?>'
    ...     b'<project id="p1" name="Phone" xmlns="http://pa.cellebrite.com/report/2.0">'
    ...     b'<caseInformation><field name="Case number" fieldType="CaseNumber">'
    ...     b'<![CDATA[FIA-7/2026]]></field></caseInformation><taggedFiles>'
    ...     b'<file id="f1" fs="Phone" path="/sdcard/a.pdf" size="3" deleted="Intact">'
    ...     b'<metadata section="File"><item name="Local Path">'
    ...     b'<![CDATA[files\\\\Document\\\\a.pdf]]></item></metadata></file></taggedFiles>'
    ...     b'<decodedData/></project>')
    >>> looks_like_report(xml)
    True
    >>> report = read_report(io.BytesIO(xml))
    >>> report.case["Case number"], report.files["f1"].local_path, report.files["f1"].size
    ('FIA-7/2026', 'files/Document/a.pdf', 3)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from ._ufdr_messages import MessageMaker, normalize_path
from ._ufdr_models import ModelReader
from ._ufdr_xml import MAX_DEPTH, UfdrFormatError, feed_report, local_name, too_deep
from .chat import ChatStream, Message

__all__ = [
    "CELLEBRITE_NS",
    "MAX_FILES",
    "Report",
    "TaggedFile",
    "UfdrFormatError",
    "iter_messages",
    "looks_like_report",
    "normalize_path",
    "read_report",
    "report_member",
]

#: The namespace of a Cellebrite report's elements.
CELLEBRITE_NS = "http://pa.cellebrite.com/report/2.0"
#: Tagged files kept by default (each costs some hundreds of bytes); those past it are noted.
MAX_FILES = 500_000
#: A metadata value, case field or file attribute is cut after this many characters.
MAX_VALUE_CHARS = 4096

_HEAD_BYTES = 8192
_MAX_EXTRACTIONS = 64
_MAX_ITEMS = 4096  # case fields and device items kept
# A case field's fieldType, and the name English reports give it (reports can be localised).
_CASE_FIELD_TYPES = {
    "CaseNumber": "Case number",
    "CaseName": "Case name",
    "EvidenceNumber": "Evidence number",
}
_DEVICE_SECTIONS = frozenset(("Extraction Data", "Device Info"))
_CASE_SECTION = "Additional Fields"  # where reports before caseInformation kept the case fields
_FILE_ITEMS = frozenset(("Local Path", "SHA256", "MD5"))
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True, slots=True)
class TaggedFile:
    """A file the report lists: where it was on the device, where it is in the UFDR, its hashes.

    ``local_path`` is the zip member holding its bytes ("/"-separated), None
    if the report has none. ``sha256``/``md5`` are lower-case hex as the report
    states them (None if absent or not a hash): the bytes have not been checked.
    """

    id: str | None
    device_path: str
    local_path: str | None
    size: int | None
    sha256: str | None
    md5: str | None
    deleted: bool
    #: The file system (or extraction) it was found in, as the report names it.
    fs: str | None = None


@dataclass
class Report:
    """What :func:`read_report` learnt: the case, the device, the tagged files, and notes.

    ``files`` holds files by their ``id`` (reports before 7.x give none; such
    files are only in ``files_by_local_path``); a local path listed twice maps
    to the first file naming it.
    """

    case: dict[str, str] = field(default_factory=dict)
    device: dict[str, str] = field(default_factory=dict)
    files: dict[str, TaggedFile] = field(default_factory=dict)
    files_by_local_path: dict[str, TaggedFile] = field(default_factory=dict)
    #: ``<project>``'s attributes (id, name, reportVersion, extractionType, …).
    project: dict[str, str] = field(default_factory=dict)
    #: ``<sourceExtractions>``: extraction id -> its attributes (name, type, deviceName, …).
    extractions: dict[str, dict[str, str]] = field(default_factory=dict)
    #: How the reading was degraded without being given up.
    notes: list[str] = field(default_factory=list)


def looks_like_report(head: bytes) -> bool:
    """Whether data starts like a Cellebrite ``report.xml`` (from its first 8 KB).

    >>> looks_like_report(b'<?xml version="1.0"?><project id="x" '
    ...                   b'xmlns="http://pa.cellebrite.com/report/2.0">')
    True
    >>> looks_like_report(b'<project xmlns="http://maven.apache.org/POM/4.0.0">')
    False
    """
    text = head[:_HEAD_BYTES].decode("utf-8", errors="ignore")
    return "<project" in text and CELLEBRITE_NS in text


def report_member(names: Iterable[str]) -> str | None:
    """The zip member of a UFDR holding the report: ``report.xml`` at its root (any case).

    >>> report_member(["files/Image/a.jpg", "Report.xml"])
    'Report.xml'
    """
    found = None
    for name in names:
        if name.lower() == "report.xml":
            if name == "report.xml":
                return name
            found = found or name
    return found


def read_report(stream: IO[bytes], *, max_files: int = MAX_FILES) -> Report:
    """The case, device and tagged files of a report read from a binary stream (first pass).

    Raises UfdrFormatError if the stream is not a Cellebrite report or breaks
    before its root element; damage later ends the reading with a note (the
    files listed before it are kept). Files past ``max_files`` are counted
    in a note, not kept.
    """
    reader = _ReportReader(max_files)
    notes = reader.report.notes
    try:
        for _ in feed_report(stream, reader, notes):
            pass
    except _HeaderRead:
        pass
    except UfdrFormatError as exc:
        if not reader.project_seen:
            raise
        notes.append(f"{exc}; the report is read up to there")
    if not reader.project_seen:
        raise UfdrFormatError("report.xml has no <project> element: not a Cellebrite report")
    if reader.files_over:
        notes.append(
            f"report.xml lists {reader.files_over} tagged files past the first {max_files}: "
            "they are not known"
        )
    if reader.values_cut:
        notes.append(f"report.xml: {reader.values_cut} values cut at {MAX_VALUE_CHARS} characters")
    return reader.report


def iter_messages(
    stream: IO[bytes], report: Report, *, members: Collection[str] | None = None
) -> ChatStream:
    """The messages of a report's decoded data, read from a binary stream (second pass).

    One :class:`~leakscan.exports.chat.Message` per InstantMessage (in a Chat
    or alone), SMS, MMS and Email model, anchored ``model=<id>`` (see
    :class:`._ufdr_messages.MessageMaker` for the fields). An attachment is
    named by the local path of the tagged file it references (``included``)
    or, if it references none, by its file name (``included`` False).
    ``members``, the UFDR's zip member names, if given, also resolves an
    ``attachment_extracted_path`` that no tagged file lists, and makes a
    tagged file the zip lacks ``included`` False.

    Broken XML raises UfdrFormatError from ``next()`` after the messages before it.
    """

    def read(chat: ChatStream) -> Iterator[Message]:
        reader = ModelReader()
        maker = MessageMaker(report.files, report.files_by_local_path, members)
        chat.layout = "report"
        try:
            for _ in feed_report(stream, reader, chat.notes):
                yield from map(maker.message, reader.take())
        except UfdrFormatError:
            yield from map(maker.message, reader.take())  # those before the damage
            raise
        finally:
            chat.notes.extend(reader.summary() + maker.summary())
        yield from map(maker.message, reader.take())

    return ChatStream("ufdr", read)


class _HeaderRead(Exception):
    """Raised by the target at ``<decodedData>`` once the tagged files are read: stop parsing."""


class _ReportReader:
    """lxml target collecting a report's header and tagged files, skipping everything else."""

    def __init__(self, max_files: int) -> None:
        self.report = Report()
        self.max_files = max_files
        self.project_seen = False
        self.files_over = 0
        self.values_cut = 0
        self._tagged_seen = False
        self._files_read = 0
        self._stack: list[str] = []
        self._skip = 0
        self._section = ""  # the section of the <metadata> being read
        self._text: list[str] | None = None  # the text of the element being read
        self._text_len = 0
        self._item: tuple[str, str, str] | None = None  # (where, name, fieldType) of that text
        self._file: dict[str, str] | None = None  # the <file> being read: attributes and items

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self._skip:
            self._skip += 1
            if self._skip + len(self._stack) > MAX_DEPTH:
                raise too_deep()
            return
        name = local_name(tag)
        parents = self._stack
        depth = len(parents)
        if depth == 0:
            if name != "project":
                raise UfdrFormatError(
                    f"report.xml's root is <{name[:40]}>, not <project>: not a Cellebrite report"
                )
            self.project_seen = True
            self.report.project = {k: self._cut(v) for k, v in list(attrib.items())[:32]}
            if not tag.startswith("{" + CELLEBRITE_NS + "}"):
                self.report.notes.append(
                    "report.xml: <project> is not in Cellebrite's namespace; read as one"
                )
        elif depth == 1:
            if name == "metadata":
                self._section = attrib.get("section", "")
            elif name == "decodedData" and self._tagged_seen:
                raise _HeaderRead
            elif name not in ("sourceExtractions", "caseInformation", "taggedFiles"):
                self._skip = 1
                return
        elif depth == 2:
            parent = parents[1]
            if parent == "sourceExtractions" and name == "extractionInfo":
                if len(self.report.extractions) < _MAX_EXTRACTIONS:
                    info = {k: self._cut(v) for k, v in list(attrib.items())[:16]}
                    self.report.extractions[info.get("id", "")] = info
            elif parent == "caseInformation" and name == "field":
                self._begin("case", attrib.get("name", ""), attrib.get("fieldType", ""))
            elif parent == "metadata" and name == "item":
                self._begin(self._section, attrib.get("name", ""), "")
            elif parent == "taggedFiles" and name == "file":
                if self._files_read >= self.max_files:
                    self.files_over += 1
                    self._skip = 1
                    return
                self._files_read += 1
                self._file = {k: self._cut(attrib[k]) for k in _FILE_ATTRS if k in attrib}
            else:
                self._skip = 1
                return
        elif (
            depth == 3
            and self._file is not None
            and name == "metadata"
            and attrib.get("section") == "File"
        ):
            pass
        elif depth == 4 and self._file is not None and name == "item":
            item = attrib.get("name", "")
            if item not in _FILE_ITEMS:
                self._skip = 1
                return
            self._begin("file", item, "")
        else:
            self._skip = 1
            return
        parents.append(name)

    def end(self, tag: str) -> None:
        if self._skip:
            self._skip -= 1
            return
        name = self._stack.pop()
        if self._text is not None and name in ("field", "item"):
            self._finish()
        elif name == "file" and self._file is not None:
            self._add_file(self._file)
            self._file = None
        elif name == "taggedFiles":
            self._tagged_seen = True

    def data(self, data: str) -> None:
        if self._text is not None and not self._skip and self._text_len < MAX_VALUE_CHARS:
            self._text.append(data)
            self._text_len += len(data)

    def close(self) -> None:
        return None

    def _begin(self, where: str, name: str, field_type: str) -> None:
        self._text = []
        self._text_len = 0
        self._item = (where, name, field_type)

    def _finish(self) -> None:
        assert self._text is not None and self._item is not None
        value = self._cut("".join(self._text)).strip()
        where, name, field_type = self._item
        self._text = None
        self._item = None
        if where == "file":
            if self._file is not None:
                self._file[name] = value
            return
        if not value or not name:
            return
        if where == "case" or where == _CASE_SECTION:
            _put(self.report.case, self._cut(name), value)
            english = _CASE_FIELD_TYPES.get(field_type)
            if english and english != name:
                self.report.case.setdefault(english, value)
        elif where in _DEVICE_SECTIONS:
            _put(self.report.device, self._cut(name), value)

    def _cut(self, value: str) -> str:
        if len(value) > MAX_VALUE_CHARS:
            self.values_cut += 1
            return value[:MAX_VALUE_CHARS]
        return value

    def _add_file(self, draft: dict[str, str]) -> None:
        local = normalize_path(draft.get("Local Path", "")) or None
        size = draft.get("size", "").strip()
        tagged = TaggedFile(
            id=draft.get("id") or None,
            device_path=draft.get("path", ""),
            local_path=local,
            size=int(size) if size.isdigit() and len(size) < 20 else None,
            sha256=_hash(draft.get("SHA256"), 64),
            md5=_hash(draft.get("MD5"), 32),
            deleted=draft.get("deleted", "").strip().lower() in ("true", "deleted"),
            fs=draft.get("fs") or None,
        )
        if tagged.id is not None:
            self.report.files.setdefault(tagged.id, tagged)
        if local is not None:
            self.report.files_by_local_path.setdefault(local, tagged)


_FILE_ATTRS = ("id", "fs", "path", "size", "deleted")


def _put(mapping: dict[str, str], name: str, value: str) -> None:
    """Add a metadata value; a name given again (one per extraction) keeps its distinct values."""
    old = mapping.get(name)
    if old is None:
        if len(mapping) < _MAX_ITEMS:
            mapping[name] = value
    elif value not in old.split("; ") and len(old) < MAX_VALUE_CHARS:
        mapping[name] = f"{old}; {value}"


def _hash(value: str | None, length: int) -> str | None:
    """A hex digest of the given length, lower-cased; None for anything else."""
    if value is None:
        return None
    value = value.strip()
    if len(value) != length or not _HEX.fullmatch(value):
        return None
    return value.lower()
