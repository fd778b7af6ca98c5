"""Helpers of the report tests and benchmark: headless Chromium, and many synthetic findings.

Chromium is run as an examiner's browser would open the file: from disk, with
a proxy that leads nowhere (so anything the report tried to fetch would fail
and log an error), and its console read from its log on stderr.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from leakscan.normalize import tokenize
from leakscan.records import ErrorRecord, Finding, Passage, Record, SkippedRecord, Summary
from tests.chat_factories import WaMessage, write_whatsapp_export
from tests.texts import prose, urdu_prose

__all__ = [
    "HOSTILE_SENDER",
    "LEAD_CHAT",
    "Browser",
    "chromium",
    "lead_case",
    "load_seconds",
    "open_page",
    "page_timings",
    "screenshot",
    "synthetic_records",
]

_CONSOLE = re.compile(r":INFO:CONSOLE[^\]]*\] (.*)")


def chromium() -> str | None:
    """The Chromium on this machine (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Browser:
    """What Chromium made of a page: its DOM after scripts ran, and its console lines."""

    dom: str
    console: list[str]
    seconds: float


def _run(page: Path, *extra: str, timeout: float = 180) -> tuple[str, list[str], float]:
    binary = chromium()
    assert binary is not None, "chromium is not installed"
    with tempfile.TemporaryDirectory(prefix="leakscan-chromium-") as profile:
        command = [
            binary,
            "--headless",
            "--no-sandbox",  # tests run as root in CI
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--proxy-server=http://127.0.0.1:9",  # nothing may be fetched: it would fail, loudly
            "--proxy-bypass-list=<-loopback>",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            *extra,
            page.resolve().as_uri(),
        ]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        seconds = time.monotonic() - started
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    console = [m.group(1) for m in map(_CONSOLE.search, done.stderr.splitlines()) if m]
    return done.stdout, console, seconds


def open_page(page: Path, *flags: str) -> Browser:
    """The page's DOM once loaded (inline scripts run), and what it wrote to the console."""
    dom, console, seconds = _run(page, "--dump-dom", *flags)
    return Browser(dom, console, seconds)


def screenshot(page: Path, png: Path, width: int = 1400, height: int = 2000) -> Browser:
    """A screenshot of the top of the page."""
    _, console, seconds = _run(page, f"--screenshot={png}", f"--window-size={width},{height}")
    return Browser("", console, seconds)


def load_seconds(page: Path) -> float:
    """Seconds from asking for the page to its load event, as a page holding it in a frame
    measures them with the browser's clock (the browser's own start is not counted)."""
    wrapper = page.with_name(page.stem + "-timing.html")
    wrapper.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        "<iframe id='f' width='1400' height='1200'></iframe><script>"
        "var t0 = performance.now(); var f = document.getElementById('f');"
        "f.onload = function () { document.body.setAttribute('data-load-ms',"
        " String(performance.now() - t0)); };"
        f"f.src = {page.name!r};</script></body></html>",
        encoding="utf-8",
    )
    dom, _, _ = _run(wrapper, "--dump-dom")
    found = re.search(r'data-load-ms="([0-9.]+)"', dom)
    assert found, "the timing page did not record a load time"
    return float(found.group(1)) / 1000


_TIMINGS = """<script>
(function () {
  var root = document.documentElement;
  var t0 = performance.now();
  var height = root.scrollHeight;
  var t1 = performance.now();
  window.scrollTo(0, height);
  var top = root.getBoundingClientRect().top;
  var t2 = performance.now();
  var found = document.querySelectorAll("details.finding");
  for (var i = 0; i < Math.min(found.length, 500); i += 1) { found[i].open = true; }
  var opened = root.scrollHeight;
  var t3 = performance.now();
  var timings = [t1 - t0, t2 - t1, t3 - t2, height, opened, top];
  document.body.setAttribute("data-timings", timings.join(" "));
}());
</script></body>"""


def page_timings(page: Path) -> dict[str, float]:
    """Milliseconds the browser takes, once the page is parsed, to lay all of it out, to
    scroll to its end, and to open 500 findings (a copy of the page measures itself)."""
    copy = page.with_name(page.stem + "-measured.html")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", _TIMINGS), "utf-8")
    dom, console, _ = _run(copy, "--dump-dom", "--window-size=1400,1000")
    found = re.search(r'data-timings="([^"]+)"', dom)
    assert found and not console, f"the page did not measure itself: {console}"
    layout, scroll, open_500, height, opened, _ = map(float, found.group(1).split())
    return {
        "layout_ms": layout,
        "scroll_ms": scroll,
        "open_500_ms": open_500,
        "height_px": height,
        "opened_height_px": opened,
    }


# -- many findings -----------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def synthetic_records(archive: Path, findings: int, seed: int = 7) -> list[Record]:
    """``findings`` findings of 1-3 passages each against 40 source files written to
    ``archive`` (a quarter of them Urdu), a few skips and errors, and a summary.

    Each passage is a real stretch of its source (a word changed here and there),
    with the source's token positions, so a report can quote and mark every one.
    """
    rng = random.Random(seed)
    archive.mkdir(parents=True, exist_ok=True)
    sources = []
    for number in range(40):
        urdu = number % 4 == 3
        text = urdu_prose(seed + number, 1500) if urdu else prose(seed + number, 1500)
        path = archive / ("urdu" if urdu else "english") / f"memo-{number:02d}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        tokens = tokenize(text)
        sources.append((path.relative_to(archive).as_posix(), _sha256(path), text, tokens))
    records: list[Record] = []
    for number in range(findings):
        name, sha256, text, tokens = sources[rng.randrange(len(sources))]
        passages = []
        offset = 0
        for _ in range(rng.randint(1, 3)):
            length = rng.randint(25, 120)
            first = rng.randrange(0, len(tokens) - length)
            start, end = int(tokens.starts[first]), int(tokens.ends[first + length - 1])
            words = text[start:end].split(" ")
            words[rng.randrange(len(words))] = "changed"
            quoted = " ".join(words)
            passages.append(
                Passage(offset, offset + len(quoted), first, first + length, quoted, length)
            )
            offset += len(quoted) + 50
        chat = number % 5 == 0
        records.append(
            Finding(
                suspect=f"export/phone/chat-{number // 50}.txt#L{number % 50 + 1}"
                if chat
                else f"export/documents/file-{number:05d}.txt",
                suspect_sha256=f"{number:064x}",
                source=name,
                source_sha256=sha256,
                kind="excerpt" if len(passages) < 3 else "near-duplicate",
                score=round(rng.uniform(0.5, 1.0), 4),
                containment=round(rng.uniform(0.01, 1.0), 4),
                coverage=round(rng.uniform(0.1, 1.0), 4),
                simhash_distance=rng.randint(0, 40),
                matched_tokens=sum(p.tokens for p in passages),
                passages=tuple(passages),
                sender="Bilal" if chat else None,
                sent_at=f"2024-03-05T21:{number % 60:02d}:00" if chat else None,
            )
        )
    for number in range(100):
        records.append(
            SkippedRecord(f"export/media/photo-{number}.jpg", "no text extractor", "image/jpeg")
        )
        records.append(ErrorRecord(f"export/broken-{number}.pdf", "corrupt or truncated PDF"))
    records.append(
        Summary(items=findings + 200, scanned=findings, skipped=100, errors=100, findings=findings)
    )
    return records


# -- a lead, a hidden match, discounted boilerplate -----------------------------------

#: A sender whose name tries to write markup and to reverse what follows it.
HOSTILE_SENDER = 'Bilal <script>alert("lead")</script><img src=x onerror=alert(2)>\u202egpj.exe'
LEAD_CHAT = "WhatsApp Chat with Harbour Desk.txt"
_LETTERHEAD = (
    "Office of the River Customs Inspectorate, Wharf Street Nine, Port Aldren. "
    "Confidential. Not for circulation outside the inspectorate."
)
_CLAUSE = (
    "The undersigned has been directed to convey the decision recorded below and to request "
    "that it be acted upon without delay and acknowledged in writing."
)
_CUSTOMS = [
    "The evening inspection roster for the western quay changes from the first of April.",
    "Officer Naveed Sarwat will board the barge Talmira at the grain pier before dawn.",
    "Three sealed containers stay in the bonded shed until the laboratory report arrives.",
    "Scanner coverage at the north gate is poor and must be logged at every shift change.",
]
_STORES = [
    "Diesel held at the river depot is a quarter below the amount the launches need.",
    "The storekeeper Parveen Dastagir sends corrected counts before Friday afternoon.",
]


def _memo(body: list[str]) -> str:
    return "\n\n".join([_LETTERHEAD, _CLAUSE, *body, "Sd/- Chief Inspector, River Customs"])


def lead_case(work: Path) -> tuple[Path, Path]:
    """An archive of three memos sharing a letterhead, and an export holding: a WhatsApp
    chat where ten words (the scheme's guarantee) of three sentences of one memo are
    pasted in three messages (weak one by one, a lead together; one sent by
    HOSTILE_SENDER), ten words of another memo pasted once (a weak match: hidden by
    ``--min-score 0.7``), and a
    letter quoting the first memo whole (a finding, its letterhead and stock clause
    discounted as the archive's boilerplate). Returns (archive, export)."""
    archive, export = work / "archive", work / "export"
    for name, body in (
        ("customs/quay-roster.txt", _CUSTOMS),
        ("customs/stores.txt", _STORES),
        ("customs/nets.txt", ["A third memo about fishing nets and their mesh sizes."]),
    ):
        (archive / name).parent.mkdir(parents=True, exist_ok=True)
        (archive / name).write_text(_memo(body), encoding="utf-8")
    pieces = [" ".join(_CUSTOMS[n].split(" ")[:10]) for n in (0, 2, 3)]
    senders = ["Imran", HOSTILE_SENDER, "Imran"]
    messages = [
        WaMessage(datetime(2024, 3, 5, 21, 0), "Imran", "Are you at the quay tonight?"),
        *(
            WaMessage(datetime(2024, 3, 5, 21, 10 + n), sender, f"{prose(n, 5)} {piece} ok")
            for n, (sender, piece) in enumerate(zip(senders, pieces, strict=True))
        ),
        WaMessage(datetime(2024, 3, 6, 9, 0), "Imran", " ".join(_STORES[0].split(" ")[:10])),
    ]
    write_whatsapp_export(export, messages, chat_name="Harbour Desk")
    (export / "letter.txt").write_text(prose(5, 40) + "\n\n" + _memo(_CUSTOMS), "utf-8")
    return archive, export
