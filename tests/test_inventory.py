"""The inventory of a scan and ``leakscan verify``, on a real export through the real CLI.

The export holds a folder of notes, a ZIP with a ZIP inside, a WhatsApp
export, a mailbox and an e-mail with attachments, a file too large to read,
a corrupt PDF and a symbolic link. Every hash the inventory gives is
computed again here with hashlib from the bytes (archive members read with
zipfile), so the inventory is checked against the evidence, not against
itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import leakscan
from leakscan import Index, ItemRecord, Scanner, ScanOptions
from leakscan.exports.expand import Container
from leakscan.inventory import enclosing
from tests.chat_factories import WaAttachment, WaMessage, write_whatsapp_export
from tests.indexes import build_text_index
from tests.texts import prose, urdu_prose

ROOT = Path(__file__).resolve().parent.parent
KEY = b"i" * 32
SOURCE = prose(91, 700)
LEAK = " ".join(SOURCE.split(" ")[200:320])
CHAT = "WhatsApp Chat with Budget Team.txt"
INNER_MEMO = "drafts/memo copy.txt"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "leakscan.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 3, 11, 21, 13, 4)), data)
    return buffer.getvalue()


def inner_zip(memo: bytes) -> bytes:
    return zip_bytes({INNER_MEMO: memo, "list.txt": prose(92, 150).encode()})


def bundle(memo: bytes) -> bytes:
    """The outer ZIP: a ZIP inside it (with the leaked memo), and a member with no text."""
    return zip_bytes({"inner.zip": inner_zip(memo), "scan.bin": bytes(range(256)) * 8})


def mail(subject: str, body: str, attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Nadia Qureshi <nadia@example.org>"
    message["To"] = "Omar Siddiqui <omar@example.org>"
    message["Subject"] = subject
    message["Date"] = "Mon, 11 Mar 2024 21:13:05 +0000"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="text", subtype="plain", filename="plan.txt")
    return message.as_bytes()


def write_export(export: Path) -> None:
    (export / "notes").mkdir(parents=True)
    (export / "notes" / "clean.txt").write_text(prose(93, 300), encoding="utf-8")
    (export / "notes" / "urdu.txt").write_text(urdu_prose(94, 200), encoding="utf-8")
    (export / "Downloads").mkdir()
    (export / "Downloads" / "bundle.zip").write_bytes(bundle(LEAK.encode()))
    when = datetime(2024, 3, 11, 21, 13)
    messages = [
        WaMessage(when, "Sana Mirza", "کل صبح دفتر میں ملتے ہیں"),
        WaMessage(when + timedelta(minutes=2), "Omar Siddiqui", LEAK),
        WaMessage(
            when + timedelta(minutes=3),
            "Omar Siddiqui",
            attachment=WaAttachment("IMG-20240311-WA0001.jpg"),
        ),
    ]
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
    write_whatsapp_export(
        export / "WhatsApp", messages, attachments={"IMG-20240311-WA0001.jpg": jpeg}
    )
    (export / "mail").mkdir()
    (export / "mail" / "letter.eml").write_bytes(
        mail("Lunch", prose(95, 80), prose(96, 60).encode())
    )
    separator = b"From nadia@example.org Mon Mar 11 21:13:05 2024\n"
    (export / "mail" / "Inbox.mbox").write_bytes(
        separator
        + mail("Tea", prose(97, 50))
        + b"\n"
        + separator
        + mail("Plan", prose(98, 50), prose(99, 40).encode())
        + b"\n"
    )
    (export / "big.dat").write_bytes(os.urandom(1_500_000))  # over --max-file-size 1 (MiB)
    (export / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R")
    os.symlink("notes/clean.txt", export / "link.txt")


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime (links not followed): what no reading may change."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            found[str(path)] = (os.readlink(path).encode(), info.st_mtime_ns)
        elif path.is_file():
            found[str(path)] = (path.read_bytes(), info.st_mtime_ns)
    return found


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The export, scanned once by the CLI with an inventory (relative target, as users do)."""
    root = tmp_path_factory.mktemp("inventory")
    index = build_text_index(root, {"memo.txt": SOURCE, "other.txt": prose(90, 300)}, KEY)
    write_export(root / "export")
    before = snapshot(root / "export")
    done = run_cli(
        root,
        "scan",
        "export",
        "--index",
        str(index),
        "--format",
        "jsonl",
        "--output",
        "report.jsonl",
        "--max-file-size",
        "1",
        "--inventory",
        "../inventory.jsonl",
        "-j",
        "2",
    )
    assert done.returncode == 1, done.stderr
    inventory = read_jsonl(root.parent / "inventory.jsonl")
    shutil.move(root.parent / "inventory.jsonl", root / "inventory.jsonl")
    return {
        "root": root,
        "index": index,
        "before": before,
        "report": read_jsonl(root / "report.jsonl"),
        "header": inventory[0],
        "items": [r for r in inventory[1:-1]],
        "trailer": inventory[-1],
    }


def by_suspect(items: list[dict[str, Any]]) -> dict[tuple[str, bool], dict[str, Any]]:
    listed = {(i["suspect"], i["outcome"] == "opened"): i for i in items}
    assert len(listed) == len(items), "an item is listed twice"
    return listed


# -- the inventory ----------------------------------------------------------------------


def test_the_header_says_what_ran_where_and_against_which_index(case: dict[str, Any]) -> None:
    header, summary = case["header"], case["report"][-1]
    assert header["type"] == "inventory" and header["schema"] == 1
    assert header["tool"] == "leakscan" and header["tool_version"] == leakscan.__version__
    assert header["command"][1:3] == ["scan", "export"] and "--inventory" in header["command"]
    assert header["cwd"] == str(case["root"]) and header["targets"] == ["export"]
    assert header["index"]["index_id"] == summary["index"]["index_id"]
    assert header["index"]["key_id"] == summary["index"]["key_id"]
    assert header["limits"]["max_member_bytes"] == 1 << 20
    started = datetime.fromisoformat(header["started_at"])
    assert started.utcoffset() == timedelta(0) and header["started_at"].endswith("Z")
    assert case["trailer"]["type"] == "inventory-end" and case["trailer"]["interrupted"] is False


def test_every_file_on_disk_is_listed_with_its_own_hash(case: dict[str, Any]) -> None:
    export = case["root"] / "export"
    listed = by_suspect(case["items"])
    files = {p for p in export.rglob("*") if p.is_file() and not p.is_symlink()}
    assert len(files) == 9
    for path in files:
        name = str(path.relative_to(case["root"]))
        item = listed.get((name, False)) or listed[(name, True)]
        data = path.read_bytes()
        assert item["sha256"] == sha(data), name
        assert item["size"] == len(data), name
        assert item["containers"] == [], name
    link = listed[("export/link.txt", False)]
    assert link["outcome"] == "skipped" and link["sha256"] is None
    assert "symbolic link" in link["reason"]


def test_members_of_nested_zips_carry_the_chain_of_their_containers(case: dict[str, Any]) -> None:
    listed = by_suspect(case["items"])
    outer = (case["root"] / "export/Downloads/bundle.zip").read_bytes()
    inner = zipfile.ZipFile(io.BytesIO(outer)).read("inner.zip")
    memo = zipfile.ZipFile(io.BytesIO(inner)).read(INNER_MEMO)
    chain = [
        {"suspect": "export/Downloads/bundle.zip", "sha256": sha(outer)},
        {"suspect": "export/Downloads/bundle.zip!inner.zip", "sha256": sha(inner)},
    ]
    opened_outer = listed[("export/Downloads/bundle.zip", True)]
    assert opened_outer["container"] == "zip" and opened_outer["mime"] == "application/zip"
    opened_inner = listed[("export/Downloads/bundle.zip!inner.zip", True)]
    assert opened_inner["sha256"] == sha(inner) and opened_inner["size"] == len(inner)
    assert opened_inner["containers"] == chain[:1]
    leaked = listed[(f"export/Downloads/bundle.zip!inner.zip!{INNER_MEMO}", False)]
    assert leaked["outcome"] == "finding" and leaked["findings"] == 1
    assert leaked["sha256"] == sha(memo) and leaked["size"] == len(memo)
    assert leaked["containers"] == chain and leaked["mime"] == "text/plain"
    clean = listed[("export/Downloads/bundle.zip!inner.zip!list.txt", False)]
    assert clean["outcome"] == "clean" and clean["containers"] == chain
    no_text = listed[("export/Downloads/bundle.zip!scan.bin", False)]
    assert no_text["outcome"] == "skipped" and no_text["sha256"] == sha(bytes(range(256)) * 8)
    assert no_text["containers"] == chain[:1] and no_text["mime"]


def test_a_chat_is_one_item_and_its_messages_are_not(case: dict[str, Any]) -> None:
    listed = by_suspect(case["items"])
    chat = listed[(f"export/WhatsApp/{CHAT}", False)]
    assert chat["outcome"] == "finding" and chat["app"] == "whatsapp" and chat["messages"] == 3
    assert chat["mime"] == "text/plain"
    assert not any("#L" in i["suspect"] for i in case["items"])
    photo = listed[("export/WhatsApp/IMG-20240311-WA0001.jpg", False)]  # JPEG marks, no picture
    assert photo["outcome"] == "error" and photo["mime"] == "image/jpeg"


def test_mails_and_mailboxes_are_opened_and_their_parts_listed(case: dict[str, Any]) -> None:
    listed = by_suspect(case["items"])
    letter = (case["root"] / "export/mail/letter.eml").read_bytes()
    opened = listed[("export/mail/letter.eml", True)]
    assert opened["container"] == "e-mail" and opened["mime"] == "message/rfc822"
    assert listed[("export/mail/letter.eml", False)]["outcome"] == "clean"  # its text
    attachment = listed[("export/mail/letter.eml!plan.txt", False)]
    assert attachment["sha256"] == sha(prose(96, 60).encode())
    assert attachment["containers"] == [
        {"suspect": "export/mail/letter.eml", "sha256": sha(letter)}
    ]
    box = (case["root"] / "export/mail/Inbox.mbox").read_bytes()
    assert listed[("export/mail/Inbox.mbox", True)]["container"] == "mbox"
    plan = listed[("export/mail/Inbox.mbox#msg=2!plan.txt", False)]
    message = listed[("export/mail/Inbox.mbox#msg=2", True)]
    assert [c["suspect"] for c in plan["containers"]] == [
        "export/mail/Inbox.mbox",
        "export/mail/Inbox.mbox#msg=2",
    ]
    assert plan["containers"][0]["sha256"] == sha(box)
    assert plan["containers"][1]["sha256"] == message["sha256"]
    assert message["containers"] == plan["containers"][:1]


def test_skipped_and_broken_files_are_listed_with_their_hashes(case: dict[str, Any]) -> None:
    listed = by_suspect(case["items"])
    big = listed[("export/big.dat", False)]
    assert big["outcome"] == "skipped" and "limit" in big["reason"]
    assert big["sha256"] == sha((case["root"] / "export/big.dat").read_bytes())  # hashed anyway
    broken = listed[("export/broken.pdf", False)]
    assert broken["outcome"] == "error" and broken["mime"] == "application/pdf"
    assert broken["sha256"] == sha((case["root"] / "export/broken.pdf").read_bytes())


def test_outcomes_agree_with_the_records_of_the_scan(case: dict[str, Any]) -> None:
    items = [i for i in case["items"] if i["outcome"] != "opened"]
    report = case["report"]
    errors = {r["suspect"] for r in report if r["type"] == "error"}
    skipped = {r["suspect"] for r in report if r["type"] == "skipped"}
    found = {r["suspect"] for r in report if r["type"] == "finding"}
    assert {i["suspect"] for i in items if i["outcome"] == "error"} == errors
    assert {i["suspect"] for i in items if i["outcome"] == "skipped"} == skipped
    with_findings = {
        i["suspect"]
        for i in items
        if any(f == i["suspect"] or f.startswith(i["suspect"] + "#L") for f in found)
    }
    assert {i["suspect"] for i in items if i["outcome"] == "finding"} == with_findings
    assert len(with_findings) == 2


def test_counts_agree_with_the_summary(case: dict[str, Any]) -> None:
    summary = case["report"][-1]
    assert summary["type"] == "summary" and summary["schema"] == 1
    counts = Counter(i["outcome"] for i in case["items"])
    assert counts["clean"] == summary["clean"]
    assert counts["clean"] + counts["finding"] == summary["scanned"]
    assert counts["finding"] == summary["suspects_with_findings"]
    assert counts["skipped"] == summary["skipped"] and counts["error"] == summary["errors"]
    assert counts["opened"] == summary["containers"] == 6
    assert sum(counts.values()) - counts["opened"] == summary["items"]
    assert case["trailer"]["outcomes"] == {k: counts[k] for k in case["trailer"]["outcomes"]}
    assert case["trailer"]["items"] == len(case["items"])


def test_times_are_utc_and_within_the_run(case: dict[str, Any]) -> None:
    started = datetime.fromisoformat(case["header"]["started_at"])
    finished = datetime.fromisoformat(case["trailer"]["finished_at"])
    for item in case["items"]:
        assert item["examined_at"].endswith("Z")
        assert started <= datetime.fromisoformat(item["examined_at"]) <= finished


def test_the_scan_left_the_evidence_as_it_was(case: dict[str, Any]) -> None:
    assert snapshot(case["root"] / "export") == case["before"]


def test_the_library_yields_an_item_record_before_each_items_records(
    case: dict[str, Any],
) -> None:
    target = str(case["root"] / "export" / "Downloads")
    with Index.open(case["index"], readonly=True) as index:
        scanner = Scanner(index, ScanOptions())
        plain = list(scanner.scan([target]))
        records = list(scanner.scan([target], inventory=True))
    assert not any(isinstance(r, ItemRecord) for r in plain)
    assert [r for r in records if not isinstance(r, ItemRecord)][:-1] == plain[:-1]
    kinds = [(type(r).__name__, getattr(r, "suspect", "")) for r in records]
    leaked = f"{target}/bundle.zip!inner.zip!{INNER_MEMO}"
    position = kinds.index(("ItemRecord", leaked))
    assert kinds[position + 1] == ("Finding", leaked)


def test_enclosing_containers_of_an_item_whose_worker_was_stopped() -> None:
    outer = ItemRecord("a.zip", "opened", "t", sha256="1")
    inner = ItemRecord("a.zip!b.zip", "opened", "t", sha256="2", containers=(("a.zip", "1"),))
    box = ItemRecord("a.zip!b.zip!m.mbox", "opened", "t", sha256="3")
    assert enclosing("a.zip!b.zip!x.pdf", [outer, None, inner]) == (
        Container("a.zip", "1"),
        Container("a.zip!b.zip", "2"),
    )
    assert enclosing("a.zip!b.zip!m.mbox#msg=2", [box])[-1] == Container(box.suspect, "3")
    assert enclosing("a.zipper", [outer]) == ()


def test_an_inventory_inside_the_evidence_is_refused(case: dict[str, Any]) -> None:
    done = run_cli(
        case["root"],
        "scan",
        "export/notes",
        "--index",
        str(case["index"]),
        "--inventory",
        "export/notes/inventory.jsonl",
    )
    assert done.returncode == 2 and "inside the evidence" in done.stderr
    assert not (case["root"] / "export/notes/inventory.jsonl").exists()


# -- verify ------------------------------------------------------------------------------


def verify(case: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(case["root"], "verify", str(case["root"] / "inventory.jsonl"), *args)


def differences(done: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records[-1]["type"] == "verification"
    return {(r["status"], r["suspect"]) for r in records if r["type"] == "difference"}


def test_verify_passes_on_untouched_evidence_and_changes_nothing(case: dict[str, Any]) -> None:
    before = snapshot(case["root"] / "export")
    done = verify(case)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith(f"{len(case['items'])} items listed:")
    assert " 0 changed, 0 missing, 0 added, 0 unreadable" in done.stdout
    assert snapshot(case["root"] / "export") == before
    last = json.loads(verify(case, "--format", "jsonl").stdout.splitlines()[-1])
    assert last["identical"] + last["present"] == last["listed"] == len(case["items"])
    assert last["present"] == 1  # the link: nothing of it to hash


def test_verify_reports_each_change_removal_and_addition(
    case: dict[str, Any], tmp_path: Path
) -> None:
    copy = tmp_path / "moved"
    copy.mkdir()
    shutil.copytree(case["root"] / "export", copy / "export", symlinks=True)
    assert verify(case, "--base", str(copy)).returncode == 0  # evidence moved: --base
    export = copy / "export"
    note = export / "notes" / "clean.txt"
    tampered = bytearray(note.read_bytes())
    tampered[10] ^= 0x20  # one letter's case
    note.write_bytes(bytes(tampered))
    (export / "big.dat").unlink()
    (export / "notes" / "new.txt").write_text(prose(80, 50), encoding="utf-8")
    (export / "Downloads" / "bundle.zip").write_bytes(bundle(LEAK.replace(" ", "  ", 1).encode()))
    before = snapshot(export)
    done = verify(case, "--base", str(copy), "--format", "jsonl")
    assert done.returncode == 1, done.stderr
    zipped = "export/Downloads/bundle.zip"
    assert differences(done) == {
        ("changed", "export/notes/clean.txt"),
        ("missing", "export/big.dat"),
        ("added", "export/notes/new.txt"),
        ("changed", zipped),
        ("changed", f"{zipped}!inner.zip"),
        ("changed", f"{zipped}!inner.zip!{INNER_MEMO}"),
    }
    assert snapshot(export) == before
    records = [json.loads(line) for line in done.stdout.splitlines()]
    note_change = next(r for r in records if r.get("suspect") == "export/notes/clean.txt")
    assert note_change["expected_sha256"] == sha(
        case["before"][str(case["root"] / "export/notes/clean.txt")][0]
    )
    assert note_change["actual_sha256"] == sha(bytes(tampered))
    text = verify(case, "--base", str(copy))
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert any(line.startswith("MISSING") and "export/big.dat" in line for line in lines)
    assert any(line.startswith("ADDED") and "export/notes/new.txt" in line for line in lines)
    assert any(line.startswith("CHANGED") and INNER_MEMO in line for line in lines)
    assert len(lines) == 7  # one line each, then the counts


def test_a_missing_archive_is_one_line_with_its_members_counted(
    case: dict[str, Any], tmp_path: Path
) -> None:
    shutil.copytree(case["root"] / "export", tmp_path / "export", symlinks=True)
    (tmp_path / "export" / "Downloads" / "bundle.zip").unlink()
    done = verify(case, "--base", str(tmp_path), "--format", "jsonl")
    assert done.returncode == 1
    assert differences(done) == {("missing", "export/Downloads/bundle.zip")}
    last = json.loads(done.stdout.splitlines()[-1])
    assert last["missing"] == 5  # the ZIP, the ZIP in it, and the three members


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the inventory"),
        ('{"type": "summary", "schema": 1}\n', "not a leakscan inventory"),
        ('{"type": "inventory", "schema": 99, "targets": []}\n', "schema 99"),
        ('{"type": "inventory", "schema": 1, "targets": ["x"]}\nnot json\n{}\n', "line 2"),
        ("", "empty"),
    ],
    ids=["absent", "a-report", "newer-schema", "garbage-line", "empty"],
)
def test_an_unreadable_inventory_is_a_usage_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "inventory.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = run_cli(tmp_path, "verify", str(path))
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_an_inventory_cut_short_is_read_with_a_warning(
    case: dict[str, Any], tmp_path: Path
) -> None:
    lines = (case["root"] / "inventory.jsonl").read_text(encoding="utf-8").splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-3]) + "\n" + lines[-3][:40], encoding="utf-8")
    done = run_cli(case["root"], "verify", str(cut), "--format", "jsonl")
    assert done.returncode == 1 and "incomplete" in done.stderr
    assert len(differences(done)) >= 1
    assert all(status == "added" for status, _ in differences(done))


def test_the_readme_example_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Inventory and verify", 1)[1]
    commands = section.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    shown = section.split("```text\n", 1)[1].split("```", 1)[0].strip()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    assert run_cli(tmp_path, "index", "build", "examples/archive").returncode == 0  # ./dev demo
    codes = []
    for command in commands:
        program, *args = command.replace("/tmp/", f"{tmp_path}/").split()
        assert program == "leakscan"
        done = run_cli(tmp_path, *args)
        codes.append(done.returncode)
    assert codes == [1, 0], done.stderr
    assert done.stdout.strip() == shown


def slow_text(words: int) -> bytes:
    """Text that takes seconds to fingerprint, but compresses to almost nothing."""
    return (prose(5, 2000) + "\n").encode() * (words // 2000)


def test_a_member_that_stopped_its_worker_is_listed_inside_its_archive(
    case: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "export.zip"
    members = {"a.txt": prose(81, 100).encode(), "b_slow.txt": slow_text(6_000_000)}
    path.write_bytes(zip_bytes({**members, "c.txt": LEAK.encode()}))
    options = ScanOptions(timeout_seconds=1.5, max_file_bytes=256 << 20)
    with Index.open(case["index"], readonly=True) as index:
        records = list(Scanner(index, options).scan([str(path)], inventory=True))
    items = {r.suspect: r for r in records if isinstance(r, ItemRecord)}
    stopped = items[f"{path}!b_slow.txt"]
    assert stopped.outcome == "error" and "timed out" in (stopped.reason or "")
    assert stopped.sha256 is None  # its worker was killed before it could say
    assert stopped.containers == ((str(path), sha(path.read_bytes())),)
    assert items[f"{path}!c.txt"].outcome == "finding"  # the job went on after it
    assert items[f"{path}!a.txt"].sha256 == sha(members["a.txt"])


def test_an_interrupted_scan_leaves_an_inventory_that_says_so(
    case: dict[str, Any], tmp_path: Path
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "a.txt").write_text(prose(82, 100), encoding="utf-8")
    (export / "big.txt").write_bytes(slow_text(12_000_000))  # tens of seconds of work
    (export / "z.txt").write_text(prose(83, 100), encoding="utf-8")
    inventory = tmp_path / "inventory.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["scan", "export", "--index", str(case["index"]), "--inventory", str(inventory)]
    process = subprocess.Popen(
        [sys.executable, "-m", "leakscan.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        process.kill()
    lines = read_jsonl(inventory)
    assert lines[0]["type"] == "inventory" and lines[-1]["type"] == "inventory-end"
    assert lines[-1]["interrupted"] is True
    listed = [line["suspect"] for line in lines[1:-1]]
    assert "export/a.txt" in listed and "export/z.txt" not in listed
    done = run_cli(tmp_path, "verify", str(inventory), "--format", "jsonl")
    assert done.returncode == 1 and "incomplete" in done.stderr
    assert ("added", "export/z.txt") in differences(done)


def test_an_inventory_that_cannot_be_written_is_a_usage_error(case: dict[str, Any]) -> None:
    done = run_cli(
        case["root"],
        "scan",
        "export/notes",
        "--index",
        str(case["index"]),
        "--inventory",
        str(case["root"] / "no such folder" / "inventory.jsonl"),
    )
    assert done.returncode == 2 and "cannot write the inventory" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_report_links_to_the_inventory(case: dict[str, Any]) -> None:
    summary = case["report"][-1]
    listed = Path(summary["run"]["inventory"])
    assert listed.name == "inventory.jsonl" and listed.is_absolute()
    page = case["root"] / "linked.html"
    done = run_cli(
        case["root"], "report", "report.jsonl", "-o", str(page), "--index", str(case["index"])
    )
    assert done.returncode == 0, done.stderr
    assert f'href="{listed.as_uri()}"' in page.read_text(encoding="utf-8")
