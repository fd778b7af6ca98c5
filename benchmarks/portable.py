"""Export and import of an index (``leakscan index export`` / ``import``): size, speed, memory,
and what other encodings of the same fingerprints would weigh.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/portable.py --documents 2000      # about a minute

Builds a SQLite index of generated documents (invented words, a share of
them pseudo-Urdu, a few shared paragraphs as letterheads are), then in
subprocesses of their own (so each peak memory, ``VmHWM``, is its own):
exports it, imports the file into a new SQLite index, and reports bytes per
fingerprint, seconds and peak memory. ``--encodings`` also weighs the
fingerprints of the index under other encodings (positions raw or as
differences, zlib levels, zstd when ``backports.zstd`` is installed) without
writing files.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from leakscan import Index  # noqa: E402
from leakscan.index.portable_export import export_to_file  # noqa: E402
from leakscan.index.portable_import import import_index  # noqa: E402
from tests.texts import prose, urdu_document, vocabulary  # noqa: E402

KEY = b"portable benchmark key, 32 bytes"


def build(location: Path, documents: int, words: int) -> None:
    vocab = vocabulary()
    letterhead = prose(99, 60, vocab)
    with Index.create(location, key=KEY) as index, index.writing():
        for n in range(documents):
            body = urdu_document(n, words) if n % 5 == 0 else prose(n, words, vocab)
            text = (letterhead + "\n\n" + body) if n % 3 == 0 else body
            index.add_text(text, path=f"case/{n // 100}/doc{n}.txt", root="/archive")
            if n % 500 == 499:
                index.commit()


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss would be the larger of it and
    the peak of the parent that built the index, as Linux keeps it across fork and exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, index: str, file: str, target: str) -> None:
    """One measured step, run in its own process; prints JSON."""
    start = time.perf_counter()
    if name == "export":
        with Index.open(index, readonly=True) as opened:
            report = export_to_file(opened, file, force=True)
        facts: dict[str, object] = {"bytes": report.bytes, "fingerprints": report.fingerprints}
    else:
        result = import_index(file, target, key=KEY)
        facts = {"documents": result.documents_added}
    facts.update(seconds=round(time.perf_counter() - start, 2), peak_mb=round(_peak_mb(), 1))
    print(json.dumps(facts))


def encodings(index: str) -> dict[str, float]:
    """Bytes per fingerprint of the index's hashes and positions, several ways."""
    try:
        from backports import zstd  # type: ignore[import-not-found]
    except ImportError:
        zstd = None
    sizes: dict[str, int] = {}
    seconds: dict[str, float] = {}
    total = 0
    batch_h: list[bytes] = []
    batch_raw: list[bytes] = []
    batch_delta: list[bytes] = []

    def flush() -> None:
        hashes = b"".join(batch_h)
        for label, positions in (("raw", b"".join(batch_raw)), ("delta", b"".join(batch_delta))):
            data = hashes + positions
            sizes[f"uncompressed {label}"] = sizes.get(f"uncompressed {label}", 0) + len(data)
            for level in (1, 6, 9):
                started = time.perf_counter()
                size = len(zlib.compress(data, level))
                key = f"zlib {level} {label}"
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - started
                sizes[key] = sizes.get(key, 0) + size
            if zstd is not None:
                for level in (3, 9):
                    started = time.perf_counter()
                    size = len(zstd.compress(data, level))
                    key = f"zstd {level} {label}"
                    seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - started
                    sizes[key] = sizes.get(key, 0) + size
        batch_h.clear(), batch_raw.clear(), batch_delta.clear()

    with Index.open(index, readonly=True) as opened:
        for _, content in opened.backend.export_contents():
            total += len(content.hashes)
            batch_h.append(np.asarray(content.hashes, "<i8").tobytes())
            batch_raw.append(np.asarray(content.positions, "<i4").tobytes())
            batch_delta.append(np.diff(content.positions, prepend=0).astype("<i4").tobytes())
            if sum(map(len, batch_h)) > 8 << 20:
                flush()
        flush()
    return {name: round(size / total, 2) for name, size in sizes.items()} | {
        f"{name} s": round(s, 2) for name, s in seconds.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--words", type=int, default=600)
    parser.add_argument("--encodings", action="store_true")
    parser.add_argument(
        "--workdir", help="Keep the index (and reuse it when there) in this folder", default=None
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS, nargs=4)
    args = parser.parse_args()
    if args.phase:
        phase(*args.phase)
        return
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.workdir or scratch)
        work.mkdir(parents=True, exist_ok=True)
        index, file, target = (str(work / n) for n in ("i.sqlite", "i.lsx", "j.sqlite"))
        Path(target).unlink(missing_ok=True)
        started = time.perf_counter()
        if not Path(index).exists():
            build(Path(index), args.documents, args.words)
        index_bytes = Path(index).stat().st_size
        print(f"built {args.documents} documents in {time.perf_counter() - started:.1f} s")
        results = {}
        for name in ("export", "import"):
            out = subprocess.run(
                [sys.executable, __file__, "--phase", name, index, file, target],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[name] = json.loads(out)
        fps = results["export"]["fingerprints"]
        print(f"index: {index_bytes} bytes, {index_bytes / fps:.1f} bytes per fingerprint")
        print(f"export: {results['export']} ({results['export']['bytes'] / fps:.2f} B/fp)")
        print(f"import: {results['import']}")
        if args.encodings:
            for name, value in encodings(index).items():
                print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
