"""Which reader for legacy .doc, .xls and .ppt files: words recovered, time per file, bad input.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/legacy_office.py            # all candidates that are installed
    .venv/bin/python benchmarks/legacy_office.py --runs 3   # fewer timing runs

Test files are made here, as the tests make them: LibreOffice converts a
python-docx .docx, an openpyxl .xlsx and a python-pptx .pptx (English, Urdu
in a Nastaliq font with a zero-width non-joiner and Arabic-Indic digits, and
a larger file of each) to .doc, .xls and .ppt, and saves .doc and .xls with a
password. Candidates: leakscan's readers (``leakscan.extract``: our piece
table and record readers on olefile, xlrd), antiword, catdoc/xls2csv/catppt
and LibreOffice headless (``--convert-to txt``/``csv``, and for .ppt
``pptx`` read by leakscan's PPTX reader), the helpers run through
:func:`leakscan.procs.run` with a time limit. Words are compared exactly (no
normalization), so a lost ZWNJ or a digit turned ASCII counts as a miss.
Results are printed as Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakscan import procs
from leakscan.errors import ExtractionError
from leakscan.extract import extract
from leakscan.extract.pptx import extract as extract_pptx
from tests.factories import ENGLISH_MEMO, NASTALIQ, URDU_MEMO, make_docx
from tests.legacy_factories import (
    URDU_NUMBERS,
    build_ole,
    save_as_legacy,
)
from tests.office_factories import ENGLISH_NOTE, URDU_NOTE, make_pptx, make_xlsx

TIMEOUT = 60
_WORD = re.compile(r"\w+(?:\u200c\w+)*")


def words(text: str) -> Counter[str]:
    """Words exactly as written: letters and digits of any script, ZWNJ kept inside a word."""
    return Counter(_WORD.findall(text))


# -- corpus ---------------------------------------------------------------------------


def make_corpus(root: Path) -> dict[str, tuple[Path, list[str]]]:
    """name → (file, the strings it holds)."""
    src = root / "src"
    en_table = [["Lantern 4", "cracked glass"], ["Lantern 7", "no flame"]]
    ur_table = [["ستون", "دراڑ"], ["گودام", "سامان"]]
    expected: dict[str, list[str]] = {}
    docs = {
        "en": (list(ENGLISH_NOTE), en_table, {}),
        "ur": ([*URDU_NOTE, URDU_NUMBERS], ur_table, {"rtl": True, "font": NASTALIQ}),
        "large": ([*ENGLISH_MEMO, *URDU_MEMO] * 15, None, {}),
    }
    for name, (paragraphs, table, style) in docs.items():
        make_docx(src / f"{name}.docx", paragraphs, table=table, **style)  # type: ignore[arg-type]
        expected[f"{name}.doc"] = [*paragraphs, *(cell for row in table or [] for cell in row)]
    sheets = {
        "en": {"Lanterns": [["Lantern", "State", "Cost"], *en_table], "Notes": [[ENGLISH_NOTE[1]]]},
        "ur": {
            "پل": [["ستون", "دراڑ", "لاگت"], *ur_table],
            "نوٹ": [[URDU_NOTE[1]], [URDU_NUMBERS]],
        },
        "large": {
            f"Sheet {n}": [[f"Row {r}", ENGLISH_MEMO[r % 7], URDU_MEMO[r % 7]] for r in range(300)]
            for n in range(3)
        },
    }
    for name, book in sheets.items():
        make_xlsx(src / f"{name}.xlsx", book)
        expected[f"{name}.xls"] = [str(c) for rows in book.values() for row in rows for c in row]
    decks: dict[str, list[dict[str, object]]] = {
        "en": [
            {"title": "Pier lanterns", "body": ENGLISH_NOTE[1], "notes": ENGLISH_NOTE[2]},
            {"title": "Plan", "body": ENGLISH_NOTE[3], "table": en_table},
        ],
        "ur": [
            {"title": "پل کا معائنہ", "body": URDU_NOTE[1], "notes": URDU_NOTE[2]},
            {"title": "منصوبہ", "body": f"{URDU_NOTE[3]}\n{URDU_NUMBERS}", "table": ur_table},
        ],
        "large": [
            {"title": f"Slide {n}", "body": ENGLISH_MEMO[n % 7], "notes": URDU_MEMO[n % 7]}
            for n in range(60)
        ],
    }
    for name, slides in decks.items():
        make_pptx(src / f"{name}.pptx", slides)
        strings: list[str] = []
        for slide in slides:
            strings += [str(slide[k]) for k in ("title", "body", "notes") if k in slide]
            strings += [c for row in slide.get("table", []) for c in row]  # type: ignore[attr-defined]
        expected[f"{name}.ppt"] = strings
    out = root / "legacy"
    jobs = [
        (source, out / f"{source.stem}.{source.suffix[1:4]}", "")
        for source in sorted(src.iterdir())
    ]
    jobs += [
        (src / "en.docx", out / "encrypted.doc", "fictional-pw"),
        (src / "en.xlsx", out / "encrypted.xls", "fictional-pw"),
    ]
    save_as_legacy(jobs)
    corpus = {name: (out / name, strings) for name, strings in expected.items()}
    return corpus


def bad_inputs(root: Path, corpus: dict[str, tuple[Path, list[str]]]) -> dict[str, dict[str, Path]]:
    """format → case → file: encrypted, truncated to half, garbage in an OLE container."""
    cases: dict[str, dict[str, Path]] = {}
    garbage = bytes((n * 7919 + 13) % 251 for n in range(64 << 10))
    streams = {"doc": "WordDocument", "xls": "Workbook", "ppt": "PowerPoint Document"}
    for fmt, stream in streams.items():
        source = corpus[f"large.{fmt}"][0].read_bytes()
        truncated = root / f"truncated.{fmt}"
        truncated.write_bytes(source[: len(source) // 2])
        junk = root / f"garbage.{fmt}"
        junk.write_bytes(build_ole({stream: garbage}))
        cases[fmt] = {"truncated": truncated, "garbage OLE": junk}
        encrypted = root / "legacy" / f"encrypted.{fmt}"
        if encrypted.is_file():
            cases[fmt]["encrypted"] = encrypted
    return cases


# -- candidates -----------------------------------------------------------------------


def helper(command: list[str]) -> Callable[[Path], str]:
    def run(path: Path) -> str:
        done = procs.run([*command, str(path)], timeout=TIMEOUT)
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ExtractionError(f"exit {done.returncode}: {message[-1] if message else ''}")
        text = done.stdout.decode("utf-8", "replace")
        if not text.strip() and done.stderr.strip():
            raise ExtractionError(f"no text, says: {done.stderr.decode('utf-8', 'replace')[:80]}")
        return text

    return run


class Soffice:
    """LibreOffice headless, one conversion per file, a profile kept warm across calls."""

    def __init__(self, root: Path) -> None:
        self.profile = (root / "soffice-profile").resolve().as_uri()
        self.root = root

    def convert(self, path: Path, target: str) -> Path:
        outdir = Path(tempfile.mkdtemp(dir=self.root))
        done = procs.run(
            [
                "soffice",
                f"-env:UserInstallation={self.profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                target,
                "--outdir",
                str(outdir),
                str(path),
            ],
            timeout=TIMEOUT,
            start_new_session=True,
        )
        made = sorted(outdir.iterdir())
        if done.returncode != 0 or not made:
            raise ExtractionError(f"soffice made nothing (exit {done.returncode})")
        return outdir

    def doc(self, path: Path) -> str:
        outdir = self.convert(path, "txt:Text (encoded):UTF8")
        return "\n".join(p.read_text("utf-8", "replace") for p in sorted(outdir.iterdir()))

    def xls(self, path: Path) -> str:
        # token 12 = -1: every sheet to a file of its own (LibreOffice 7.2+)
        options = "44,34,76,1,,0,false,true,false,false,false,-1"
        outdir = self.convert(path, f"csv:Text - txt - csv (StarCalc):{options}")
        return "\n".join(p.read_text("utf-8", "replace") for p in sorted(outdir.iterdir()))

    def ppt(self, path: Path) -> str:
        outdir = self.convert(path, "pptx")
        return extract_pptx(next(outdir.iterdir()).read_bytes()).text


def ours(path: Path) -> str:
    return extract(path.read_bytes(), path.name).text


def candidates(root: Path) -> dict[str, dict[str, Callable[[Path], str]]]:
    found: dict[str, dict[str, Callable[[Path], str]]] = {
        "doc": {"leakscan (piece table)": ours},
        "xls": {"leakscan (xlrd)": ours},
        "ppt": {"leakscan (records)": ours},
    }
    if shutil.which("antiword"):
        found["doc"]["antiword"] = helper(["antiword", "-m", "UTF-8.txt", "-w", "0"])
    if shutil.which("catdoc"):
        found["doc"]["catdoc"] = helper(["catdoc", "-d", "utf-8", "-w"])
        found["xls"]["xls2csv (catdoc)"] = helper(["xls2csv", "-d", "utf-8"])
        found["ppt"]["catppt (catdoc)"] = helper(["catppt", "-d", "utf-8"])
    if shutil.which("soffice"):
        soffice = Soffice(root)
        found["doc"]["LibreOffice → txt"] = soffice.doc
        found["xls"]["LibreOffice → csv"] = soffice.xls
        found["ppt"]["LibreOffice → pptx"] = soffice.ppt
    return found


# -- measuring ------------------------------------------------------------------------


def recall(text: str, strings: list[str]) -> float:
    want = words("\n".join(strings))
    got = words(text)
    return sum((want & got).values()) / max(sum(want.values()), 1)


def outcome(reader: Callable[[Path], str], path: Path) -> str:
    try:
        text = reader(path)
    except ExtractionError as exc:
        return f"error ({type(exc).__name__})" if "encrypt" not in str(exc) else "error: encrypted"
    except subprocess.TimeoutExpired:
        return f"killed at {TIMEOUT} s"
    except Exception as exc:
        return f"crash ({type(exc).__name__})"
    return f"{len(words(text))} words" if text.strip() else "empty, no error"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="timing runs per file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakscan-legacy-bench-") as tmp:
        root = Path(tmp)
        corpus = make_corpus(root)
        bad = bad_inputs(root, corpus)
        readers = candidates(root)
        print(
            "| format | reader | English words | Urdu words | ms/file (small) | ms/file (large) "
            "| encrypted | truncated | garbage OLE |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for fmt, group in readers.items():
            for label, reader in group.items():
                cells = []
                for lang in ("en", "ur"):
                    path, strings = corpus[f"{lang}.{fmt}"]
                    try:
                        cells.append(f"{recall(reader(path), strings):.0%}")
                    except Exception as exc:
                        cells.append(f"failed ({type(exc).__name__})")
                for size in ("en", "large"):
                    path = corpus[f"{size}.{fmt}"][0]
                    runs = 2 if label.startswith("LibreOffice") else args.runs
                    times = []
                    for _ in range(runs):
                        start = time.perf_counter()
                        with contextlib.suppress(Exception):
                            reader(path)
                        times.append(time.perf_counter() - start)
                    cells.append(f"{statistics.median(times) * 1000:.0f}")
                large_path, large_strings = corpus[f"large.{fmt}"]
                with contextlib.suppress(Exception):
                    cells[1] += f" (large: {recall(reader(large_path), large_strings):.0%})"
                for case in ("encrypted", "truncated", "garbage OLE"):
                    path = bad[fmt].get(case)
                    cells.append(outcome(reader, path) if path else "n/a")
                print(f"| .{fmt} | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
