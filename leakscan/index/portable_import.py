"""``index import``: a portable file into an index, whatever its backend.

Import reads the whole file once to check it (bounds, structure, checksum)
before anything is written; then it writes inside :meth:`Index.writing`, one
transaction per few batches, so the index is marked ``building`` until the
last batch is in and a failed import is refused by scans, never taken for a
complete index. It writes through the backend protocol only.

Into an index that holds nothing yet, the import gives it the export's index
id and metadata. Into one that holds documents, it merges only when that index
*is* the exported one (same index id, key id and scheme: a later export of it
coming back): documents are replaced by path as ``index build`` replaces them,
and documents the file does not hold stay. Any other index is refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..errors import (
    ConfigurationError,
    IndexNotFoundError,
    KeyMismatchError,
    LeakscanIndexError,
    MissingKeyError,
    SchemeMismatchError,
)
from ..fingerprint import READABLE_SCHEME_VERSIONS, Scheme, key_id
from ..keyfile import read_key_file
from ..normalize import NORMALIZATION_VERSION
from . import Index, _sqlite_path
from .base import DocumentRecord
from .keys import ENV_KEY_FILE, key_search
from .portable import (
    NOT_CARRIED,
    ContentsFrame,
    DocumentsFrame,
    ExportEnd,
    ExportHeader,
    PortableContent,
    Progress,
    carries_meta,
    check_export,
    read_export,
    timestamp,
)

__all__ = ["ImportReport", "import_index", "import_into"]

log = logging.getLogger(__name__)

#: Meta an import never takes from a file: it is the target's own (and checked equal).
_NOT_IMPORTED = NOT_CARRIED | {"key_id", "scheme", "simhash_bands"}

#: An import commits before a contents batch once this many fingerprints are waiting (few
#: large transactions let SQLite write postings in hash order; measured in benchmarks/portable.py).
_COMMIT_FINGERPRINTS = 500_000


@dataclass(frozen=True)
class ImportReport:
    """What an import found in the file and did to the index."""

    index_id: str
    merged: bool
    contents_added: int
    contents_present: int
    documents_added: int
    documents_replaced: int
    documents_unchanged: int

    def summary_line(self, location: str) -> str:
        how = "merged into" if self.merged else "imported into"
        return (
            f"{how} {location} (index id {self.index_id}): {self.documents_added} documents "
            f"added, {self.documents_replaced} replaced, {self.documents_unchanged} unchanged; "
            f"{self.contents_added} contents added, {self.contents_present} already there"
        )


def _meta_json(raw: str, what: str, where: str) -> object:
    """A meta entry's JSON; damaged JSON (in a file: hostile) is one line."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise LeakscanIndexError(
            f"{where}: its {what} is unreadable ({type(exc).__name__})"
        ) from exc


def _export_scheme(header: ExportHeader, name: str) -> Scheme:
    """The export's fingerprint scheme, if this leakscan can use it."""
    raw = _meta_json(header.meta["scheme"], "fingerprint scheme", name)
    try:
        if not isinstance(raw, dict):
            raise TypeError("not a table of parameters")
        scheme = Scheme.from_dict(raw)
    except (TypeError, ConfigurationError) as exc:
        raise LeakscanIndexError(f"{name}: its fingerprint scheme is unreadable ({exc})") from exc
    if scheme.version not in READABLE_SCHEME_VERSIONS:
        raise SchemeMismatchError(
            f"{name} holds fingerprint scheme {scheme.version}; this leakscan reads schemes "
            f"{', '.join(map(str, READABLE_SCHEME_VERSIONS))}"
        )
    if scheme.normalization != NORMALIZATION_VERSION:
        raise SchemeMismatchError(
            f"{name} was made with normalization {scheme.normalization}; this leakscan "
            f"uses {NORMALIZATION_VERSION}: the index must be rebuilt from the archive"
        )
    return scheme


def _check_header(header: ExportHeader, name: str) -> Scheme:
    """What the file says of its index, checked before any index is opened or created:
    its scheme is usable, its meta's JSON entries are sound. Returns the scheme."""
    scheme = _export_scheme(header, name)
    _roots(header.meta.get("roots"), name)
    if header.meta.get("image_scheme"):
        _meta_json(header.meta["image_scheme"], "picture scheme", name)
    if not header.meta.get("simhash_bands", "4").isdigit():
        raise LeakscanIndexError(f"{name}: its simhash band count is unreadable")
    return scheme


def _roots(raw: str | None, where: str) -> dict[str, dict[str, str]]:
    roots = _meta_json(raw, "archive roots", where) if raw else {}
    if not isinstance(roots, dict) or not all(isinstance(v, dict) for v in roots.values()):
        raise LeakscanIndexError(f"{where}: its archive roots are unreadable")
    return roots


def _plan(index: Index, header: ExportHeader, name: str) -> tuple[dict[str, str], bool]:
    """The meta to write into ``index`` and whether this is a merge, or a refusal:
    every check that can refuse runs before the import writes anything."""
    meta = header.meta
    scheme = _check_header(header, name)
    where = index.location
    if meta["key_id"] != index.key_id:
        raise KeyMismatchError(
            f"{name} was made with key id {meta['key_id']}; {where} has key id {index.key_id}: "
            "import into a new index with the export's key"
        )
    if scheme != index.scheme or meta.get("simhash_bands", str(index.bands)) != str(index.bands):
        raise SchemeMismatchError(
            f"{name} was made with scheme {scheme.to_dict()}, {where} has "
            f"{index.scheme.to_dict()}: import into a new index"
        )
    backend = index.backend
    target = backend.read_meta()
    merged = backend.count_contents() > 0 or backend.count_documents() > 0
    if merged and meta["index_id"] != index.index_id:
        raise LeakscanIndexError(
            f"{where} holds another index (id {index.index_id}) than {name} "
            f"(id {meta['index_id']}): import into a new index"
        )
    theirs, ours = meta.get("image_scheme"), target.get("image_scheme")
    their_pictures = _meta_json(theirs, "picture scheme", name) if theirs else None
    if theirs and ours and their_pictures != _meta_json(ours, "picture scheme", where):
        raise SchemeMismatchError(
            f"{name}'s pictures were hashed with {theirs}, {where}'s with {ours}: "
            "import into a new index"
        )
    roots = _roots(target.get("roots"), where)
    for root, facts in _roots(meta.get("roots"), name).items():
        for other, held in roots.items():
            if other != root and held.get("label") == facts.get("label"):
                raise ConfigurationError(
                    f"{name}'s archive root {root} and {where}'s {other} are both labelled "
                    f"{facts.get('label')!r}: import into a new index"
                )
        roots[root] = facts
    values = {}
    if not merged:
        values = {k: v for k, v in meta.items() if k not in _NOT_IMPORTED and carries_meta(k)}
    if theirs and not ours:
        values["image_scheme"] = theirs
    if roots:
        values["roots"] = json.dumps(roots, sort_keys=True)
    values["imported_at"] = timestamp()
    return values, merged


class _Importer:
    """Writes the frames of one export into an index, counting what it did."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.backend = index.backend
        self.batch: list[PortableContent] = []
        self.contents_added = self.contents_present = 0
        self.fingerprints = 0  # stored so far, those computed again included
        self.added = self.replaced = self.unchanged = 0

    def _add(self, item: PortableContent) -> int:
        backend = self.backend
        content = item.content
        if content.recomputable:  # exported without its fingerprints: computed again here
            if not self.index.recomputable(content.alignment):
                raise LeakscanIndexError(
                    f"content {content.sha256[:12]}: its fingerprints are to be computed "
                    f"again, which fingerprint scheme {self.index.scheme.version} cannot do"
                )
            hashes = self.index.recompute_fingerprints(content.sha256, content.alignment)
            zeros = np.zeros(len(hashes), dtype=np.int64)
            content = dataclasses.replace(content, hashes=hashes, positions=zeros)
        elif self.index.recomputable(content.alignment):  # kept once, in the postings
            content = dataclasses.replace(content, recomputable=True)
        content_id = backend.add_content(content, self.index.bands)
        self.contents_added += 1
        self.fingerprints += len(content.hashes)
        self._marks(content_id, item)
        return content_id

    def _marks(self, content_id: int, item: PortableContent) -> None:
        if item.pictures:  # rows already there are kept
            self.backend.add_image_hashes(content_id, item.pictures, item.picture_bands)
        if item.ocr:
            self.backend.set_ocr(item.content.sha256)

    def contents(self, frame: ContentsFrame) -> None:
        """Store the batch's contents (those the index holds get the file's pictures and
        OCR marks it may lack)."""
        self.batch = frame.contents
        for item in frame.contents:
            content_id = self.backend.find_content(item.content.sha256)
            if content_id is None:
                self._add(item)
            else:
                self.contents_present += 1
                self._marks(content_id, item)

    def documents(self, frame: DocumentsFrame) -> None:
        """Store documents, replacing what the index holds at their paths; each content is
        looked up again, as replacing a document drops a content no document holds any more."""
        backend = self.backend
        for place, document in frame.documents:
            item = self.batch[place]
            existing = backend.find_document(document.root, document.path)
            if existing is not None:
                same = backend.find_content(item.content.sha256) == existing.content_id
                if same and (existing.size, existing.mtime_ns, existing.mime) == (
                    document.size,
                    document.mtime_ns,
                    document.mime,
                ):
                    self.unchanged += 1
                    continue
                backend.remove_document(existing.id)
                self.replaced += 1
            else:
                self.added += 1
            content_id = backend.find_content(item.content.sha256)
            if content_id is None:
                content_id = self._add(item)
            backend.add_document(
                DocumentRecord(
                    document.root,
                    document.path,
                    content_id,
                    document.size,
                    document.mtime_ns,
                    document.mime,
                )
            )


def import_into(
    index: Index, stream: BinaryIO, name: str, *, progress: Progress | None = None
) -> ImportReport:
    """Import an export read from ``stream`` into an index open for writing.

    Reads the stream twice (it must be seekable): once to check all of it,
    then to write. Refusals (damage, another key, scheme or index) leave the
    index untouched.
    """
    start = stream.tell()
    header, _ = check_export(stream, name)
    stream.seek(start)
    return _import_checked(index, stream, name, header, progress)


def _import_checked(
    index: Index,
    stream: BinaryIO,
    name: str,
    header: ExportHeader,
    progress: Progress | None,
) -> ImportReport:
    """The writing pass, after :func:`check_export` read the whole file."""
    values, merged = _plan(index, header, name)
    importer = _Importer(index)
    with index.writing():
        index.backend.write_meta(values)
        if not merged:
            index.index_id = header.meta["index_id"]
        finished = False
        pending = 0  # fingerprints written since the last commit
        for frame in read_export(stream, name):
            if isinstance(frame, ContentsFrame):
                if pending >= _COMMIT_FINGERPRINTS:
                    index.commit()  # whole batches per transaction: their documents are in
                    pending = 0
                before = importer.fingerprints
                importer.contents(frame)
                pending += importer.fingerprints - before
            elif isinstance(frame, DocumentsFrame):
                importer.documents(frame)
                if progress is not None:
                    done = importer.added + importer.replaced + importer.unchanged
                    progress(done, header.documents)
            elif isinstance(frame, ExportEnd):
                finished = True
        if not finished:  # read_export ends with the end frame or raises
            raise LeakscanIndexError(f"{name}: no end frame")
    return ImportReport(
        index_id=index.index_id,
        merged=merged,
        contents_added=importer.contents_added,
        contents_present=importer.contents_present,
        documents_added=importer.added,
        documents_replaced=importer.replaced,
        documents_unchanged=importer.unchanged,
    )


@contextmanager
def _opened(file: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    try:
        stream = open(file, "rb")  # noqa: SIM115 (closed below; errors mapped on opening)
    except OSError as exc:
        raise LeakscanIndexError(f"cannot read {file}: {exc.strerror or exc}") from exc
    with stream:
        yield stream


def _found_key(location: str, key_file: str | os.PathLike[str] | None) -> tuple[bytes | None, str]:
    """The key a new index at ``location`` would get, as :meth:`Index.open` looks for it
    (a key file given, ``LEAKSCAN_KEY_FILE``, the file beside a SQLite index), and where
    it was looked for; None when there is no such file (an import never makes a key)."""
    path, how = key_search(location, _sqlite_path(location), key_file)
    if path is None or not os.path.lexists(path):
        return None, how if path is None else f"no key file {path} ({how})"
    return read_key_file(path), f"key file {path} ({how})"


def import_index(
    file: str | os.PathLike[str],
    location: str | os.PathLike[str],
    *,
    key: bytes | None = None,
    key_file: str | os.PathLike[str] | None = None,
    lock_timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the export ``file`` into the index at ``location``.

    The key is ``key``, else the key file found as :meth:`Index.open` finds it
    (``key_file``, ``LEAKSCAN_KEY_FILE``, ``<index file>.key``): its key id
    must be the export's, checked before anything is created. A new index
    is created only with that key (an import never makes a new one: the
    index would be useless); an existing index must hold it.
    """
    name = os.fspath(file)
    where = os.fspath(location)
    with _opened(file) as stream:
        if not stream.seekable():
            raise LeakscanIndexError(f"{name} cannot be read twice (a pipe?): give a file")
        log.info("checking %s", name)
        header, _ = check_export(stream, name)
        scheme = _check_header(header, name)
        wanted = header.meta["key_id"]
        how = "the key given"
        if key is None:
            key, how = _found_key(where, key_file)
        if key is not None and key_id(key) != wanted:
            raise KeyMismatchError(
                f"{how} holds key id {key_id(key)}, not the one {name} was made with "
                f"(key id {wanted}): give the export's key file with --key-file FILE"
            )
        if key is not None:
            target = Index.create(
                where,
                key=key,
                key_file=key_file,
                scheme=scheme,
                lock_timeout=lock_timeout,
                on_wait=on_wait,
            )
        else:
            try:  # an index that keeps its key inside, made before key files
                target = Index.open(
                    where,
                    writer=True,
                    key_file=key_file,
                    lock_timeout=lock_timeout,
                    on_wait=on_wait,
                )
            except (IndexNotFoundError, MissingKeyError) as exc:
                raise MissingKeyError(
                    f"cannot import {name} into {where}: {how}; give the key file the export "
                    f"was made with (key id {wanted}) with --key-file FILE or {ENV_KEY_FILE}"
                ) from exc
        with target:
            log.info("importing %s into %s", name, target.location)
            stream.seek(0)
            return _import_checked(target, stream, name, header, progress)
