"""Targets → scannable items: folders walked, archives and e-mails opened, chat exports found.

This is the walk stage for seized-device exports. Archives (and archives in
archives, and e-mail attachments) are read in memory under
:class:`~leakscan.exports.archives.ArchiveLimits`; their members become items
named ``outer.zip!inner/path``. A chat export (WhatsApp's text file,
Telegram's ``result.json``) is found by its content wherever it lies, in a
folder or an archive; the attachments it names are tied to the message that
sent them, and those it names but the export lacks are noted for the
``attachment-name`` check. The extraction of each item's text happens later,
in isolated workers; only container formats are parsed here.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from ..errors import ExtractionError
from ..extract import OLE_MAGIC
from ..records import ErrorRecord, SkippedRecord
from ..walk import Item, display_name, open_evidence, walk
from .archives import (
    ArchiveLimits,
    Budget,
    Member,
    Refused,
    archive_kind,
    read_archive,
    unsafe_name,
)
from .chat import Chat, ChatContext, SentIn

__all__ = ["CHAT_MAX_BYTES", "Entry", "Expander", "Opened", "parse_chat"]

#: Chat files are looked for among text and JSON files up to this size.
CHAT_MAX_BYTES = 64 << 20
_HEAD = 8192
_MAX_MIME_PARTS = 10_000  # about 5 s of parsing
_MAX_MIME_NESTING = 200


@dataclass(frozen=True)
class Opened:
    """An archive or e-mail was opened; its members follow as items of their own."""

    name: str
    kind: str


Entry = Item | SkippedRecord | ErrorRecord | Opened


def _chat_candidate(name: str) -> bool:
    return name.lower().endswith((".txt", ".json"))


_CHAT_HEAD = 1 << 16


def may_be_chat(head: bytes, name: str) -> bool:
    """A cheap look at a candidate's first bytes: only these are read whole and parsed."""
    from . import telegram, whatsapp

    if name.lower().endswith(".json"):
        return telegram.looks_like_export(head)
    for bom, encoding in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return whatsapp.looks_like_chat(head[2:].decode(encoding, "ignore"))
    return whatsapp.looks_like_chat(head.decode("utf-8", "ignore"))


def parse_chat(data: bytes, name: str) -> Chat | None:
    """The chat a candidate file holds (WhatsApp text or Telegram JSON), or None."""
    from ..extract.text import decode_text
    from . import telegram, whatsapp

    if not may_be_chat(data[:_CHAT_HEAD], name):
        return None
    try:
        if name.lower().endswith(".json"):
            return telegram.parse(data)
        return whatsapp.parse(decode_text(data))
    except ExtractionError:
        return None


@dataclass
class _Chats:
    """Chats found in one folder (or archive) and the attachments they sent, by path."""

    contexts: dict[str, ChatContext]
    sent: dict[str, SentIn]


def _collect_chats(
    found: dict[str, tuple[Chat, str]],
    exists: Callable[[str], bool],
    join: Callable[[str, str], str],
) -> _Chats:
    """Tie each chat's attachments to their messages; note the ones the export lacks.

    ``found`` maps a chat's location (a path, or a member name: both with
    "/" separators here) to (chat, the name its findings use).
    """
    chats = _Chats({}, {})
    for location, (chat, reported) in found.items():
        folder = posixpath.dirname(location)
        missing: set[str] = set()
        for message in chat.messages:
            for ref in message.attachments:
                if not ref.name:
                    continue
                where = join(folder, ref.name)
                if ref.included and exists(where):
                    chats.sent.setdefault(
                        where,
                        SentIn(f"{reported}#L{message.line}", message.sender, message.sent_at),
                    )
                else:
                    missing.add(ref.name)
        chats.contexts[location] = ChatContext(chat, frozenset(missing))
    return chats


def _posix_join(folder: str, name: str) -> str:
    return posixpath.normpath(posixpath.join(folder, name.replace("\\", "/")))


def _os_join(folder: str, name: str) -> str:
    return os.path.normpath(os.path.join(folder, name))


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _mail_kind(head: bytes, name: str) -> str | None:
    from .mail import looks_like_eml

    if head.startswith(OLE_MAGIC) and name.lower().endswith(".msg"):
        return "msg"
    if looks_like_eml(head):
        return "eml"
    return None


class Expander:
    """Expands targets into items, under archive limits shared by each outermost archive."""

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()
        self._folder_chats: dict[str, _Chats] = {}

    # -- folders -----------------------------------------------------------------

    def expand(self, targets: Sequence[str | os.PathLike[str]]) -> Iterator[Entry]:
        """Every item below the targets, in a stable order."""
        for target in targets:
            path = os.fspath(target)
            root = (
                path if os.path.isdir(path) and not os.path.islink(path) else os.path.dirname(path)
            )
            for entry in walk([path]):
                if isinstance(entry, Item):
                    yield from self._file(entry, root)
                else:
                    yield entry
            self._folder_chats.clear()

    def _chats_in(self, folder: str) -> _Chats:
        cached = self._folder_chats.get(folder)
        if cached is not None:
            return cached
        found: dict[str, tuple[Chat, str]] = {}
        try:
            with os.scandir(folder or ".") as entries:
                names = sorted(e.name for e in entries if _chat_candidate(e.name))
        except OSError:
            names = []
        for name in names:
            location = os.path.join(folder, name)
            try:
                with open_evidence(location) as handle:
                    info = os.fstat(handle.fileno())
                    if not stat.S_ISREG(info.st_mode) or info.st_size > CHAT_MAX_BYTES:
                        continue
                    head = handle.read(_CHAT_HEAD)
                    if not may_be_chat(head, name):
                        continue
                    data = head + handle.read(CHAT_MAX_BYTES)
            except OSError:
                continue  # the walk reports it
            chat = parse_chat(data, name)
            if chat is not None:
                found[location] = (chat, display_name(location))
        chats = _collect_chats(found, _is_file, _os_join)
        self._folder_chats[folder] = chats
        return chats

    def _context(self, path: str, root: str) -> tuple[ChatContext | None, SentIn | None]:
        """The chat a file is, or the chat message that sent it (in its folder or above)."""
        normal = os.path.normpath(path)
        folder = os.path.dirname(path)
        chat = self._chats_in(folder).contexts.get(path)
        while True:
            sent = self._chats_in(folder).sent.get(normal)
            if sent is not None or not folder or len(folder) <= len(root):
                return chat, sent
            parent = os.path.dirname(folder)
            if parent == folder:
                return chat, None
            folder = parent

    def _file(self, item: Item, root: str) -> Iterator[Entry]:
        try:
            handle = open_evidence(item.path)
        except OSError as exc:
            yield ErrorRecord(item.name, f"cannot read: {exc.strerror or exc}")
            return
        with handle:
            try:
                head = handle.read(_HEAD)
                kind = archive_kind(head, handle, item.name) if head else None
                mail = None if kind else _mail_kind(head, item.name)
                if kind or mail:
                    size = os.fstat(handle.fileno()).st_size
                    sha256 = _hash_handle(handle)
            except OSError as exc:
                yield ErrorRecord(item.name, f"cannot read: {exc.strerror or exc}")
                return
            if kind:
                budget = Budget(self.limits)
                yield from self._open_archive(
                    kind, handle, item.name, size, item.path, sha256, budget, 1
                )
                return
            if mail:
                if size > self.limits.max_member_bytes:
                    limit = f"larger than the {self.limits.max_member_bytes}-byte limit"
                    yield SkippedRecord(item.name, f"{limit} ({size} bytes)", None, sha256)
                    return
                handle.seek(0)
                data = handle.read()
                budget = Budget(self.limits)
                yield from self._mail(mail, data, item.name, item.path, sha256, budget, 1)
                return
        chat, sent = self._context(item.path, root)
        yield Item(item.name, item.path, sent_in=sent, chat=chat)

    # -- archives and e-mail --------------------------------------------------------

    def _open_archive(
        self,
        kind: str,
        handle: IO[bytes],
        name: str,
        size: int,
        holder: str,
        sha256: str,
        budget: Budget,
        depth: int,
    ) -> Iterator[Entry]:
        yield Opened(name, kind)
        chats = self._archive_chats(kind, handle, name, size)
        handle.seek(0)
        try:
            for member in read_archive(kind, handle, name, size, budget):
                full = f"{name}!{member.name}"
                if isinstance(member, Refused):
                    if member.error:
                        yield ErrorRecord(full, member.reason, sha256)
                    else:
                        yield SkippedRecord(full, member.reason, member.mime, sha256)
                    continue
                yield from self._member(full, member, chats, holder, sha256, budget, depth)
        except ExtractionError as exc:
            yield ErrorRecord(name, str(exc), sha256)

    def _archive_chats(self, kind: str, handle: IO[bytes], name: str, size: int) -> _Chats:
        """First pass: every member name, and the chat files among them."""
        names: set[str] = set()

        def select(member: str) -> bool:
            names.add(posixpath.normpath(member.replace("\\", "/")))
            return _chat_candidate(member) and unsafe_name(member) is None

        found: dict[str, tuple[Chat, str]] = {}
        try:
            for member in read_archive(kind, handle, name, size, Budget(self.limits), select):
                if isinstance(member, Member) and len(member.data) <= CHAT_MAX_BYTES:
                    chat = parse_chat(member.data, member.name)
                    if chat is not None:
                        found[member.name] = (chat, f"{name}!{member.name}")
        except ExtractionError:
            pass  # the second pass reports it
        chats = _collect_chats(found, names.__contains__, _posix_join)
        return chats

    def _member(
        self,
        full: str,
        member: Member,
        chats: _Chats,
        holder: str,
        sha256: str,
        budget: Budget,
        depth: int,
    ) -> Iterator[Entry]:
        data = member.data
        kind = archive_kind(data[:_HEAD], io.BytesIO(data), member.name) if data else None
        mail = None if kind or not data else _mail_kind(data[:_HEAD], member.name)
        if (kind or mail) and depth >= self.limits.max_depth:
            yield ErrorRecord(
                full,
                f"refused: containers nested more than {self.limits.max_depth} deep "
                "(decompression bomb?)",
                sha256,
            )
            return
        if kind:
            yield from self._open_archive(
                kind, io.BytesIO(data), full, len(data), holder, sha256, budget, depth + 1
            )
            return
        if mail:
            yield from self._mail(mail, data, full, holder, sha256, budget, depth + 1)
            return
        location = posixpath.normpath(member.name.replace("\\", "/"))
        yield Item(
            full,
            holder,
            data=data,
            holder_sha256=sha256,
            sent_in=chats.sent.get(location),
            chat=chats.contexts.get(member.name),
        )

    def _mail(
        self,
        kind: str,
        data: bytes,
        name: str,
        holder: str,
        sha256: str,
        budget: Budget,
        depth: int,
    ) -> Iterator[Entry]:
        from .mail import read_eml, read_msg

        # The mail parser's time grows with the parts and its depth with the
        # nesting: bound both before parsing (it runs in the scanning process).
        parts = data.count(b"\n--")
        if parts > _MAX_MIME_PARTS or data.count(b"boundary=") > _MAX_MIME_NESTING:
            yield ErrorRecord(
                name,
                f"refused: {parts} MIME parts or more than {_MAX_MIME_NESTING} multipart "
                "levels (a crafted e-mail?)",
                sha256,
            )
            return
        try:
            mail = read_msg(data) if kind == "msg" else read_eml(data)
        except ExtractionError as exc:
            yield ErrorRecord(name, str(exc), sha256)
            return
        yield Opened(name, "e-mail")
        yield Item(name, holder, data=data, text=mail.text, holder_sha256=sha256)
        for note in mail.problems:
            yield ErrorRecord(f"{name}!<part>", note, sha256)
        no_chats = _Chats({}, {})
        for part in mail.attachments:
            full = f"{name}!{part.name}"
            problem = unsafe_name(part.name)
            if problem:
                yield ErrorRecord(full, f"refused: {problem}", sha256)
                continue
            try:
                budget.count_member()
            except ExtractionError as exc:
                yield ErrorRecord(name, str(exc), sha256)
                return
            yield from self._member(
                full, Member(part.name, part.data), no_chats, holder, sha256, budget, depth
            )


def _hash_handle(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()
