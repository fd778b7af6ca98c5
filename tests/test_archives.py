"""Archives in exports: members scanned where they lie, hostile archives refused item by item.

Every archive here is real, made by the test with the tool or library that
makes such files (zipfile, tarfile, py7zr, pyzipper for AES, the ``zip``
command for classic ZIP encryption).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import py7zr
import pytest

from leakscan import ErrorRecord, Finding, Index, Scanner, ScanOptions, SkippedRecord, Summary
from leakscan import build as build_index
from leakscan.exports.archives import ArchiveLimits, Budget, Member, Refused, read_archive
from leakscan.records import NoteRecord
from tests.indexes import build_text_index
from tests.texts import prose

KEY = b"a" * 32
SOURCE = prose(31, 500)
OTHER = prose(32, 400)
INNOCENT = prose(33, 300)


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("archive-index")
    return build_text_index(folder, {"plan.txt": SOURCE, "budget.txt": OTHER}, KEY)


def scan(index_path: Path, *targets: Path, **options: object) -> list[object]:
    with Index.open(index_path, key=KEY, readonly=True) as index:
        return list(Scanner(index, ScanOptions(**options)).scan(targets))  # type: ignore[arg-type]


def by_suspect(records: list[object]) -> dict[str, list[object]]:
    grouped: dict[str, list[object]] = {}
    for record in records:
        name = getattr(record, "suspect", None)
        if name is not None:
            grouped.setdefault(name, []).append(record)
    return grouped


def summary_of(records: list[object]) -> Summary:
    last = records[-1]
    assert isinstance(last, Summary)
    assert last.items == last.scanned + last.skipped + last.errors
    return last


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_members_are_scanned_and_named_where_they_lie(tmp_path: Path, index_path: Path) -> None:
    export = tmp_path / "export.zip"
    export.write_bytes(
        zip_bytes(
            {
                "docs/copy.txt": SOURCE.encode(),
                "docs/innocent.txt": INNOCENT.encode(),
                "photo.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 200,
            }
        )
    )
    before = export.read_bytes(), os.stat(export).st_mtime_ns
    records = scan(index_path, export)
    grouped = by_suspect(records)
    finding = grouped[f"{export}!docs/copy.txt"][0]
    assert isinstance(finding, Finding)
    assert finding.source == "plan.txt"
    assert finding.kind == "exact-copy"
    import hashlib

    assert finding.suspect_sha256 == hashlib.sha256(before[0]).hexdigest()
    assert finding.member_sha256 == hashlib.sha256(SOURCE.encode()).hexdigest()
    assert f"{export}!docs/innocent.txt" not in grouped
    broken = grouped[f"{export}!photo.jpg"][0]  # JPEG magic and zeros: no picture to read
    assert isinstance(broken, ErrorRecord) and broken.error.startswith("not a picture")
    summary = summary_of(records)
    assert (summary.items, summary.scanned, summary.errors, summary.containers) == (3, 2, 1, 1)
    assert (export.read_bytes(), os.stat(export).st_mtime_ns) == before
    assert not any(p.name != "export.zip" for p in tmp_path.iterdir()), "nothing extracted to disk"


def test_nested_archives_of_every_kind(tmp_path: Path, index_path: Path) -> None:
    inner_zip = zip_bytes({"deep/copy.txt": SOURCE.encode()})
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("in-tar/excerpt.txt")
        excerpt = (INNOCENT[:800] + " " + " ".join(OTHER.split()[50:140])).encode()
        info.size = len(excerpt)
        tar.addfile(info, io.BytesIO(excerpt))
    seven = tmp_path / "inner.7z"
    with py7zr.SevenZipFile(seven, "w") as archive:
        archive.writestr(SOURCE.encode(), "seven/copy.txt")
    outer = tmp_path / "outer.zip"
    outer.write_bytes(
        zip_bytes(
            {
                "b.zip": inner_zip,
                "c.tar.gz": tar_buffer.getvalue(),
                "d.7z": seven.read_bytes(),
            }
        )
    )
    records = scan(index_path, outer)
    sources = {r.suspect: (r.source, r.kind) for r in records if isinstance(r, Finding)}
    assert sources == {
        f"{outer}!b.zip!deep/copy.txt": ("plan.txt", "exact-copy"),
        f"{outer}!c.tar.gz!in-tar/excerpt.txt": ("budget.txt", "excerpt"),
        f"{outer}!d.7z!seven/copy.txt": ("plan.txt", "exact-copy"),
    }
    summary = summary_of(records)
    assert summary.containers == 4 and summary.items == 3 and summary.errors == 0


@pytest.mark.parametrize("suffix", [".tar", ".tgz", ".tar.bz2", ".tar.xz"])
def test_tar_variants(tmp_path: Path, index_path: Path, suffix: str) -> None:
    mode = {".tar": "w", ".tgz": "w:gz", ".tar.bz2": "w:bz2", ".tar.xz": "w:xz"}[suffix]
    path = tmp_path / f"export{suffix}"
    source = tmp_path / "copy.txt"
    source.write_text(SOURCE, encoding="utf-8")
    with tarfile.open(path, mode) as tar:
        tar.add(source, arcname="home/user/copy.txt")
    records = scan(index_path, path)
    assert [r.suspect for r in records if isinstance(r, Finding)] == [f"{path}!home/user/copy.txt"]


def test_single_gzip_file_is_one_member(tmp_path: Path, index_path: Path) -> None:
    import gzip

    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(SOURCE.encode()))
    records = scan(index_path, path)
    assert [r.suspect for r in records if isinstance(r, Finding)] == [f"{path}!notes.txt"]


def test_office_files_are_not_opened_as_archives(tmp_path: Path, index_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(SOURCE)
    path = tmp_path / "memo.docx"
    document.save(str(path))
    records = scan(index_path, path)
    assert [r.suspect for r in records if isinstance(r, Finding)] == [str(path)]
    assert summary_of(records).containers == 0


def test_hostile_member_names_are_read_in_memory_and_their_leaks_found(
    tmp_path: Path, index_path: Path
) -> None:
    """A traversal name is a fact about the evidence, not a place to hide a leak."""
    path = tmp_path / "evil.zip"
    path.write_bytes(
        zip_bytes(
            {
                "../../outside.txt": SOURCE.encode(),
                "/etc/absolute.txt": SOURCE.encode(),
                "C:\\Windows\\drive.txt": SOURCE.encode(),
                "fine/copy.txt": SOURCE.encode(),
            }
        )
    )
    tar_path = tmp_path / "evil.tar"
    with tarfile.open(tar_path, "w") as tar:
        info = tarfile.TarInfo("../climb.txt")
        info.size = len(SOURCE.encode())
        tar.addfile(info, io.BytesIO(SOURCE.encode()))
        link = tarfile.TarInfo("passwd-link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    records = scan(index_path, path, tar_path)
    grouped = by_suspect(records)
    for name in ("../../outside.txt", "/etc/absolute.txt", "C:\\Windows\\drive.txt"):
        note, record = grouped[f"{path}!{name}"]  # flagged, and read all the same
        assert isinstance(note, NoteRecord) and "member name" in note.note
        assert isinstance(record, Finding) and record.source == "plan.txt"
    assert [type(r) for r in grouped[f"{path}!fine/copy.txt"]] == [Finding]
    note, climb = grouped[f"{tar_path}!../climb.txt"]
    assert isinstance(note, NoteRecord) and isinstance(climb, Finding)
    (link_record,) = grouped[f"{tar_path}!passwd-link"]
    assert isinstance(link_record, SkippedRecord) and "not followed" in link_record.reason
    assert not (tmp_path.parent / "outside.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar", "evil.zip"]
    summary = summary_of(records)
    assert summary.errors == 0 and summary.skipped == 1 and summary.scanned == 5


def test_zip_bomb_by_ratio_is_refused(tmp_path: Path, index_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(zip_bytes({"zeros.txt": b"0" * (16 << 20), "copy.txt": SOURCE.encode()}))
    records = scan(index_path, path)
    grouped = by_suspect(records)
    (bomb,) = grouped[f"{path}!zeros.txt"]
    assert isinstance(bomb, ErrorRecord) and "decompression bomb" in bomb.error
    assert isinstance(grouped[f"{path}!copy.txt"][0], Finding)


def test_zip_bomb_by_total_size_stops_the_archive(tmp_path: Path, index_path: Path) -> None:
    members = {f"part{i:02}.txt": prose(100 + i, 3000).encode() for i in range(12)}
    path = tmp_path / "many.zip"
    path.write_bytes(zip_bytes(members))
    total = sum(len(d) for d in members.values())
    # The total limit is max(max_total_bytes, max_total_ratio x size on disk): pin it here.
    assert path.stat().st_size < total // 2
    limits = ArchiveLimits(max_total_bytes=total // 2, max_total_ratio=1)
    records = scan(index_path, path, archive_limits=limits)
    errors = [r for r in records if isinstance(r, ErrorRecord)]
    assert len(errors) == 1 and errors[0].suspect == str(path)
    assert "total limit" in errors[0].error
    summary = summary_of(records)
    assert 0 < summary.scanned < len(members)


def test_nesting_depth_is_limited(tmp_path: Path, index_path: Path) -> None:
    data = zip_bytes({"copy.txt": SOURCE.encode()})
    for level in range(6):
        data = zip_bytes({f"level{level}.zip": data})
    path = tmp_path / "russian-doll.zip"
    path.write_bytes(data)
    records = scan(index_path, path, archive_limits=ArchiveLimits(max_depth=4))
    (error,) = [r for r in records if isinstance(r, ErrorRecord)]
    assert error.suspect.count("!") == 4 and "nested" in error.error
    found = scan(index_path, path)
    (finding,) = [r for r in found if isinstance(r, Finding)]
    assert finding.suspect.endswith("!level0.zip!copy.txt") and finding.suspect.count("!") == 7


def test_too_many_members_is_refused(tmp_path: Path, index_path: Path) -> None:
    path = tmp_path / "crowd.zip"
    path.write_bytes(zip_bytes({f"f{i}.txt": b"x" for i in range(50)}))
    records = scan(index_path, path, archive_limits=ArchiveLimits(max_members=20))
    errors = [r for r in records if isinstance(r, ErrorRecord)]
    assert [e.suspect for e in errors] == [str(path)] and "more than 20 members" in errors[0].error


def test_password_protected_zips_and_7z(tmp_path: Path, index_path: Path) -> None:
    pyzipper = pytest.importorskip("pyzipper")
    aes = tmp_path / "aes.zip"
    with pyzipper.AESZipFile(aes, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.setpassword(b"secret")
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        archive.writestr("locked.txt", SOURCE)
    seven = tmp_path / "locked.7z"
    with py7zr.SevenZipFile(seven, "w", password="secret") as archive:
        archive.writestr(SOURCE.encode(), "locked.txt")
    seven_names = tmp_path / "locked-names.7z"
    with py7zr.SevenZipFile(seven_names, "w", password="secret", header_encryption=True) as archive:
        archive.writestr(SOURCE.encode(), "locked.txt")
    targets = [aes, seven, seven_names]
    if shutil.which("zip"):
        classic = tmp_path / "classic.zip"
        (tmp_path / "locked.txt").write_text(SOURCE, encoding="utf-8")
        subprocess.run(
            ["zip", "-q", "-P", "secret", str(classic), "locked.txt"], cwd=tmp_path, check=True
        )
        targets.append(classic)
    records = scan(index_path, *targets)
    errors = {r.suspect: r.error for r in records if isinstance(r, ErrorRecord)}
    assert "password-protected" in errors[f"{aes}!locked.txt"]
    assert "password-protected" in errors[f"{seven}!locked.txt"]
    assert "password-protected" in errors[str(seven_names)]
    if len(targets) == 4:
        assert "password-protected" in errors[f"{targets[3]}!locked.txt"]
    assert not any(isinstance(r, Finding) for r in records)


def test_truncated_archives(tmp_path: Path, index_path: Path) -> None:
    whole = zip_bytes({"copy.txt": SOURCE.encode(), "more.txt": OTHER.encode()})
    cut_zip = tmp_path / "cut.zip"
    cut_zip.write_bytes(whole[: len(whole) // 2])
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as tar:
        for name, text in (("first.txt", SOURCE), ("second.txt", prose(41, 20000))):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    data = tar_buffer.getvalue()
    cut_tar = tmp_path / "cut.tar.gz"
    cut_tar.write_bytes(data[: len(data) * 3 // 4])
    records = scan(index_path, cut_zip, cut_tar)
    grouped = by_suspect(records)
    (zip_error,) = grouped[str(cut_zip)]
    assert isinstance(zip_error, ErrorRecord) and "truncated" in zip_error.error
    assert isinstance(grouped[f"{cut_tar}!first.txt"][0], Finding)
    (tar_error,) = grouped[str(cut_tar)]
    assert isinstance(tar_error, ErrorRecord)
    assert summary_of(records).errors == 2


def test_read_archive_counts_real_bytes_not_declared_sizes() -> None:
    """A member whose header understates its size still runs into the member limit."""
    data = zip_bytes({"big.txt": prose(50, 40000).encode()}, zipfile.ZIP_STORED)
    # Lie in both headers: declare 10 bytes where there are ~250 KB.
    actual = len(prose(50, 40000).encode())
    lied = data.replace(actual.to_bytes(4, "little"), (10).to_bytes(4, "little"))
    budget = Budget(ArchiveLimits(max_member_bytes=1000))
    results = list(read_archive("zip", io.BytesIO(lied), "lie.zip", len(lied), budget))
    assert not any(isinstance(r, Member) and len(r.data) > 1000 for r in results)
    assert results[0].name == "big.txt"
    # The bytes the lie hides are reported, not silently passed over.
    (hidden,) = results[1:]
    assert isinstance(hidden, Refused) and "no member claims" in hidden.reason


def test_symlinked_zip_member_is_not_followed(tmp_path: Path, index_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("link-to-passwd")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
        archive.writestr("copy.txt", SOURCE)
    path = tmp_path / "links.zip"
    path.write_bytes(buffer.getvalue())
    grouped = by_suspect(scan(index_path, path))
    (link,) = grouped[f"{path}!link-to-passwd"]
    assert isinstance(link, SkippedRecord) and "symbolic link" in link.reason


def test_index_build_reads_archives_in_the_case_archive(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "2024.zip").write_bytes(
        zip_bytes({"memos/plan.txt": SOURCE.encode(), "budget.txt": OTHER.encode()})
    )
    location = tmp_path / "index.sqlite"
    with Index.create(location, key=KEY) as index:
        report = build_index(index, [archive])
        assert report.added == 2 and not report.errors
        assert sorted(d.path for d in index.documents()) == [
            "2024.zip!budget.txt",
            "2024.zip!memos/plan.txt",
        ]
        again = build_index(index, [archive])
        assert again.unchanged == 2 and again.added == 0
    export = tmp_path / "copy.txt"
    export.write_text(SOURCE, encoding="utf-8")
    (finding,) = [r for r in scan(location, export) if isinstance(r, Finding)]
    assert finding.source == "2024.zip!memos/plan.txt"


def test_a_rebuild_does_not_read_unchanged_archive_members_again(tmp_path: Path) -> None:
    """The worker is told what each member's content is now, and skips those unchanged."""
    from leakscan.build import _BuildJob, _document
    from leakscan.exports.folders import FileJob
    from leakscan.fingerprint import Fingerprinter
    from leakscan.walk import Item

    path = tmp_path / "2024.zip"
    path.write_bytes(b"not read here")
    garbage = b"\x00\x01 not any readable format \xff" * 10  # would be an error if read
    known = hashlib.sha256(garbage).hexdigest()
    job = _BuildJob(
        str(tmp_path), FileJob(str(path), str(path)), None, 1 << 20, {"2024.zip!memo.bin": known}
    )
    item = Item(f"{path}!memo.bin", str(path), data=garbage, holder_sha256="0" * 64)
    unchanged = _document(Fingerprinter(KEY), job, item)
    assert not isinstance(unchanged, ErrorRecord | SkippedRecord)
    assert unchanged.fingerprinted is None and unchanged.sha256 == known
    changed = _document(Fingerprinter(KEY), job, replace(item, data=garbage + b"!"))
    assert isinstance(changed, ErrorRecord | SkippedRecord), "a changed member is read"
