"""Index building: incremental by content hash, replace, prune, parallel equals serial."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakscan import Index, build
from leakscan.errors import ConfigurationError
from tests.texts import prose

KEY = b"b" * 32


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    (root / "a").mkdir(parents=True)
    for n in range(5):
        (root / "a" / f"doc{n}.txt").write_text(prose(30 + n, 300), encoding="utf-8")
    (root / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # a damaged picture
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<<")
    return root


def test_build_indexes_readable_files_and_reports_the_rest(archive: Path, tmp_path: Path) -> None:
    with Index.create(tmp_path / "i.sqlite", key=KEY) as index:
        report = build(index, [archive])
        assert (report.added, report.unchanged, report.replaced) == (5, 0, 0)
        assert [Path(e.suspect).name for e in report.errors] == ["broken.pdf", "picture.png"]
        assert report.skipped == []
        paths = [d.path for d in index.documents()]
        assert paths == [f"a/doc{n}.txt" for n in range(5)]
        assert {d.root for d in index.documents()} == {str(archive.resolve())}


def test_rebuild_is_incremental(archive: Path, tmp_path: Path) -> None:
    with Index.create(tmp_path / "i.sqlite", key=KEY) as index:
        build(index, [archive])
        (archive / "a" / "doc1.txt").write_text(prose(99, 300), encoding="utf-8")
        (archive / "a" / "new.txt").write_text(prose(98, 300), encoding="utf-8")
        report = build(index, [archive])
        assert (report.added, report.replaced, report.unchanged) == (1, 1, 4)
        old = index.fingerprinter.fingerprint(prose(31, 300)).hashes.tolist()
        assert index.postings(old) == []


def test_prune_drops_documents_whose_files_are_gone(archive: Path, tmp_path: Path) -> None:
    with Index.create(tmp_path / "i.sqlite", key=KEY) as index:
        build(index, [archive])
        (archive / "a" / "doc4.txt").unlink()
        assert build(index, [archive]).removed == 0
        assert index.stats().documents == 5
        report = build(index, [archive], prune=True)
        assert report.removed == 1 and index.stats().documents == 4


def test_parallel_build_equals_serial(archive: Path, tmp_path: Path) -> None:
    with Index.create(tmp_path / "serial.sqlite", key=KEY) as serial:
        build(serial, [archive])
        with Index.create(tmp_path / "pooled.sqlite", key=KEY) as pooled:
            report = build(pooled, [archive], jobs=2)
            assert report.added == 5
            for doc_s, doc_p in zip(serial.documents(), pooled.documents(), strict=True):
                assert doc_s.path == doc_p.path
                content_s = serial.contents([doc_s.content_id])[doc_s.content_id]
                content_p = pooled.contents([doc_p.content_id])[doc_p.content_id]
                assert (content_s.sha256, content_s.simhash, content_s.n_fingerprints) == (
                    content_p.sha256,
                    content_p.simhash,
                    content_p.n_fingerprints,
                )


def test_missing_archive_folder_is_a_usage_error(tmp_path: Path) -> None:
    with Index.create("memory://", key=KEY) as index, pytest.raises(ConfigurationError):
        build(index, [tmp_path / "missing"])


def test_progress_is_called_per_fingerprinted_file(archive: Path) -> None:
    seen: list[str] = []
    with Index.create("memory://", key=KEY) as index:
        build(index, [archive], progress=seen.append)
    assert len(seen) == 7


def test_index_add_path_indexes_a_folder_or_one_file(archive: Path) -> None:
    with Index.create("memory://", key=KEY) as index:
        line = index.add_path(archive / "a" / "doc0.txt")
        assert line.startswith("1 files: 1 added")
        # A single file is indexed relative to its folder; the same file under another
        # archive root is another document holding the same content.
        assert index.add_path(archive).startswith("7 files: 5 added, 0 replaced, 0 unchanged")
        assert index.add_path(archive).startswith("7 files: 0 added, 0 replaced, 5 unchanged")
        assert index.find_document("doc0.txt", str((archive / "a").resolve())) is not None
        assert index.stats().documents == 6 and index.stats().contents == 5


def test_public_documents_are_marked(archive: Path) -> None:
    with Index.create("memory://", key=KEY) as index:
        build(index, [archive / "a"], public=True)
        document = next(index.documents())
        assert index.contents([document.content_id])[document.content_id].public
