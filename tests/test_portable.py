"""Portable indexes: ``index export`` / ``index import`` between backends, and hostile files.

Every archive text is generated here (invented words, fictional English and
Urdu sentences); the pictures are drawn by ``tests/image_factories.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import pytest
from click.testing import CliRunner

from leakscan import Finding, Index, Scanner, ScanOptions, build
from leakscan.cli import cli
from leakscan.errors import (
    ConfigurationError,
    KeyMismatchError,
    LeakscanIndexError,
    MissingKeyError,
    SchemeMismatchError,
)
from leakscan.fingerprint import Scheme, key_id
from leakscan.index import BUILD_RUNNING
from leakscan.index.base import DocumentRecord, NewContent, to_signed_array
from leakscan.index.portable import ContentsFrame, check_export, read_export
from leakscan.index.portable_export import export_index, export_to_file
from leakscan.index.portable_import import import_index, import_into
from leakscan.keyfile import write_key_file
from leakscan.ocr import OcrSettings
from tests import image_factories as pictures
from tests.postgres_server import PostgresServer
from tests.texts import prose, urdu_document

ROOT = Path(__file__).resolve().parent.parent
KEY = b"p" * 32
OTHER_KEY = b"q" * 32
NO_OCR = OcrSettings(enabled=False)

#: Fictional sentences no other text holds: an export must not contain them.
SECRETS = {
    "patrol": "Commander Zorvath moves the Karimabad harbour patrol to the eastern jetty "
    "before dawn on the ninth of Quellmonth.",
    "budget": "The Fennrick tunnel budget rises to nine hundred million dinars after the "
    "secret vote of the Ostrava committee.",
    "urdu": "کریم آباد کی بندرگاہ کا گشت نویں تاریخ کو فجر سے پہلے مشرقی گھاٹ پر منتقل ہو گا۔",
}
PRESS = prose(40, 220)
_BUILD_KEYS = {"build_state", "build_started_at", "build_finished_at", "build_documents"}


# -- fixtures ----------------------------------------------------------------


def _archive(folder: Path) -> tuple[Path, Path]:
    """A case archive (texts, a copy, a ZIP, Urdu, pictures) and a folder of public texts."""
    archive, public = folder / "archive", folder / "public"
    (archive / "memos").mkdir(parents=True)
    (archive / "maps").mkdir()
    (archive / "urdu").mkdir()
    public.mkdir()
    patrol = prose(1, 300) + " " + SECRETS["patrol"] + " " + prose(2, 200)
    (archive / "memos" / "m1.txt").write_text(patrol, encoding="utf-8")
    (archive / "memos" / "m1 copy.txt").write_text(patrol, encoding="utf-8")
    (archive / "memos" / "m2.txt").write_text(prose(3, 400) + "\n" + PRESS, encoding="utf-8")
    with zipfile.ZipFile(archive / "bundle.zip", "w") as bundle:
        bundle.writestr(
            "inner/m3.txt", prose(4, 250) + " " + SECRETS["budget"] + " " + prose(5, 80)
        )
    urdu = urdu_document(6, 250) + " " + SECRETS["urdu"] + " " + urdu_document(7, 120)
    (archive / "urdu" / "u1.txt").write_text(urdu, encoding="utf-8")
    for family in ("map", "diagram"):
        image = pictures.picture(family, 7)
        (archive / "maps" / f"{family}.png").write_bytes(pictures.encode(image))
    (public / "press.txt").write_text(PRESS, encoding="utf-8")
    return archive, public


def _build(location: Path | str, folder: Path) -> Index:
    """The test archive indexed as users index it, plus one document marked as read by OCR."""
    archive, public = _archive(folder)
    index = Index.create(location, key=KEY)
    report = build(index, [archive], ocr=NO_OCR)
    assert not report.errors, report.summary_line()
    report = build(index, [public], public=True, ocr=NO_OCR)
    assert report.added == 1
    with index.writing():
        fingerprint = index.fingerprinter.fingerprint(prose(9, 150))
        index.add_fingerprint(
            fingerprint, path="scans/page.png", root=str(archive), sha256="9" * 64
        )
        index.backend.set_ocr("9" * 64)
    return index


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("source")
    location = folder / "index.sqlite"
    _build(location, folder).close()
    return location


@pytest.fixture(scope="module")
def exported(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    file = tmp_path_factory.mktemp("export") / "case.lsx"
    with Index.open(source, readonly=True) as index:
        export_to_file(index, file)
    return file


@pytest.fixture(scope="module")
def suspect(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A phone folder holding excerpts of the archive, a copy of a map and the press text."""
    folder = tmp_path_factory.mktemp("phone")
    (folder / "note.txt").write_text(
        "fwd: " + " ".join((prose(1, 300) + " " + SECRETS["patrol"]).split()[-90:]), "utf-8"
    )
    (folder / "chat.txt").write_text(SECRETS["budget"] + " " + prose(5, 80), "utf-8")
    (folder / "urdu.txt").write_text(SECRETS["urdu"] + " " + urdu_document(7, 120), "utf-8")
    (folder / "press.txt").write_text(PRESS, "utf-8")
    copy = pictures.transform(pictures.picture("map", 7), "resize-50", 1)
    (folder / "IMG_0001.png").write_bytes(pictures.encode(copy))
    return folder


# -- helpers -----------------------------------------------------------------


def dump(index: Index) -> dict[str, Any]:
    """Everything the index holds, read through the backend protocol, free of ids."""
    backend = index.backend
    contents = dict(backend.export_contents())
    for content_id, content in contents.items():  # held only in the postings: computed again
        if content.recomputable:
            again = index.recompute_fingerprints(content.sha256, content.alignment)
            zeros = np.zeros(len(again), dtype=np.int64)
            contents[content_id] = dataclasses.replace(content, hashes=again, positions=zeros)
    sha = {content_id: content.sha256 for content_id, content in contents.items()}
    ids = sorted(contents)
    hashes = sorted({h for c in contents.values() for h in c.hashes.tolist()})
    blobs = backend.alignments(ids)
    meta = backend.read_meta()
    return {
        "documents": sorted(
            (d.root, d.path, d.size, d.mtime_ns, d.mime, sha[d.content_id])
            for d in backend.documents()
        ),
        "contents": {
            c.sha256: (
                c.n_tokens,
                c.simhash,
                c.public,
                c.hashes.tolist(),
                c.positions.tolist(),
                blobs.get(i, b""),
            )
            for i, c in contents.items()
        },
        "records": sorted(
            (sha[i], r.n_tokens, r.n_fingerprints, r.simhash, r.public, r.paths, r.roots)
            for i, r in backend.contents(ids).items()
        ),
        "frequencies": sorted(backend.document_frequencies(hashes).items()),
        "postings": sorted(
            (p.hash, sha[p.content_id], p.position) for p in backend.postings(hashes)
        ),
        "near": {
            c.sha256: sorted(sha[n] for n in backend.simhash_candidates(c.simhash, index.bands))
            for c in contents.values()
            if len(c.hashes)
        },
        "pictures": {sha[i]: sorted(rows) for i, rows in backend.image_hashes(ids).items()},
        "bands": {sha[i]: sorted(rows) for i, rows in backend.image_bands(ids).items()},
        "ocr": sorted(backend.ocr_marked(list(sha.values()))),
        "ocr_documents": backend.count_ocr_documents(),
        "meta": {  # (without the PostgreSQL backend's own entries: its storage's)
            k: v
            for k, v in meta.items()
            if k not in _BUILD_KEYS | {"imported_at"} and not k.startswith("postgres_")
        },
        "roots": index.roots(),
        "index_id": index.index_id,
    }


def findings(
    location: Path | str, folder: Path, key_file: Path | None = None
) -> list[dict[str, Any]]:
    with Index.open(location, key_file=key_file, readonly=True) as index:
        records = Scanner(index, ScanOptions(ocr=NO_OCR)).scan([folder])
        found = [r.to_dict() for r in records if isinstance(r, Finding)]
    return sorted(found, key=lambda f: (f["suspect"], f["source"]))


def frames(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The magic line and the (kind, stored payload) frames of an export, checksum dropped."""
    magic, rest = data.split(b"\n", 1)
    rest = rest[:-32]
    found = []
    while rest:
        kind, length = struct.unpack_from("<cI", rest)
        found.append((kind, rest[5 : 5 + length]))
        rest = rest[5 + length :]
    return magic + b"\n", found


def reassemble(magic: bytes, parts: list[tuple[bytes, bytes]]) -> bytes:
    """An export of these frames with a correct checksum: damage only the checks can see."""
    body = magic + b"".join(struct.pack("<cI", kind, len(p)) + p for kind, p in parts)
    return body + hashlib.sha256(body).digest()


def unpack(stored: bytes) -> tuple[Any, bytes]:
    payload = zlib.decompress(stored)
    (length,) = struct.unpack_from("<I", payload)
    return json.loads(payload[4 : 4 + length]), payload[4 + length :]


def pack(document: object, binary: bytes = b"") -> bytes:
    text = json.dumps(document).encode()
    return zlib.compress(struct.pack("<I", len(text)) + text + binary)


def refused(file: Path, tmp_path: Path) -> str:
    """Import ``file`` into a new index: refused with one line, and no index is created."""
    target = tmp_path / "new.sqlite"
    with pytest.raises(LeakscanIndexError) as caught:
        import_index(file, target, key=KEY)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(file))
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("new.sqlite")]
    return message


def write(tmp_path: Path, data: bytes, name: str = "bad.lsx") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- round trips ---------------------------------------------------------------


def test_sqlite_round_trip_keeps_everything_and_finds_the_same(
    source: Path, exported: Path, suspect: Path, tmp_path: Path
) -> None:
    target = tmp_path / "lab.sqlite"
    report = import_index(exported, target, key=KEY)
    assert not report.merged and report.documents_replaced == 0
    with Index.open(source, readonly=True) as before, Index.open(target, readonly=True) as after:
        old, new = dump(before), dump(after)
        assert new == old
        fields = ("documents", "contents", "fingerprints", "pictures", "ocr_documents", "roots")
        fields += ("index_id", "key_id", "scheme", "build_documents")
        old_stats, new_stats = before.stats().to_dict(), after.stats().to_dict()
        assert {f: new_stats[f] for f in fields} == {f: old_stats[f] for f in fields}
        assert new_stats["build_state"] == "complete"
    assert report.documents_added == len(old["documents"]) == 9
    assert report.contents_added == len(old["contents"]) == 8  # m1 and its copy share one
    assert len(old["pictures"]) == 2 and old["ocr_documents"] == 1 and len(old["roots"]) == 2
    assert any(public for _, _, public, *_ in old["contents"].values())
    assert all(blob for n_tokens, *_, blob in old["contents"].values() if n_tokens)
    found = findings(source, suspect)
    assert findings(target, suspect) == found
    kinds = {(f["suspect"].rsplit("/", 1)[-1], f["source"].replace(" copy", "")) for f in found}
    assert {
        ("note.txt", "memos/m1.txt"),
        ("chat.txt", "bundle.zip!inner/m3.txt"),
        ("urdu.txt", "urdu/u1.txt"),
        ("IMG_0001.png", "maps/map.png"),
    } <= kinds
    assert not any(name == "press.txt" for name, _ in kinds)  # public text raises nothing


def test_sqlite_to_postgresql_and_back(
    source: Path, exported: Path, suspect: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database()
    key_file = Path(f"{source}.key")
    import_index(exported, url, key_file=key_file)
    with Index.open(url, key_file=key_file, readonly=True) as index:
        moved = dump(index)
        back = io.BytesIO()
        export_index(index, back)
    with Index.open(source, readonly=True) as index:
        expected = dump(index)
    assert moved == expected
    assert findings(url, suspect, key_file) == findings(source, suspect)
    import_index(write(tmp_path, back.getvalue(), "back.lsx"), tmp_path / "back.sqlite", key=KEY)
    with Index.open(tmp_path / "back.sqlite", readonly=True) as index:
        assert dump(index) == expected


def _memory_index() -> Index:
    """A memory index filled through the protocol, alignment blobs and pictures included."""
    index = Index.open("memory://", create=True, key=KEY)
    rng = np.random.default_rng(5)
    with index.writing():
        for n in range(5):
            fingerprint = index.fingerprinter.fingerprint(prose(60 + n, 200))
            content_id = index.backend.add_content(
                NewContent(
                    sha256=f"{n:064x}",
                    hashes=to_signed_array(fingerprint.hashes),
                    positions=np.asarray(fingerprint.starts, dtype=np.int64),
                    simhash=fingerprint.simhash,
                    n_tokens=fingerprint.n_tokens,
                    public=n == 4,
                    alignment=rng.bytes(40 * n),
                ),
                index.bands,
            )
            for path in [f"d{n}.txt"] + ([f"again/d{n}.txt"] if n == 1 else []):
                index.backend.add_document(
                    DocumentRecord("/cases/a", path, content_id, 9, n, "text/plain")
                )
            if n == 2:
                index.backend.add_image_hashes(
                    content_id,
                    [("full", "phash", -5), ("full", "dhash", 77)],
                    [(0, 3, "full"), (1, 65535, "full")],
                )
                index.backend.set_ocr(f"{n:064x}")
    return index


def test_memory_round_trip_into_sqlite_and_memory(tmp_path: Path) -> None:
    source = _memory_index()
    data = io.BytesIO()
    report = export_index(source, data)
    assert (report.contents, report.documents, report.pictures, report.ocr) == (5, 6, 1, 1)
    file = write(tmp_path, data.getvalue(), "memory.lsx")
    import_index(file, tmp_path / "m.sqlite", key=KEY)
    with Index.open(tmp_path / "m.sqlite", readonly=True) as sqlite_copy:
        assert dump(sqlite_copy) == dump(source)
    memory_copy = Index.open("memory://", create=True, key=KEY)
    with file.open("rb") as stream:
        import_into(memory_copy, stream, str(file))
    assert dump(memory_copy) == dump(source)
    assert len(dump(memory_copy)["contents"][f"{3:064x}"][5]) == 120  # the blobs came along


@pytest.mark.parametrize("backend", ["memory", "postgresql"])
def test_recomputable_contents_travel_without_their_fingerprints(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A content held only in its postings (fingerprint scheme 3) is exported without its
    fingerprints and with no key at hand; the import computes them again from its alignment
    units with the key, and the copy holds what the source holds."""
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        source = Index.create(server.new_database(), key=KEY)
    else:
        source = Index.open("memory://", create=True, key=KEY)
    with source:
        with source.writing():
            for n in range(3):
                source.add_text(f"{prose(1, 40)} {prose(70 + n, 150)}", path=f"r{n}.txt")
            # one as an older scheme stores it: its own fingerprints, real positions
            fingerprint = source.fingerprinter.fingerprint(prose(90, 120))
            source.add_hashes(
                fingerprint.hashes,
                fingerprint.starts,
                fingerprint.simhash,
                fingerprint.n_tokens,
                path="older.txt",
                sha256="e" * 64,
            )
        expected = dump(source)
        source.backend.recompute = None  # an export needs no key
        data = io.BytesIO()
        export_index(source, data)
    file = write(tmp_path, data.getvalue(), "recomputed.lsx")
    with file.open("rb") as stream:
        carried = [
            c.content
            for frame in read_export(stream, str(file))
            if isinstance(frame, ContentsFrame)
            for c in frame.contents
        ]
    assert sorted((c.recomputable, len(c.hashes) > 0) for c in carried) == [
        (False, True),
        (True, False),
        (True, False),
        (True, False),
    ]
    import_index(file, tmp_path / "r.sqlite", key=KEY)
    with Index.open(tmp_path / "r.sqlite", readonly=True) as copy:
        assert dump(copy) == expected
        assert copy.backend.postings(to_signed_array(fingerprint.hashes).tolist())


# -- what the file holds ---------------------------------------------------------


def test_the_export_holds_no_document_text_and_no_key(exported: Path) -> None:
    data = exported.read_bytes()
    magic, parts = frames(data)
    assert magic == b"leakscan-index-export 2\n"
    header = json.loads(parts[0][1])
    assert "key" not in header["meta"] and header["meta"]["key_id"]
    readable = [data, parts[0][1]] + [zlib.decompress(p) for _, p in parts[1:]]
    text = b"\n".join(readable).decode("utf-8", "replace").casefold()
    assert KEY.hex() not in text and KEY.decode() not in text
    paths = " ".join(str(p) for p in header["meta"].values()).casefold()
    for name, sentence in SECRETS.items():
        assert sentence.casefold() not in text, name
        words = [w.strip(".,۔") for w in sentence.casefold().split() if len(w) >= 5]
        leaked = [w for w in words if w in text and w not in paths]
        assert not leaked, (name, leaked)
    for word in set(PRESS.casefold().replace(".", " ").replace(",", " ").split()):
        if len(word) >= 9:
            assert word not in text, word


def test_a_file_is_checked_whole(exported: Path) -> None:
    with exported.open("rb") as stream:
        header, end = check_export(stream, str(exported))
    assert header.documents == end.counts["documents"] == 9
    assert end.counts["pictures"] == 2 and end.counts["ocr"] == 1
    assert header.meta["index_id"] and header.meta["roots"]


# -- damaged and hostile files ----------------------------------------------------


@pytest.mark.parametrize("keep", [0, 10, 30, 200, -1000, -33, -32, -1])
def test_a_truncated_file_is_refused(exported: Path, tmp_path: Path, keep: int) -> None:
    data = exported.read_bytes()
    message = refused(write(tmp_path, data[:keep]), tmp_path)
    assert "refused" in message


@pytest.mark.parametrize("where", [0.0, 0.01, 0.2, 0.5, 0.9, 0.999, 1.0])
def test_a_flipped_byte_is_refused(exported: Path, tmp_path: Path, where: float) -> None:
    data = bytearray(exported.read_bytes())
    at = min(len(data) - 1, int(len(data) * where))
    data[at] ^= 0x10
    assert "refused" in refused(write(tmp_path, bytes(data)), tmp_path)


def test_wrong_magic_future_version_and_junk_after_the_checksum(
    exported: Path, tmp_path: Path
) -> None:
    data = exported.read_bytes()
    assert "not a leakscan index export" in refused(
        write(tmp_path, b"SQLite format 3\0" + data), tmp_path
    )
    assert "not a leakscan index export" in refused(write(tmp_path, b""), tmp_path)
    future = data.replace(b"leakscan-index-export 2\n", b"leakscan-index-export 3\n", 1)
    assert "version 3; this leakscan reads version 1, 2: update leakscan" in refused(
        write(tmp_path, future), tmp_path
    )
    assert "data after its checksum" in refused(write(tmp_path, data + b"\0"), tmp_path)
    magic, parts = frames(data)
    assert "checksum does not match" in refused(
        write(tmp_path, reassemble(magic, parts)[:-1] + b"\0"), tmp_path
    )


def _rewrite_contents(data: bytes, change: Any) -> bytes:
    """The export with its first contents frame's JSON and arrays changed by ``change``,
    checksum made right again."""
    magic, parts = frames(data)
    at = next(i for i, (kind, _) in enumerate(parts) if kind == b"C")
    document, binary = unpack(parts[at][1])
    document, binary = change(document, binary)
    parts[at] = (b"C", pack(document, binary))
    return reassemble(magic, parts)


def _rewrite_documents(data: bytes, change: Any) -> bytes:
    magic, parts = frames(data)
    at = next(i for i, (kind, _) in enumerate(parts) if kind == b"D")
    document, _ = unpack(parts[at][1])
    parts[at] = (b"D", pack(change(document)))
    return reassemble(magic, parts)


def _set(entry: int, field: str, value: object) -> Any:
    def change(document: dict[str, Any], binary: bytes) -> tuple[dict[str, Any], bytes]:
        document["contents"][entry][field] = value
        return document, binary

    return change


def _negative_position(document: dict[str, Any], binary: bytes) -> tuple[dict[str, Any], bytes]:
    """The first content carries one fingerprint (as an older scheme's do), at position -5."""
    first = document["contents"][0]
    assert first["recompute"] and first["fingerprints"] == 0  # scheme 3: computed again
    assert all(e["fingerprints"] == 0 for e in document["contents"])
    first["recompute"], first["fingerprints"] = False, 1
    return document, struct.pack("<qi", 12345, -5) + binary


HOSTILE_CONTENTS = {
    "huge fingerprint count": (_set(0, "fingerprints", 10**12), "not a whole number"),
    "count beyond the arrays": (_set(0, "fingerprints", 10**6), "do not match its counts"),
    "negative count": (_set(0, "fingerprints", -1), "not a whole number"),
    "negative position": (_negative_position, "token positions out of range"),
    "simhash over 64 bits": (_set(0, "simhash", 1 << 64), "a simhash"),
    "bad sha256": (_set(0, "sha256", "../../etc/passwd"), "sha256"),
    "huge alignment": (_set(0, "alignment", 1 << 40), "an alignment length"),
    "picture band out of range": (_set(0, "picture_bands", [[99, 1, "full"]]), "a picture band"),
    "text where a number goes": (_set(0, "n_tokens", "many"), "a token count"),
    "unknown field": (
        lambda d, b: ({**d, "contents": [{**d["contents"][0], "x": 1}]}, b),
        "fields",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_CONTENTS))
def test_hostile_contents_are_refused(exported: Path, tmp_path: Path, case: str) -> None:
    change, expected = HOSTILE_CONTENTS[case]
    message = refused(write(tmp_path, _rewrite_contents(exported.read_bytes(), change)), tmp_path)
    assert expected in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: {"documents": [[99, *d["documents"][0][1:]]]}, "a document's content"),
        (lambda d: {"documents": [[0, "/r", "p", -1, 0, "text/plain"]]}, "a document size"),
        (lambda d: {"documents": [[0, "/r", "p", 1, 0]]}, "a document row"),
        (lambda d: {"documents": [[0, "/r", "x" * 70000, 1, 0, "text/plain"]]}, "a document path"),
        (lambda d: {"documents": "all"}, "documents"),
    ],
    ids=["content beyond the batch", "negative size", "short row", "huge path", "not a list"],
)
def test_hostile_documents_are_refused(
    exported: Path, tmp_path: Path, change: Any, expected: str
) -> None:
    message = refused(write(tmp_path, _rewrite_documents(exported.read_bytes(), change)), tmp_path)
    assert expected in message


def test_hostile_frames_are_refused_without_allocating(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = exported.read_bytes()
    magic, parts = frames(data)
    header = magic + struct.pack("<cI", b"H", len(parts[0][1])) + parts[0][1]
    # a frame claiming 4 GiB, and one claiming 120 MiB in a file of a few kilobytes
    assert "more than the" in refused(write(tmp_path, header + b"C\xff\xff\xff\xff"), tmp_path)
    tracemalloc.start()
    try:
        message = refused(write(tmp_path, header + b"C" + struct.pack("<I", 120 << 20)), tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "truncated" in message and peak < 8 << 20
    # deep JSON, a compression bomb, documents before contents, a frame of an unknown kind
    deep = [(b"C", zlib.compress(struct.pack("<I", 200_000) + b"[" * 200_000))]
    assert "JSON is damaged" in refused(
        write(tmp_path, reassemble(magic, parts[:1] + deep)), tmp_path
    )
    import leakscan.index.portable as portable

    monkeypatch.setattr(portable, "MAX_PAYLOAD", 1 << 20)
    bomb = [(b"C", zlib.compress(bytes(2 << 20)))]
    assert "decompresses to more than" in refused(
        write(tmp_path, reassemble(magic, parts[:1] + bomb)), tmp_path
    )
    monkeypatch.undo()
    documents_first = [parts[0], *[p for p in parts if p[0] == b"D"][:1], *parts[1:]]
    assert "documents before any contents" in refused(
        write(tmp_path, reassemble(magic, documents_first)), tmp_path
    )
    assert "unknown frame kind" in refused(
        write(tmp_path, reassemble(magic, [parts[0], (b"Z", b""), *parts[1:]])), tmp_path
    )
    no_end = [p for p in parts if p[0] != b"E"]
    assert "refused" in refused(write(tmp_path, reassemble(magic, no_end)), tmp_path)
    wrong_counts = [*parts[:-1], (b"E", pack({**unpack(parts[-1][1])[0], "documents": 10**15}))]
    assert "its end frame says" in refused(
        write(tmp_path, reassemble(magic, wrong_counts)), tmp_path
    )
    for entry, value, expected in (
        ("scheme", "[" * 100_000, "fingerprint scheme is unreadable"),
        ("scheme", '{"version": 99}', "fingerprint scheme is unreadable"),
        ("roots", '{"/archive": 1}', "archive roots are unreadable"),
        ("image_scheme", "{", "picture scheme is unreadable"),
    ):
        header_json = json.loads(parts[0][1])
        header_json["meta"][entry] = value
        changed = [(b"H", json.dumps(header_json).encode()), *parts[1:]]
        assert expected in refused(write(tmp_path, reassemble(magic, changed)), tmp_path)
    with_key = json.loads(parts[0][1])
    with_key["meta"]["key"] = KEY.hex()
    keyed = [(b"H", json.dumps(with_key).encode()), *parts[1:]]
    assert "holds a key" in refused(write(tmp_path, reassemble(magic, keyed)), tmp_path)


def test_a_damaged_file_leaves_an_existing_index_untouched(exported: Path, tmp_path: Path) -> None:
    target = tmp_path / "lab.sqlite"
    import_index(exported, target, key=KEY)
    with Index.open(target, readonly=True) as index:
        before = index.backend.read_meta(), dump(index)
    data = bytearray(exported.read_bytes())
    data[len(data) // 2] ^= 1
    with pytest.raises(LeakscanIndexError, match="refused"):
        import_index(write(tmp_path, bytes(data)), target)
    with Index.open(target, readonly=True) as index:
        assert (index.backend.read_meta(), dump(index)) == before


class _ChangesBetweenReads:
    """A file that is good while checked and damaged when read again (it changed on disk)."""

    def __init__(self, good: bytes, damaged: bytes) -> None:
        self.data, self.damaged, self.position = good, damaged, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.position + size
        chunk = self.data[self.position : end]
        self.position += len(chunk)
        return chunk

    def tell(self) -> int:
        return self.position

    def seek(self, position: int, whence: int = 0) -> int:
        self.data, self.position = self.damaged, position
        return position


def test_an_import_that_fails_half_way_is_never_taken_for_complete(
    exported: Path, suspect: Path, source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leakscan.index.portable_import as portable_import

    monkeypatch.setattr(portable_import, "_COMMIT_FINGERPRINTS", 1)  # commit after every batch
    good = exported.read_bytes()
    magic, parts = frames(good)
    # a second contents batch, so that the first one is committed before the damage shows
    first_c = next(i for i, (kind, _) in enumerate(parts) if kind == b"C")
    split = _split_batch(parts, first_c)
    good = reassemble(magic, split)
    damaged = good[: len(good) - 40]  # the end frame and checksum are cut off
    target = tmp_path / "half.sqlite"
    with Index.create(target, key=KEY) as index:
        with pytest.raises(LeakscanIndexError, match=r"truncated.*marked incomplete"):
            import_into(index, cast(BinaryIO, _ChangesBetweenReads(good, damaged)), "case.lsx")
        assert index.backend.count_documents() > 0  # a batch was committed
    with pytest.raises(LeakscanIndexError, match="did not finish"):
        Index.open(target, readonly=True)
    with Index.open(target, readonly=True, allow_incomplete=True) as index:
        assert index.stats().build_state == BUILD_RUNNING
    # the same file again completes it
    file = write(tmp_path, good, "good.lsx")
    report = import_index(file, target)
    assert report.merged and report.documents_unchanged > 0
    assert findings(target, suspect) == findings(source, suspect)


def _split_batch(parts: list[tuple[bytes, bytes]], at: int) -> list[tuple[bytes, bytes]]:
    """The contents frame at ``at`` cut in two (its last content in a batch of its own),
    with its documents frame divided to match."""
    document, binary = unpack(parts[at][1])
    contents = document["contents"]
    head, tail = contents[:-1], contents[-1:]
    n_head = sum(e["fingerprints"] for e in head)
    n_tail = tail[0]["fingerprints"]
    total = n_head + n_tail
    a_head = sum(e["alignment"] for e in head)
    hashes, deltas, blobs = (
        binary[: 8 * total],
        binary[8 * total : 12 * total],
        binary[12 * total :],
    )
    first = pack({"contents": head}, hashes[: 8 * n_head] + deltas[: 4 * n_head] + blobs[:a_head])
    second = pack({"contents": tail}, hashes[8 * n_head :] + deltas[4 * n_head :] + blobs[a_head:])
    documents, _ = unpack(parts[at + 1][1])
    rows = documents["documents"]
    last = len(contents) - 1
    mine = [r for r in rows if r[0] != last]
    theirs = [[0, *r[1:]] for r in rows if r[0] == last]
    assert mine and theirs
    return [
        *parts[:at],
        (b"C", first),
        (b"D", pack({"documents": mine})),
        (b"C", second),
        (b"D", pack({"documents": theirs})),
        *parts[at + 2 :],
    ]


# -- keys, schemes and other indexes ---------------------------------------------


def test_another_key_is_refused_before_anything_is_created(exported: Path, tmp_path: Path) -> None:
    target = tmp_path / "new.sqlite"
    with pytest.raises(KeyMismatchError, match=r"holds key id .*, not the one .* was made with"):
        import_index(exported, target, key=OTHER_KEY)
    with pytest.raises(MissingKeyError, match=r"no key file .*new.sqlite.key.*give the key file"):
        import_index(exported, target)
    assert list(tmp_path.iterdir()) == []  # no index, no lock, and above all no new key
    wrong = tmp_path / "wrong.key"
    write_key_file(wrong, OTHER_KEY)
    with pytest.raises(KeyMismatchError, match=r"key file .*wrong.key \(given\) holds key id"):
        import_index(exported, target, key_file=wrong)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wrong.key"]
    other = tmp_path / "other.sqlite"
    Index.create(other, key=OTHER_KEY).close()
    with pytest.raises(KeyMismatchError, match="key id"):
        import_index(exported, other)
    with Index.open(other, readonly=True) as index:
        assert index.backend.count_contents() == 0 and index.key_id == key_id(OTHER_KEY)


def test_another_scheme_or_index_is_refused(exported: Path, tmp_path: Path) -> None:
    narrow = tmp_path / "narrow.sqlite"
    Index.create(narrow, key=KEY, scheme=Scheme(word_k=6)).close()
    with pytest.raises(SchemeMismatchError, match="scheme"):
        import_index(exported, narrow)
    with pytest.raises(SchemeMismatchError, match="scheme"):
        import_index(exported, narrow, key=KEY)
    busy = tmp_path / "busy.sqlite"
    with Index.create(busy, key=KEY) as index:
        index.add_text(prose(70, 100), path="other.txt")
        other_id = index.index_id
    with pytest.raises(LeakscanIndexError, match="holds another index"):
        import_index(exported, busy)
    with Index.open(busy, readonly=True) as index:
        assert index.index_id == other_id and index.backend.count_documents() == 1
        assert [d.path for d in index.documents()] == ["other.txt"]


def test_an_empty_index_takes_the_exports_identity(exported: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    Index.create(empty, key=KEY).close()
    report = import_index(exported, empty)
    with exported.open("rb") as stream:
        header, _ = check_export(stream, str(exported))
    with Index.open(empty, readonly=True) as index:
        assert index.index_id == header.meta["index_id"] == report.index_id
        assert index.stats().build_state == "complete"


def test_a_later_export_of_the_same_index_is_merged_by_path(tmp_path: Path, suspect: Path) -> None:
    """Documents are replaced by path; a content that a replacement drops (the old text of
    u1, held by nothing else in the lab) is stored again for the document that holds it now."""
    folder = tmp_path / "field"
    index = _build(folder / "index.sqlite", folder)
    with index:
        first = io.BytesIO()
        export_index(index, first)
    lab = tmp_path / "lab.sqlite"
    import_index(write(tmp_path, first.getvalue(), "v1.lsx"), lab, key=KEY)
    archive = folder / "archive"
    u1 = (archive / "urdu" / "u1.txt").read_text("utf-8")
    m2 = (archive / "memos" / "m2.txt").read_text("utf-8")
    (archive / "urdu" / "u1.txt").write_text(m2, "utf-8")  # an older content: exported first
    (archive / "urdu" / "u2.txt").write_text(u1, "utf-8")  # u1's old text moved to u2
    with Index.create(folder / "index.sqlite") as index:
        build(index, [archive], ocr=NO_OCR)
        second = io.BytesIO()
        export_index(index, second)
        expected = dump(index)
    report = import_index(write(tmp_path, second.getvalue(), "v2.lsx"), lab)
    assert report.merged and report.documents_added == 1 and report.documents_replaced == 1
    assert report.documents_unchanged == len(expected["documents"]) - 2
    with Index.open(lab, readonly=True) as merged:
        assert dump(merged) == expected
    assert findings(lab, suspect) == findings(folder / "index.sqlite", suspect)


# -- export refusals ---------------------------------------------------------------


def test_export_refuses_to_overwrite_and_an_index_being_built(source: Path, tmp_path: Path) -> None:
    file = tmp_path / "out.lsx"
    file.write_bytes(b"earlier")
    with Index.open(source, readonly=True) as index:
        with pytest.raises(ConfigurationError, match="exists: give --force"):
            export_to_file(index, file)
        assert file.read_bytes() == b"earlier"
        export_to_file(index, file, force=True)
        with pytest.raises(ConfigurationError, match="a file of the index itself"):
            export_to_file(index, source, force=True)
    with file.open("rb") as stream:
        check_export(stream, str(file))
    building = tmp_path / "building.sqlite"
    with Index.create(building, key=KEY) as index:
        index.add_text(prose(71, 100), path="a.txt")
        index.backend.write_meta({"build_state": BUILD_RUNNING})
    with (
        Index.open(building, readonly=True, allow_incomplete=True) as index,
        pytest.raises(LeakscanIndexError, match="has not completed"),
    ):
        export_to_file(index, tmp_path / "half.lsx")
    assert sorted(p.name for p in tmp_path.iterdir() if "lsx" in p.name) == ["out.lsx"]


# -- the command line --------------------------------------------------------------


def leakscan(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leakscan", *arguments],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_commands_end_to_end(source: Path, tmp_path: Path) -> None:
    field = tmp_path / "field.sqlite"  # a copy of the index without its key: exports all the same
    field.write_bytes(source.read_bytes())
    done = leakscan("index", "export", "case.lsx", "--index", str(field), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("exported 9 documents") and "sha256" in done.stdout
    again = leakscan("index", "export", "case.lsx", "--index", str(field), cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.count("\n") == 1
    assert "case.lsx exists: give --force" in again.stderr
    key_file = f"{source}.key"  # made beside the index by its build
    done = leakscan(
        "index",
        "import",
        "case.lsx",
        "--index",
        "lab.sqlite",
        "--key-file",
        key_file,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "imported into lab.sqlite" in done.stdout and "9 documents added" in done.stdout
    with (
        Index.open(tmp_path / "lab.sqlite", key_file=key_file, readonly=True) as lab,
        Index.open(source, readonly=True) as index,
    ):
        assert dump(lab) == dump(index)
    assert not (tmp_path / "lab.sqlite.key").exists()  # the key stays where it was given
    damaged = bytearray((tmp_path / "case.lsx").read_bytes())
    damaged[-100] ^= 0xFF
    (tmp_path / "bad.lsx").write_bytes(bytes(damaged))
    bad = leakscan(
        "index",
        "import",
        "bad.lsx",
        "--index",
        "lab2.sqlite",
        "--key-file",
        key_file,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "refused" in bad.stderr
    assert (
        bad.stderr.startswith("leakscan: error: bad.lsx:")
        and not (tmp_path / "lab2.sqlite").exists()
    )


def test_help_lists_the_options_under_headings() -> None:
    runner = CliRunner()
    export_help = runner.invoke(cli, ["index", "export", "-h"])
    import_help = runner.invoke(cli, ["index", "import", "-h"])
    assert export_help.exit_code == import_help.exit_code == 0
    assert "Index:" in export_help.output and "Output:" in export_help.output
    assert "--force" in export_help.output and "never the key" in export_help.output
    assert "--key-file" in import_help.output and "LEAKSCAN_KEY_FILE" in import_help.output
    index_help = runner.invoke(cli, ["index", "-h"])
    assert "export" in index_help.output and "import" in index_help.output
