"""OCR: recall per script and degradation, pages per second per core, and the choices behind them.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/ocr.py                    # everything (a few minutes)
    .venv/bin/python benchmarks/ocr.py --phases speed     # one phase: recall, speed, engine, jobs

Pages are typeset here with real fonts (Noto Serif; Noto Naskh Arabic and Amiri
for Naskh Urdu; Noto Nastaliq Urdu), from the invented texts of
``tests/ocr_factories.py``, then degraded with real image operations (skew,
quarter and half turns, perspective tilt, blur, uneven light, JPEG at quality
30, downscaling, and all of a phone photo's at once).

* ``recall``: each page read by leakscan's OCR pipeline (``strategy`` auto, and
  the alternatives measured against it); reported: the share of the typed
  text's 5-word runs (English) or 12-letter runs (Urdu, spaces removed: the
  index's unit for Arabic script) and 5-letter runs found in the OCR text,
  and whether a scan against an index of the typed texts finds the page
  (score ≥ 0.5) — and that unrelated pages find nothing.
* ``speed``: pages per second on one core (one worker, ``OMP_THREAD_LIMIT=1``),
  English and Urdu, the whole pipeline (upright detection, levelling, second passes),
  from CPU time: on a shared machine wall-clock time measures the neighbours.
* ``engine``: one recognition pass through tesserocr's loaded API against
  starting the ``tesseract`` program per page (TSV output), same models, same
  page segmentation.
* ``orientation``: pages turned by 0, 90, 180 and 270 degrees: the turn
  leakscan's pipeline chose (line profile, then confidences) against
  tesseract's orientation and script detection (OSD, ``osd.traineddata``).
* ``jobs``: a WhatsApp export full of page photos, as the app's zip and
  unzipped, scanned with 1 and 2 workers (no OCR cache), wall-clock seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from leakscan import Index, Scanner, ScanOptions  # noqa: E402
from leakscan.normalize import normalize_text  # noqa: E402
from leakscan.ocr import OcrSettings, find_tessdata  # noqa: E402
from leakscan.ocr.engine import engine_for  # noqa: E402
from leakscan.ocr.geometry import Placement  # noqa: E402
from leakscan.ocr.images import Frame  # noqa: E402
from leakscan.ocr.page import read_page  # noqa: E402
from tests import ocr_factories as f  # noqa: E402

SCRIPTS: dict[str, tuple[str, str]] = {
    "english": (f.ENGLISH_MEMO, "serif"),
    "naskh (Noto Naskh Arabic)": (f.URDU_MEMO, "naskh"),
    "naskh (Amiri)": (f.URDU_MEMO, "amiri"),
    "nastaliq (Noto Nastaliq Urdu)": (f.URDU_MEMO, "nastaliq"),
}
UNRELATED = {"english": (f.ENGLISH_OTHER, "serif"), "urdu": (f.URDU_OTHER, "naskh")}
LANGUAGES = ("eng", "urd")


def letters(text: str) -> str:
    return "".join(normalize_text(text).split())


def runs(items: list[str] | str, n: int) -> set[object]:
    return {tuple(items[i : i + n]) for i in range(len(items) - n + 1)}


def recall(truth: str, got: str, unit: str) -> float:
    if unit == "words":
        want, have = runs(normalize_text(truth).split(), 5), runs(normalize_text(got).split(), 5)
    else:
        n = int(unit)
        want, have = runs(letters(truth), n), runs(letters(got), n)
    return len(want & have) / max(1, len(want))


def frame_of(image: Image.Image) -> Frame:
    grey = image.convert("L")
    return Frame(1, grey, Placement(*grey.size))


def ocr_text(image: Image.Image, strategy: str = "auto") -> tuple[str, float, int]:
    engine = engine_for(find_tessdata(OcrSettings()) or Path("."))
    before = engine.calls
    started = time.process_time()
    page = read_page(engine, frame_of(image), LANGUAGES, strategy=strategy)
    return (
        " ".join(w.text for w in page.words),
        time.process_time() - started,
        engine.calls - before,
    )


def memory_scanner() -> Scanner:
    index = Index.open("memory://", create=True)
    for name, (text, _) in SCRIPTS.items():
        if name.startswith(("english", "naskh (Noto")):
            index.add_text(text, path=f"{name.split()[0]}.txt")
    index.add_text(f.ENGLISH_NOTICE, path="notice.txt")
    index.add_text(f.URDU_NOTICE, path="notice-ur.txt")
    return Scanner(index, ScanOptions(ocr=OcrSettings(use_cache=False)))


def phase_recall(strategies: list[str]) -> None:
    scanner = memory_scanner()
    print("\n## Recall per script and degradation\n")
    print(
        "| script | degradation | strategy | 5-word runs | 12-letter runs | 5-letter runs "
        "| found (score) | passes | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    totals: dict[tuple[str, str], list[float]] = {}
    for name, (text, face) in SCRIPTS.items():
        page = f.render_page(text, face)
        for degradation, degrade in f.DEGRADATIONS.items():
            image = degrade(page)
            for strategy in strategies:
                got, seconds, passes = ocr_text(image, strategy)
                findings = scanner.scan_text(got)
                score = max((x.score for x in findings), default=0.0)
                r12 = recall(text, got, "12")
                totals.setdefault((name, strategy), []).append(score >= 0.5)
                print(
                    f"| {name} | {degradation} | {strategy} | {recall(text, got, 'words'):.2f} "
                    f"| {r12:.2f} | {recall(text, got, '5'):.2f} "
                    f"| {'yes' if score >= 0.5 else 'no'} ({score:.2f}) | {passes} "
                    f"| {seconds:.1f} |",
                    flush=True,
                )
    print("\nPages found (score ≥ 0.5) of", len(f.DEGRADATIONS), "degradations:")
    for (name, strategy), found in totals.items():
        print(f"- {name}, {strategy}: {sum(found)}/{len(found)}")
    print("\n## Unrelated pages (must find nothing)\n")
    for name, (text, face) in UNRELATED.items():
        for degradation in ("clean", "phone-photo"):
            got, _, _ = ocr_text(f.DEGRADATIONS[degradation](f.render_page(text, face)))
            found = scanner.scan_text(got)
            print(f"- {name}, {degradation}: {len(found)} findings")


def phase_speed(pages: int) -> None:
    print("\n## Speed: pages per second on one core (whole pipeline)\n")
    print("| script | page | pages/s | seconds/page | recognition passes/page |")
    print("|---|---|---|---|---|")
    for name in ("english", "naskh (Noto Naskh Arabic)", "nastaliq (Noto Nastaliq Urdu)"):
        text, face = SCRIPTS[name]
        for label, make in (
            ("clean scan", lambda t=text, fc=face: f.render_page(t, fc)),
            ("phone photo", lambda t=text, fc=face: f.phone_photo(f.render_page(t, fc))),
            (
                "A4 at 300 dpi, 3× the text",
                lambda t=text, fc=face: f.render_page(
                    " ".join([t] * 3), fc, width=2480, font_size=50, margin=240
                ),
            ),
        ):
            image = make()
            ocr_text(image)  # models loaded before timing
            times, passes = [], []
            for _ in range(pages):
                _, seconds, calls = ocr_text(image)
                times.append(seconds)
                passes.append(calls)
            mean = statistics.mean(times)
            print(
                f"| {name} | {label} {image.width}×{image.height} | {1 / mean:.2f} "
                f"| {mean:.2f} | {statistics.mean(passes):.1f} |",
                flush=True,
            )


def phase_engine(pages: int) -> None:
    print("\n## Engine: tesserocr (loaded once) against the tesseract program per page\n")
    executable = shutil.which("tesseract")
    tessdata = find_tessdata(OcrSettings())
    engine = engine_for(tessdata or Path("."))
    print("| page | tesserocr CPU s/page | tesseract CLI CPU s/page |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("english", "naskh (Noto Naskh Arabic)"):
            text, face = SCRIPTS[name]
            image = f.render_page(text, face)
            png = Path(tmp) / "page.png"
            image.save(png)
            engine.recognize(image, "eng+urd")
            loaded = []
            for _ in range(pages):
                started = time.process_time()
                engine.recognize(image, "eng+urd")
                loaded.append(time.process_time() - started)
            cli: list[float] = []
            if executable:
                env = dict(os.environ, OMP_THREAD_LIMIT="1")
                for _ in range(pages):
                    before = os.times()
                    subprocess.run(
                        [
                            executable,
                            str(png),
                            "stdout",
                            "-l",
                            "eng+urd",
                            "--psm",
                            "6",
                            "--tessdata-dir",
                            str(tessdata),
                            "tsv",
                        ],
                        capture_output=True,
                        check=True,
                        env=env,
                    )
                    after = os.times()
                    cli.append(
                        after.children_user
                        + after.children_system
                        - before.children_user
                        - before.children_system
                    )
            shown = f"{statistics.mean(cli):.2f}" if cli else "not installed"
            print(f"| {name} | {statistics.mean(loaded):.2f} | {shown} |", flush=True)


def phase_orientation() -> None:
    import tesserocr

    print("\n## Orientation: leakscan's choice against tesseract's OSD\n")
    tessdata = find_tessdata(OcrSettings())
    osd = tesserocr.PyTessBaseAPI(path=f"{tessdata}/", lang="osd", psm=0)
    print(
        "| script | picture | turned | leakscan turns back | right | OSD says | right | OSD CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    right = {"leakscan": 0, "osd": 0, "pages": 0}
    for name in ("english", "naskh (Noto Naskh Arabic)", "nastaliq (Noto Nastaliq Urdu)"):
        text, face = SCRIPTS[name]
        for label in ("clean", "phone-photo"):
            base = f.DEGRADATIONS[label](f.render_page(text, face))
            for turned in (0, 90, 180, 270):
                image = f.turn(base, turned) if turned else base
                engine = engine_for(tessdata or Path("."))
                page = read_page(engine, frame_of(image), LANGUAGES)
                # f.turn turns counter-clockwise; turning back is clockwise by as much
                ours_right = page.rotation == turned
                started = time.process_time()
                osd.SetImage(image.convert("L"))
                found = osd.DetectOrientationScript() or {}
                seconds = time.process_time() - started
                # OSD's orient_deg: the counter-clockwise turn of the text, i.e. ours
                osd_right = found.get("orient_deg") == {0: 0, 90: 270, 180: 180, 270: 90}[turned]
                right["leakscan"] += ours_right
                right["osd"] += osd_right
                right["pages"] += 1
                ours = "yes" if ours_right else "NO"
                theirs = "yes" if osd_right else "NO"
                print(
                    f"| {name} | {label} | {turned} | {page.rotation} | {ours} "
                    f"| {found.get('orient_deg')} ({found.get('script_name')}) "
                    f"| {theirs} | {seconds:.2f} |",
                    flush=True,
                )
    pages = right["pages"]
    print(f"\nRight: leakscan {right['leakscan']}/{pages}, OSD {right['osd']}/{pages}")


def phase_jobs(photos: int) -> None:
    print("\n## An export full of page photos, by --jobs (no OCR cache)\n")
    print("| export | jobs | photos | wall seconds | photos/s | CPU seconds (workers) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "archive").mkdir()
        (root / "archive" / "memo.txt").write_text(f.ENGLISH_MEMO, encoding="utf-8")
        location = root / "index.sqlite"
        with Index.create(location) as index:
            from leakscan import build

            build(index, [root / "archive"], ocr=OcrSettings(enabled=False))
        chat = root / "WhatsApp Chat with Sana.zip"
        folder = root / "WhatsApp Chat with Sana"
        folder.mkdir()
        lines = []
        with zipfile.ZipFile(chat, "w") as zipped:
            for number in range(photos):
                text = f.ENGLISH_MEMO if number % 2 == 0 else f.ENGLISH_OTHER
                photo = f.phone_photo(f.render_page(text, "serif"), seed=number)
                name = f"IMG-20240311-WA{number:04d}.jpg"
                zipped.writestr(name, f.jpeg_bytes(photo, 70))
                (folder / name).write_bytes(f.jpeg_bytes(photo, 70))
                lines.append(f"11/03/2024, 21:{number % 60:02d} - Sana: {name} (file attached)")
            chat_text = "\n".join(lines) + "\n"
            zipped.writestr("WhatsApp Chat with Sana.txt", chat_text)
        (folder / "WhatsApp Chat with Sana.txt").write_text(chat_text, encoding="utf-8")
        for label, target in (("zipped (one file)", chat), ("unzipped folder", folder)):
            for jobs in (1, 2):
                options = ScanOptions(jobs=jobs, ocr=OcrSettings(use_cache=False))
                with Index.open(location, readonly=True) as index:
                    before = os.times()
                    started = time.perf_counter()
                    records = list(Scanner(index, options).scan([target]))
                    seconds = time.perf_counter() - started
                    after = os.times()
                cpu = (after.children_user + after.children_system) - (
                    before.children_user + before.children_system
                )
                found = sum(1 for r in records if type(r).__name__ == "Finding")
                assert found == (photos + 1) // 2, found
                print(
                    f"| {label} | {jobs} | {photos} | {seconds:.1f} | {photos / seconds:.2f} "
                    f"| {cpu:.1f} |",
                    flush=True,
                )


PHASES: dict[str, Callable[[argparse.Namespace], None]] = {
    "recall": lambda a: phase_recall(a.strategies.split(",")),
    "speed": lambda a: phase_speed(a.pages),
    "engine": lambda a: phase_engine(a.pages),
    "orientation": lambda a: phase_orientation(),
    "jobs": lambda a: phase_jobs(a.photos),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--strategies", default="auto", help="auto,combined,no-geometry")
    parser.add_argument("--pages", type=int, default=3, help="timed repetitions per page")
    parser.add_argument("--photos", type=int, default=8, help="photos in the chat export")
    args = parser.parse_args()
    print(f"tesseract models: {find_tessdata(OcrSettings())}; one core per worker")
    for phase in args.phases.split(","):
        PHASES[phase](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
