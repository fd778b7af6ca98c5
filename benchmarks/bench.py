"""Benchmarks of leakscan on synthetic text: throughput, index build, size, latency, memory,
and the scan of a synthetic seized-device export.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/bench.py --quick      # small sizes, well under a minute
    .venv/bin/python benchmarks/bench.py              # full run (several minutes the first time)

All text is generated: a seeded vocabulary of invented words drawn with a
Zipf-like frequency (pseudo-English, or pseudo-Urdu from Urdu letters), so no
real document is involved and every run sees the same corpus. Each phase runs
in its own subprocess, so the peak memory (``ru_maxrss``) reported for it is
its own. Large indexes (at least ``CACHE_MIN_DOCS`` documents) are cached in
``benchmarks/results/indexes/`` keyed by the corpus parameters and by the
scheme, normalization and schema versions leakscan records in its indexes, so
reruns skip their build; ``--rebuild`` forces it (do so after a change to
fingerprinting or storage that did not bump a version). The ``export`` phase
scans a generated export of about 200 MB (20 MB with ``--quick``: phone and
laptop folders of notes, DOCX, PDFs made once with LibreOffice, JPEG-like
images, a zip holding a zip, a tar.gz, a WhatsApp chat export) with 1 and 2
jobs; the export and its own index are cached the same way, in
``benchmarks/results/exports/``, and it needs no other phase (``--phases
export``). Results are printed as
Markdown and written to ``benchmarks/results/latest.md`` (``--report``), the
raw numbers next to it as JSON.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gzip
import hashlib
import importlib
import io
import json
import os
import platform
import pstats
import resource
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

import leakscan  # noqa: E402
from leakscan.exports.expand import Expander  # noqa: E402
from leakscan.fingerprint import SCHEME_VERSION, Fingerprint  # noqa: E402
from leakscan.index.sqlite import SCHEMA_VERSION  # noqa: E402
from leakscan.intake import load_item  # noqa: E402
from leakscan.normalize import NORMALIZATION_VERSION, TokenizedText  # noqa: E402
from leakscan.walk import Item  # noqa: E402

#: Targets the report marks as pass or fail.
FINGERPRINT_TARGET_MBPS = 10.0
P99_TARGET_MS = 50.0
#: Peak writer memory may grow at most this much while the archive doubles (second half
#: of the largest build): memory bounded by the batch and caches, not by the archive.
MEMORY_GROWTH_LIMIT = 1.15

#: Indexes with at least this many documents are cached between runs.
CACHE_MIN_DOCS = 50_000
#: The fixed benchmark key (any 32 bytes will do; fixed so cached indexes can be reused).
KEY = hashlib.sha256(b"leakscan benchmark key").digest()
#: Independent random streams of one seed.
STREAM_VOCAB, STREAM_DOCS, STREAM_PAGES, STREAM_LARGE, STREAM_SUSPECTS, STREAM_EXPORT = range(6)
#: Documents per commit, as ``leakscan.build`` does (private there: fall back if it moves).
DEFAULT_COMMIT_EVERY = int(
    getattr(importlib.import_module("leakscan.build"), "COMMIT_DOCUMENTS", 1000)
)
#: Documents fingerprinted per parallel batch while building an index.
BUILD_BATCH = 1000


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much work each phase does."""

    fingerprint_mb: float  # of page-sized documents, and again of large ones
    large_doc_mb: float
    page_words: int
    index_docs: tuple[int, ...]
    doc_words: tuple[int, int]
    e2e_files: int
    suspects: int
    suspect_words: int
    export_mb: float  # the seized-device export's target size on disk
    export_index_docs: int  # documents indexed for the export scan
    chat_messages: int  # messages in the export's WhatsApp chat


QUICK = Sizes(
    fingerprint_mb=1.0,
    large_doc_mb=0.5,
    page_words=500,
    index_docs=(1_000, 5_000),
    doc_words=(300, 600),
    e2e_files=200,
    suspects=200,
    suspect_words=500,
    export_mb=20.0,
    export_index_docs=2_000,
    chat_messages=1_500,
)
FULL = Sizes(
    fingerprint_mb=10.0,
    large_doc_mb=1.0,
    page_words=500,
    index_docs=(10_000, 100_000),
    doc_words=(300, 600),
    e2e_files=2_000,
    suspects=1_000,
    suspect_words=500,
    export_mb=200.0,
    export_index_docs=10_000,
    chat_messages=4_000,
)


# -- synthetic text -------------------------------------------------------------

_EN_ONSETS = [*"bcdfghjklmnprstvwyz", "th", "sh", "ch", "st", "tr", "pl", "gr", "br", "cl", "wh"]
_EN_VOWELS = [*"aeiou", "ea", "ou", "ai", "ee", "oo"]
_EN_CODAS = ["", "", "", *"nrstdlmk", "nd", "st", "ng", "ck", "rt"]
_UR_LETTERS = list("ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنوہھءیے")
_UR_COMMON = list("اکیرنوہمتل")  # letters Urdu uses most, weighted up below
_ZABAR = "\u064e"


@dataclasses.dataclass(frozen=True)
class CorpusSpec:
    """Everything that determines a synthetic corpus (picklable, cheap to rebuild)."""

    lang: str
    seed: int
    vocab: int


class Corpus:
    """A seeded pseudo-language: invented words with Zipf-like frequencies, rendered as prose.

    Frequent words tend to be short, as in real languages, and the mean token
    is about as long as in real text (about 5.9 UTF-8 bytes per English token
    with its separator, 8.5 per Urdu one); sentences have commas and full stops,
    paragraphs are separated by blank lines; a few tokens are numbers.
    """

    def __init__(self, spec: CorpusSpec) -> None:
        self.spec = spec
        rng = np.random.default_rng([spec.seed, STREAM_VOCAB])
        invent = _invent_urdu_word if spec.lang == "ur" else _invent_english_word
        words: set[str] = set()
        while len(words) < spec.vocab:
            words.add(invent(rng))
        # Rank by length with some noise, so frequent words tend to be short.
        ordered = sorted(words)
        noise = rng.random(len(ordered)) * 10.0
        ranked = sorted(range(len(ordered)), key=lambda i: len(ordered[i]) + noise[i])
        self.words = [ordered[i] for i in ranked]
        weights = np.arange(1, len(self.words) + 1, dtype=np.float64) ** -1.07
        self.cdf = np.cumsum(weights) / weights.sum()
        self.full_stop, self.comma = ("۔", "،") if spec.lang == "ur" else (".", ",")
        sample = self.render(np.random.default_rng([spec.seed, STREAM_VOCAB, 1]), 20_000)
        self.bytes_per_word = len(sample.encode("utf-8")) / 20_000

    def draw(self, rng: np.random.Generator, n_words: int) -> list[str]:
        """``n_words`` words drawn independently with the Zipf-like frequencies."""
        picks = np.searchsorted(self.cdf, rng.random(n_words), side="right")
        picks = np.minimum(picks, len(self.words) - 1)
        words = [self.words[i] for i in picks.tolist()]
        for i in np.flatnonzero(rng.random(n_words) < 0.01).tolist():
            words[i] = str(int(rng.integers(1, 2100)))
        return words

    def render(self, rng: np.random.Generator, n_words: int) -> str:
        """Prose of ``n_words`` words: sentences of 5-24 words, paragraphs of 3-7 sentences."""
        words = self.draw(rng, n_words)
        seps = [" "] * n_words
        for i in np.flatnonzero(rng.random(n_words) < 0.06).tolist():
            words[i] += self.comma
        position, sentences = 0, 0
        paragraph = int(rng.integers(3, 8))
        while position < n_words:
            end = min(n_words, position + int(rng.integers(5, 25)))
            if self.spec.lang == "en":
                words[position] = words[position].capitalize()
            words[end - 1] = words[end - 1].rstrip(self.comma) + self.full_stop
            sentences += 1
            if sentences % paragraph == 0:
                seps[end - 1] = "\n\n"
            position = end
        seps[-1] = "\n"
        return "".join(w + s for w, s in zip(words, seps, strict=True))

    def words_for_bytes(self, n_bytes: float) -> int:
        """Roughly how many words make ``n_bytes`` of UTF-8 text."""
        return max(1, round(n_bytes / self.bytes_per_word))

    def document(self, doc_id: int, words: tuple[int, int]) -> str:
        """Archive document ``doc_id``: the same text for the same corpus and id, every time."""
        rng = np.random.default_rng([self.spec.seed, STREAM_DOCS, doc_id])
        return self.render(rng, int(rng.integers(words[0], words[1] + 1)))


def _invent_english_word(rng: np.random.Generator) -> str:
    syllables = 1 + int(rng.choice(4, p=[0.05, 0.25, 0.4, 0.3]))
    parts = [
        _EN_ONSETS[rng.integers(len(_EN_ONSETS))] + _EN_VOWELS[rng.integers(len(_EN_VOWELS))]
        for _ in range(syllables)
    ]
    return "".join(parts) + _EN_CODAS[rng.integers(len(_EN_CODAS))]


def _invent_urdu_word(rng: np.random.Generator) -> str:
    length = 2 + int(rng.choice(6, p=[0.0, 0.05, 0.2, 0.3, 0.25, 0.2]))
    pool = _UR_LETTERS + _UR_COMMON * 3
    word = "".join(pool[i] for i in rng.integers(len(pool), size=length))
    if rng.random() < 0.03:  # an occasional diacritic, which normalization drops
        word = word[0] + _ZABAR + word[1:]
    return word


def page_documents(corpus: Corpus, total_mb: float, words: int) -> list[str]:
    """Page-sized documents (``words`` words each) adding up to ``total_mb`` MB."""
    rng = np.random.default_rng([corpus.spec.seed, STREAM_PAGES])
    docs, size = [], 0
    while size < total_mb * 1e6:
        docs.append(corpus.render(rng, words))
        size += len(docs[-1].encode("utf-8"))
    return docs


def large_documents(corpus: Corpus, total_mb: float, doc_mb: float) -> list[str]:
    """Documents of about ``doc_mb`` MB each, adding up to about ``total_mb`` MB."""
    rng = np.random.default_rng([corpus.spec.seed, STREAM_LARGE])
    count = max(1, round(total_mb / doc_mb))
    return [corpus.render(rng, corpus.words_for_bytes(doc_mb * 1e6)) for _ in range(count)]


@dataclasses.dataclass(frozen=True)
class Suspect:
    """A page-sized suspect text; ``source`` is the indexed path it quotes, if any."""

    text: str
    source: str | None


def doc_path(doc_id: int) -> str:
    """The path archive document ``doc_id`` is indexed under."""
    return f"doc{doc_id:07d}.txt"


def excerpt(
    corpus: Corpus, rng: np.random.Generator, n_docs: int, doc_words: tuple[int, int]
) -> tuple[list[str], int]:
    """(words, document id) of a 60-250 word excerpt of an indexed document, about one word
    in 40 replaced."""
    doc_id = int(rng.integers(n_docs))
    source = corpus.document(doc_id, doc_words).split()
    length = min(len(source), int(rng.integers(60, 251)))
    start = int(rng.integers(len(source) - length + 1))
    words = source[start : start + length]
    for j in np.flatnonzero(rng.random(length) < 0.025).tolist():
        words[j] = corpus.draw(rng, 1)[0]
    return words, doc_id


def suspects(corpus: Corpus, n: int, n_docs: int, sizes: Sizes) -> list[Suspect]:
    """Alternately an excerpt of an indexed document inside unrelated text, and unrelated text.

    Excerpts are 60-250 words long, with about one word in 40 replaced.
    """
    rng = np.random.default_rng([corpus.spec.seed, STREAM_SUSPECTS, n_docs])
    result = []
    for i in range(n):
        if i % 2:
            result.append(Suspect(corpus.render(rng, sizes.suspect_words), None))
            continue
        excerpt_words, doc_id = excerpt(corpus, rng, n_docs, sizes.doc_words)
        length = len(excerpt_words)
        filler = corpus.render(rng, max(1, sizes.suspect_words - length)).split(" ")
        cut = int(rng.integers(len(filler) + 1))
        text = " ".join([*filler[:cut], *excerpt_words, *filler[cut:]])
        result.append(Suspect(text, doc_path(doc_id)))
    return result


# -- measurement helpers --------------------------------------------------------


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def log(message: str) -> None:
    """Progress, on stderr so that stdout carries only the report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    """CPU model, cores, RAM and software versions of this machine."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cpu": cpu,
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "ram": ram,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
        "sqlite": sqlite3.sqlite_version,
        "leakscan": f"{leakscan.__version__} (commit {commit})",
        "os": platform.platform(),
    }


def disk_bytes(path: Path) -> int:
    """Bytes an SQLite index takes, with its WAL and shared-memory files."""
    return sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def without_tokens(fingerprint: Fingerprint) -> Fingerprint:
    """The fingerprint without its tokenized text: what an index stores, cheap to pickle."""
    empty = np.empty(0, np.int64)
    return dataclasses.replace(fingerprint, tokens=TokenizedText("", [], empty, empty))


# -- phase: fingerprinting throughput ----------------------------------------------


def _time_ours(fingerprinter: leakscan.Fingerprinter, docs: list[str]) -> dict[str, float]:
    size = sum(len(d.encode("utf-8")) for d in docs)
    tokens = 0
    cpu, started = time.process_time(), time.perf_counter()
    for doc in docs:
        tokens += fingerprinter.fingerprint(doc).n_tokens
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {
        "docs": len(docs),
        "mb": size / 1e6,
        "seconds": wall,
        "mb_per_s": size / 1e6 / wall,
        "tokens_per_s": tokens / wall,
        "bytes_per_token": size / max(tokens, 1),
        "cpu_per_wall": cpu / wall,
    }


def _time_simhash(docs: list[str]) -> dict[str, Any]:
    """Time the PyPI ``simhash`` package's ``Simhash(text)``; failures are counted, not fatal."""
    from simhash import Simhash

    size, failures, first_error = 0, 0, ""
    started = time.perf_counter()
    for doc in docs:
        try:
            Simhash(doc)
            size += len(doc.encode("utf-8"))
        except Exception as exc:  # OverflowError with numpy 2 on repetitive texts
            failures += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - started
    return {
        "docs": len(docs),
        "failures": failures,
        "error": first_error,
        "mb": size / 1e6,
        "seconds": wall,
        "mb_per_s": size / 1e6 / wall if size else 0.0,
    }


def phase_fingerprint(args: dict[str, Any]) -> dict[str, Any]:
    """Fingerprinting MB/s on one core, ours next to the ``simhash`` package, per language."""
    sizes = Sizes(**args["sizes"])
    result: dict[str, Any] = {}
    for lang in ("en", "ur"):
        corpus = Corpus(CorpusSpec(lang, args["seed"], args["vocab"]))
        pages = page_documents(corpus, sizes.fingerprint_mb, sizes.page_words)
        large = large_documents(corpus, sizes.fingerprint_mb, sizes.large_doc_mb)
        log(f"fingerprinting {lang}: {len(pages)} page docs, {len(large)} large docs")
        fingerprinter = leakscan.Fingerprinter(KEY)  # fresh caches: cold start included
        ours_pages = _time_ours(fingerprinter, pages)
        ours_large = _time_ours(fingerprinter, large)
        log(f"simhash package {lang}: {len(pages)} page docs and one large doc")
        theirs_pages = _time_simhash(pages)
        theirs_large = _time_simhash(large[:1])
        result[lang] = {
            "page_bytes": sum(len(p.encode("utf-8")) for p in pages) / len(pages),
            "large_bytes": sum(len(d.encode("utf-8")) for d in large) / len(large),
            "ours_pages": ours_pages,
            "ours_large": ours_large,
            "ours_all_mb_per_s": (ours_pages["mb"] + ours_large["mb"])
            / (ours_pages["seconds"] + ours_large["seconds"]),
            "simhash_pages": theirs_pages,
            "simhash_large": theirs_large,
        }
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# -- phase: index build -------------------------------------------------------------

_worker_state: tuple[Corpus, leakscan.Fingerprinter] | None = None


def _init_build_worker(spec: CorpusSpec) -> None:
    global _worker_state
    _worker_state = (Corpus(spec), leakscan.Fingerprinter(KEY))


def _fingerprint_docs(
    start: int, stop: int, words: tuple[int, int]
) -> tuple[list[tuple[int, Fingerprint, str, int]], float, float]:
    """Generate and fingerprint archive documents [start, stop): (results, gen s, fp s)."""
    assert _worker_state is not None, "worker not initialised"
    corpus, fingerprinter = _worker_state
    out = []
    generating = fingerprinting = 0.0
    for doc_id in range(start, stop):
        t0 = time.perf_counter()
        text = corpus.document(doc_id, words)
        data = text.encode("utf-8")
        t1 = time.perf_counter()
        fingerprint = without_tokens(fingerprinter.fingerprint(text))
        fingerprinting += time.perf_counter() - t1
        generating += t1 - t0
        out.append((doc_id, fingerprint, hashlib.sha256(data).hexdigest(), len(data)))
    return out, generating, fingerprinting


def _fingerprinted_batches(
    spec: CorpusSpec, n_docs: int, words: tuple[int, int], jobs: int
) -> Iterator[tuple[list[tuple[int, Fingerprint, str, int]], float, float]]:
    """Batches of fingerprinted documents, fingerprinted ``jobs`` at a time.

    Batches alternate with writing (the caller writes a batch before asking
    for the next), so the writer's timings are not disturbed by the
    fingerprinting processes and memory holds one batch.
    """
    if jobs <= 1:
        _init_build_worker(spec)
        for start in range(0, n_docs, BUILD_BATCH):
            yield _fingerprint_docs(start, min(n_docs, start + BUILD_BATCH), words)
        return
    chunk = max(1, BUILD_BATCH // (4 * jobs))
    with ProcessPoolExecutor(jobs, initializer=_init_build_worker, initargs=(spec,)) as pool:
        for start in range(0, n_docs, BUILD_BATCH):
            stop = min(n_docs, start + BUILD_BATCH)
            starts = list(range(start, stop, chunk))
            parts = pool.map(
                _fingerprint_docs,
                starts,
                [min(stop, s + chunk) for s in starts],
                [words] * len(starts),
            )
            docs: list[tuple[int, Fingerprint, str, int]] = []
            generating = fingerprinting = 0.0
            for part, gen_s, fp_s in parts:
                docs.extend(part)
                generating += gen_s
                fingerprinting += fp_s
            yield docs, generating, fingerprinting


def index_path(results: Path, spec: CorpusSpec, n_docs: int, words: Sequence[int]) -> Path:
    """Where the index of ``n_docs`` documents of a corpus lives (and is cached).

    The name holds the versions leakscan itself uses to declare indexes
    incompatible; after a change that alters fingerprints or storage without
    bumping them, pass ``--rebuild``.
    """
    versions = (
        f"v{leakscan.__version__}-s{SCHEME_VERSION}-n{NORMALIZATION_VERSION}-d{SCHEMA_VERSION}"
    )
    name = (
        f"index-{spec.lang}-{n_docs}-seed{spec.seed}-vocab{spec.vocab}"
        f"-words{words[0]}_{words[1]}-{versions}.sqlite"
    )
    return results / "indexes" / name


def phase_build(args: dict[str, Any]) -> dict[str, Any]:
    """Build (or reuse) the index of ``n_docs`` generated documents, timing the writer.

    Add rate counts only ``Index.add_fingerprint`` and ``Index.commit`` in this
    process; the wall rate includes generating and fingerprinting in ``jobs``
    worker processes.
    """
    spec = CorpusSpec(args["lang"], args["seed"], args["vocab"])
    n_docs, commit_every, jobs = args["n_docs"], args["commit_every"], args["jobs"]
    low, high = args["sizes"]["doc_words"]
    words = (int(low), int(high))
    path = Path(args["index_path"])
    sidecar = path.with_suffix(".json")
    cacheable = n_docs >= CACHE_MIN_DOCS
    if cacheable and not args["rebuild"] and path.exists() and sidecar.exists():
        cached = json.loads(sidecar.read_text())
        cached["cached"] = True
        return cached
    for stale in path.parent.glob(f"index-{spec.lang}-{n_docs}-seed{spec.seed}-*"):
        stale.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)

    index = leakscan.Index.create(building, key=KEY)
    adding = committing = fingerprint_s = generate_s = 0.0
    source_bytes = done = 0
    rss_by_tenth: list[float] = []  # peak RSS so far, at every tenth of the documents
    # (documents, seconds) of each transaction: buffered writes happen at commit time,
    # so rates are only comparable over whole transactions
    transactions: list[tuple[int, float]] = []
    started = time.perf_counter()
    for batch, gen_s, fp_s in _fingerprinted_batches(spec, n_docs, words, jobs):
        generate_s += gen_s
        fingerprint_s += fp_s
        for doc_id, fingerprint, sha256, size in batch:
            t0 = time.perf_counter()
            index.add_fingerprint(fingerprint, path=doc_path(doc_id), sha256=sha256, size=size)
            adding += time.perf_counter() - t0
            source_bytes += size
            done += 1
            if done % commit_every == 0 or done == n_docs:
                t0 = time.perf_counter()
                index.commit()
                committing += time.perf_counter() - t0
                previous = sum(d for d, _ in transactions), sum(t for _, t in transactions)
                transactions.append((done - previous[0], adding + committing - previous[1]))
            if done % max(1, n_docs // 10) == 0:
                rss_by_tenth.append(peak_rss_mb())
        log(f"index of {n_docs}: {done} documents added")
    wall = time.perf_counter() - started
    stats = index.stats()
    index.close()
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{building}{suffix}")
        if src.exists():
            src.replace(Path(f"{path}{suffix}"))
    (first_docs, first_s), (last_docs, last_s) = transactions[0], transactions[-1]
    result = {
        "cached": False,
        "n_docs": n_docs,
        "jobs": jobs,
        "commit_every": commit_every,
        "source_mb": source_bytes / 1e6,
        "wall_seconds": wall,
        "wall_docs_per_s": n_docs / wall,
        "add_seconds": adding,
        "commit_seconds": committing,
        "add_docs_per_s": n_docs / (adding + committing),
        "add_docs_per_s_first_commit": first_docs / first_s,
        "add_docs_per_s_last_commit": last_docs / last_s,
        "worker_fingerprint_mb_per_s": source_bytes / 1e6 / fingerprint_s,
        "worker_generate_seconds": generate_s,
        "fingerprints": stats.fingerprints,
        "disk_bytes": disk_bytes(path),
        "writer_peak_rss_mb": peak_rss_mb(),
        "writer_peak_rss_mb_by_tenth": [round(rss, 1) for rss in rss_by_tenth],
        "worker_peak_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if cacheable:
        sidecar.write_text(json.dumps(result, indent=2))
    return result


# -- phase: end-to-end leakscan.build --------------------------------------------


def phase_e2e(args: dict[str, Any]) -> dict[str, Any]:
    """``leakscan.build(index, [folder], jobs=N)`` over a folder of generated .txt files."""
    sizes = Sizes(**args["sizes"])
    corpus = Corpus(CorpusSpec(args["lang"], args["seed"], args["vocab"]))
    with tempfile.TemporaryDirectory(prefix="leakscan-bench-") as tmp:
        folder = Path(tmp) / "archive"
        folder.mkdir()
        source_bytes = 0
        for doc_id in range(sizes.e2e_files):
            data = corpus.document(doc_id, sizes.doc_words).encode("utf-8")
            (folder / doc_path(doc_id)).write_bytes(data)
            source_bytes += len(data)
        log(f"leakscan.build over {sizes.e2e_files} files, jobs={args['jobs']}")
        index = leakscan.Index.create(Path(tmp) / "index.sqlite", key=KEY)
        started = time.perf_counter()
        report = leakscan.build(index, [folder], jobs=args["jobs"])
        wall = time.perf_counter() - started
        index.close()
    return {
        "files": sizes.e2e_files,
        "jobs": args["jobs"],
        "added": report.added,
        "errors": len(report.errors),
        "skipped": len(report.skipped),
        "source_mb": source_bytes / 1e6,
        "seconds": wall,
        "docs_per_s": sizes.e2e_files / wall,
        "mb_per_s": source_bytes / 1e6 / wall,
        "peak_rss_mb": peak_rss_mb(),
        "worker_peak_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
    }


# -- phase: scan latency -------------------------------------------------------------


def phase_latency(args: dict[str, Any]) -> dict[str, Any]:
    """Latency of ``Scanner.scan_text`` on page-sized suspects against one index."""
    sizes = Sizes(**args["sizes"])
    spec = CorpusSpec(args["lang"], args["seed"], args["vocab"])
    corpus = Corpus(spec)
    n_docs = args["n_docs"]
    path = Path(args["index_path"])
    texts = suspects(corpus, sizes.suspects, n_docs, sizes)
    rss_before = peak_rss_mb()
    index = leakscan.Index.open(path, key=KEY, readonly=True)
    scanner = leakscan.Scanner(index)
    for suspect in texts[:10]:  # warm up: first content count, SQLite page cache
        scanner.scan_text(suspect.text)
    log(f"scanning {len(texts)} suspects against {n_docs} documents")
    latencies, fingerprint_ms = [], []
    hits = excerpts = false_positives = 0
    for suspect in texts:
        t0 = time.perf_counter()
        findings = scanner.scan_text(suspect.text)
        latencies.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        index.fingerprinter.fingerprint(suspect.text)
        fingerprint_ms.append((time.perf_counter() - t0) * 1e3)
        sources = {f.source for f in findings}
        if suspect.source is None:
            false_positives += bool(sources)
        else:
            excerpts += 1
            hits += suspect.source in sources
    index.close()
    return {
        "n_docs": n_docs,
        "suspects": len(texts),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "mean_ms": float(np.mean(latencies)),
        "fingerprint_p50_ms": percentile(fingerprint_ms, 50),
        "recall": hits / excerpts if excerpts else 0.0,
        "false_positive_rate": false_positives / (len(texts) - excerpts),
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_open_mb": rss_before,
    }


# -- phase: scan of a seized-device export ---------------------------------------------

#: Bump when the export generator changes: cached exports are then rebuilt.
EXPORT_VERSION = 2
#: A JFIF header: libmagic calls what follows image/jpeg, which the scan skips by type.
JPEG_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
#: Share of the export's target size per part (sizes of the items, before compression).
EXPORT_SHARES = {
    "camera": 0.38,  # Phone/DCIM/Camera: JPEG-like photos of 1-4 MB
    "screenshots": 0.05,  # Phone/Pictures/Screenshots: 80-600 KB
    "notes": 0.08,  # .txt notes on the phone and the laptop's desktop
    "docx": 0.15,  # loose DOCX in the phone's and the laptop's Documents
    "pdf": 0.04,  # copies of a handful of PDFs
    "zip": 0.13,  # Laptop/Downloads/project-files.zip, with a zip inside
    "tar": 0.08,  # Laptop/Backup/home-backup.tar.gz
    "whatsapp": 0.09,  # Phone/WhatsApp: an Android "Export chat" zip with media
}
#: One text item (note, DOCX, PDF source) in this many holds an excerpt of an indexed document.
PLANT_EVERY = 8
#: Distinct PDFs made with LibreOffice; copies of them fill the PDF share.
DISTINCT_PDFS = 6
#: Excerpts pasted into the WhatsApp chat, each over 1-3 consecutive messages.
CHAT_PLANTS = 6
#: Items of each kind timed one by one in-process after the jobs=1 run (where time goes).
EXPORT_TIMED_PER_KIND = 300
CHAT_OWNER, CHAT_CONTACT = "Bilal Qureshi", "Ayesha Rahman"  # invented names
_ZIP_DATE = (2024, 3, 30, 18, 4, 10)
_KIND_ORDER = ("text note", "DOCX", "PDF", "JPEG-like image", "WhatsApp chat")


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _until(target: float, make: Callable[[int], int]) -> int:
    """Call ``make(i)`` (which returns bytes made) for i = 0, 1, ... until ``target`` bytes."""
    done, i = 0, 0
    while i == 0 or done < target:
        done += make(i)
        i += 1
    return i


class ExportBuilder:
    """Makes the items of a synthetic seized-device export and keeps account of them.

    ``planted`` holds (item, indexed document it quotes) for every excerpt put
    into an item; an item is named as the scan names it, relative to the
    export (``Laptop/Downloads/project-files.zip!project-files/Reports/a.docx``).
    """

    def __init__(
        self, corpus: Corpus, n_docs: int, doc_words: tuple[int, int], rng: np.random.Generator
    ) -> None:
        self.corpus, self.n_docs, self.doc_words, self.rng = corpus, n_docs, doc_words, rng
        self.kinds: dict[str, list[int]] = {}  # kind -> [items, bytes]
        self.planted: list[tuple[str, str]] = []
        self.text_items = 0
        self.pdfs: list[tuple[bytes, str | None]] = []
        self.pdf_note = ""
        self.chat_messages = 0

    def _tally(self, kind: str, key: str, data: bytes, source: str | None = None) -> bytes:
        counts = self.kinds.setdefault(kind, [0, 0])
        counts[0] += 1
        counts[1] += len(data)
        if source is not None:
            self.planted.append((key, source))
        return data

    def _plant_next(self) -> bool:
        self.text_items += 1
        return self.text_items % PLANT_EVERY == 1

    def words(self, n: int) -> str:
        """``n`` invented words, capitalized, as a title or a file name."""
        return " ".join(self.corpus.draw(self.rng, n)).capitalize()

    def prose(self, n_words: int, plant: bool) -> tuple[str, str | None]:
        """Prose of about ``n_words`` words; with ``plant``, an excerpt somewhere inside."""
        if not plant:
            return self.corpus.render(self.rng, n_words), None
        quoted, doc_id = excerpt(self.corpus, self.rng, self.n_docs, self.doc_words)
        filler = self.corpus.render(self.rng, max(1, n_words - len(quoted))).split(" ")
        cut = int(self.rng.integers(len(filler) + 1))
        return " ".join([*filler[:cut], *quoted, *filler[cut:]]), doc_path(doc_id)

    def note(self, key: str) -> bytes:
        """A .txt note of 20-1500 words (most of them short)."""
        text, source = self.prose(int(_log_uniform(self.rng, 20, 1500)), self._plant_next())
        return self._tally("text note", key, text.encode("utf-8"), source)

    def docx_bytes(self, text: str) -> bytes:
        import docx

        document = docx.Document()
        document.add_heading(self.words(int(self.rng.integers(2, 6))), level=1)
        for paragraph in text.split("\n\n"):
            if paragraph.strip():
                document.add_paragraph(paragraph.strip())
        out = io.BytesIO()
        document.save(out)
        with zipfile.ZipFile(out) as package:  # python-docx dates its parts now: fix the dates
            return _zip_bytes({info.filename: package.read(info) for info in package.infolist()})

    def docx(self, key: str) -> bytes:
        """A DOCX of 150-4000 words."""
        text, source = self.prose(int(_log_uniform(self.rng, 150, 4000)), self._plant_next())
        return self._tally("DOCX", key, self.docx_bytes(text), source)

    def jpeg(self, low: float, high: float | None = None) -> bytes:
        """Random bytes behind a JPEG header: ``low`` bytes, or ``low``-``high`` (log-uniform)."""
        size = int(low if high is None else _log_uniform(self.rng, low, high))
        return self._tally("JPEG-like image", "", JPEG_HEADER + self.rng.bytes(size))

    def make_pdfs(self, work: Path) -> None:
        """A handful of PDFs, from DOCX by LibreOffice in one run; none if it is missing."""
        import shutil

        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        texts = [
            self.prose(int(self.rng.integers(800, 2500)), self._plant_next())
            for _ in range(DISTINCT_PDFS)
        ]
        if soffice is None:
            self.pdf_note = "LibreOffice (soffice) not found: the export has no PDFs"
            return
        work.mkdir(parents=True, exist_ok=True)
        sources = []
        for i, (text, _) in enumerate(texts):
            path = work / f"pdf-source-{i}.docx"
            path.write_bytes(self.docx_bytes(text))
            sources.append(str(path))
        profile = (work / "lo-profile").resolve().as_uri()  # not the user's: no lock clash
        command = [soffice, f"-env:UserInstallation={profile}", "--headless"]
        command += ["--convert-to", "pdf", "--outdir", str(work), *sources]
        log(f"export: converting {len(sources)} DOCX to PDF with LibreOffice")
        try:
            subprocess.run(
                command,
                capture_output=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.pdf_note = f"LibreOffice failed ({exc}): the export has no PDFs"
            return
        for i, (_, source) in enumerate(texts):
            pdf = work / f"pdf-source-{i}.pdf"
            if pdf.exists():
                self.pdfs.append((pdf.read_bytes(), source))
        if not self.pdfs:
            self.pdf_note = "LibreOffice made no PDF: the export has no PDFs"

    def pdf(self, key: str, i: int) -> bytes:
        """A copy of the (i mod n)th PDF."""
        data, source = self.pdfs[i % len(self.pdfs)]
        return self._tally("PDF", key, data, source)

    def chat(self, key_prefix: str, chat_name: str, n_messages: int, media_bytes: float) -> dict:
        """Files of an Android WhatsApp export: the chat, its photos and two documents."""
        from datetime import datetime, timedelta

        rng = self.rng
        images: list[int] = []
        total = 0
        while total < media_bytes or not images:
            images.append(int(_log_uniform(rng, 40e3, 400e3)))
            total += images[-1]
        n_events = len(images) + 2 + CHAT_PLANTS
        slots = sorted(rng.choice(n_messages, size=min(n_events, n_messages), replace=False))
        roles = ["image"] * len(images) + ["document"] * 2 + ["plant"] * CHAT_PLANTS
        order = rng.permutation(len(roles))
        events = {int(slot): roles[int(j)] for slot, j in zip(slots, order, strict=False)}
        files: dict[str, bytes] = {}
        lines: list[str] = []
        when = datetime(2024, 3, 5, 9, 0)
        lines.append(
            f"{when:%d/%m/%Y, %H:%M} - Messages and calls are end-to-end encrypted. No one "
            "outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn "
            "more."
        )
        sender, wa_seq, pdf_sent = CHAT_OWNER, 0, False

        def say(text: str) -> None:
            lines.append(f"{when:%d/%m/%Y, %H:%M} - {sender}: {text}")
            self.chat_messages += 1

        for i in range(n_messages):
            when += timedelta(minutes=int(rng.integers(0, 40)))
            if rng.random() < 0.4:
                sender = CHAT_CONTACT if sender == CHAT_OWNER else CHAT_OWNER
            event = events.get(i)
            if event == "image":
                wa_seq += 1
                name = f"IMG-{when:%Y%m%d}-WA{wa_seq:04d}.jpg"
                files[name] = self.jpeg(images.pop())
                say(f"{name} (file attached)")
            elif event == "document":
                if self.pdfs and not pdf_sent:
                    pdf_sent = True
                    name = f"{self.words(2)}.pdf"
                    files[name] = self.pdf(f"{key_prefix}!{name}", len(files))
                else:
                    name = f"{self.words(3)}.docx"
                    files[name] = self.docx(f"{key_prefix}!{name}")
                say(f"{name} (file attached)\n{name}")
            elif event == "plant":
                quoted, doc_id = excerpt(self.corpus, rng, self.n_docs, self.doc_words)
                self.planted.append((f"{key_prefix}!{chat_name}", doc_path(doc_id)))
                pieces = int(rng.integers(1, 4))
                for piece in np.array_split(np.array(quoted, dtype=object), pieces):
                    say(" ".join(piece.tolist()))
                    when += timedelta(minutes=int(rng.integers(0, 2)))
            else:
                words = int(_log_uniform(rng, 1, 60))
                text = self.corpus.render(rng, words).strip().replace("\n\n", " ")
                if rng.random() < 0.05:
                    text += "\n" + self.corpus.render(rng, int(rng.integers(3, 20))).strip()
                say(text)
        data = ("\n".join(lines) + "\n").encode("utf-8")
        self._tally("WhatsApp chat", "", data)
        return {chat_name: data, **files}


def _write(root: Path, rel: str, data: bytes) -> int:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    """A ZIP of the members (images stored, the rest deflated), with fixed dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            stored = data.startswith(JPEG_HEADER) or name.endswith((".pdf", ".zip"))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def _tar_gz_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1_711_821_850, 0o644
            info.uname = info.gname = "bilal"
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def build_export(
    root: Path, work: Path, corpus: Corpus, n_docs: int, sizes: Sizes
) -> dict[str, Any]:
    """Write the export below ``root`` (``work`` holds scratch files); return its manifest."""
    from datetime import datetime, timedelta

    rng = np.random.default_rng([corpus.spec.seed, STREAM_EXPORT, round(sizes.export_mb * 1000)])
    b = ExportBuilder(corpus, n_docs, (sizes.doc_words[0], sizes.doc_words[1]), rng)
    budget = {part: share * sizes.export_mb * 1e6 for part, share in EXPORT_SHARES.items()}
    containers: list[dict[str, Any]] = []
    b.make_pdfs(work)
    if not b.pdfs:  # their share goes to DOCX
        budget["docx"] += budget.pop("pdf")

    shot = datetime(2024, 1, 7, 8, 12, 3)

    def camera(i: int) -> int:
        nonlocal shot
        shot += timedelta(seconds=int(rng.integers(30, 200_000)))
        return _write(root, f"Phone/DCIM/Camera/IMG_{shot:%Y%m%d_%H%M%S}.jpg", b.jpeg(1e6, 4e6))

    _until(budget["camera"], camera)
    _until(
        budget["screenshots"],
        lambda i: _write(
            root, f"Phone/Pictures/Screenshots/Screenshot_{i:04d}.jpg", b.jpeg(80e3, 600e3)
        ),
    )

    def note(i: int) -> int:
        rel = f"Phone/Notes/note-{i:05d}.txt" if i % 3 else f"Laptop/Desktop/notes/{i:05d}.txt"
        return _write(root, rel, b.note(rel))

    _until(budget["notes"], note)

    def document(i: int) -> int:
        rel = (
            f"Phone/Documents/document-{i:04d}.docx"
            if i % 4 == 0
            else f"Laptop/Documents/{('Work', 'Personal', 'Drafts')[i % 3]}/report-{i:04d}.docx"
        )
        return _write(root, rel, b.docx(rel))

    _until(budget["docx"], document)
    if b.pdfs:

        def pdf(i: int) -> int:
            rel = f"Phone/Documents/scan-{i:03d}.pdf" if i % 2 else f"Laptop/Scans/scan-{i:03d}.pdf"
            return _write(root, rel, b.pdf(rel, i))

        _until(budget["pdf"], pdf)

    # Laptop/Downloads/project-files.zip: a folder of documents, photos and a zip of old ones.
    outer = "Laptop/Downloads/project-files.zip"
    nested_name = "project-files/Archive/reports-2023.zip"
    nested: dict[str, bytes] = {}
    inner_key = f"{outer}!{nested_name}"

    def old_report(i: int) -> int:
        name = f"reports-2023/{i:03d}.docx" if i % 2 else f"reports-2023/minutes-{i:03d}.txt"
        data = b.docx(f"{inner_key}!{name}") if i % 2 else b.note(f"{inner_key}!{name}")
        nested[name] = data
        return len(data)

    _until(budget["zip"] * 0.25, old_report)
    members: dict[str, bytes] = {}

    def project(i: int) -> int:
        kind = i % 8
        if kind in (0, 1, 2):
            name = f"project-files/Reports/report-{i:03d}.docx"
            data = b.docx(f"{outer}!{name}")
        elif kind in (3, 4):
            name = f"project-files/Reports/notes/{i:03d}.txt"
            data = b.note(f"{outer}!{name}")
        elif kind == 5 and b.pdfs:
            name = f"project-files/Scans/scan-{i:03d}.pdf"
            data = b.pdf(f"{outer}!{name}", i)
        else:
            name = f"project-files/Photos/site-{i:03d}.jpg"
            data = b.jpeg(100e3, 1.5e6)
        members[name] = data
        return len(data)

    _until(budget["zip"] * 0.75, project)
    members[nested_name] = _zip_bytes(nested)
    size = _write(root, outer, _zip_bytes(members))
    containers.append({"name": outer, "kind": "zip", "members": len(members), "disk_bytes": size})
    containers.append(
        {
            "name": inner_key,
            "kind": "zip in a zip",
            "members": len(nested),
            "disk_bytes": len(members[nested_name]),
        }
    )

    # Laptop/Backup/home-backup.tar.gz
    backup = "Laptop/Backup/home-backup.tar.gz"
    tar_members: dict[str, bytes] = {}

    def home(i: int) -> int:
        if i % 3 == 0:
            name = f"home/bilal/Documents/{i:03d}.docx"
            data = b.docx(f"{backup}!{name}")
        elif i % 3 == 1:
            name = f"home/bilal/notes/{i:03d}.txt"
            data = b.note(f"{backup}!{name}")
        else:
            name = f"home/bilal/Pictures/{i:03d}.jpg"
            data = b.jpeg(50e3, 1e6)
        tar_members[name] = data
        return len(data)

    _until(budget["tar"], home)
    size = _write(root, backup, _tar_gz_bytes(tar_members))
    containers.append(
        {"name": backup, "kind": "tar.gz", "members": len(tar_members), "disk_bytes": size}
    )

    # Phone/WhatsApp: the zip "Export chat" shares, chat file and media at its root.
    chat_name = f"WhatsApp Chat with {CHAT_CONTACT}.txt"
    export_zip = f"Phone/WhatsApp/WhatsApp Chat with {CHAT_CONTACT}.zip"
    files = b.chat(export_zip, chat_name, sizes.chat_messages, budget["whatsapp"] * 0.9)
    size = _write(root, export_zip, _zip_bytes(files))
    containers.append(
        {"name": export_zip, "kind": "WhatsApp zip", "members": len(files), "disk_bytes": size}
    )

    on_disk = [p for p in root.rglob("*") if p.is_file()]
    return {
        "version": EXPORT_VERSION,
        "disk_bytes": sum(p.stat().st_size for p in on_disk),
        "files_on_disk": len(on_disk),
        "items": sum(n for n, _ in b.kinds.values()),
        "kinds": {k: {"items": n, "bytes": s} for k, (n, s) in b.kinds.items()},
        "containers": containers,
        "planted": sorted(b.planted),
        "chat_messages": b.chat_messages,
        "pdf_note": b.pdf_note,
        "distinct_pdfs": len(b.pdfs),
    }


def export_dir(results: Path, spec: CorpusSpec, sizes: Sizes) -> Path:
    """Where the export of these parameters and its index live (and are cached)."""
    versions = (
        f"v{leakscan.__version__}-s{SCHEME_VERSION}-n{NORMALIZATION_VERSION}-d{SCHEMA_VERSION}"
    )
    return (
        results
        / "exports"
        / (
            f"export-{spec.lang}-{sizes.export_mb:g}mb-seed{spec.seed}-vocab{spec.vocab}"
            f"-docs{sizes.export_index_docs}-g{EXPORT_VERSION}-{versions}"
        )
    )


def prepare_export(args: dict[str, Any]) -> dict[str, Any]:
    """Index ``export_index_docs`` documents and write the export (both reused when cached)."""
    import shutil

    sizes = Sizes(**args["sizes"])
    spec = CorpusSpec(args["lang"], args["seed"], args["vocab"])
    folder = Path(args["export_dir"])
    manifest_path = folder / "manifest.json"
    if not args["rebuild"] and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("version") == EXPORT_VERSION:
            manifest["cached"] = True
            return dict(manifest)
    for stale in folder.parent.glob(f"export-{spec.lang}-{sizes.export_mb:g}mb-seed{spec.seed}-*"):
        shutil.rmtree(stale)
    folder.mkdir(parents=True)
    n_docs, words = sizes.export_index_docs, (sizes.doc_words[0], sizes.doc_words[1])
    started = time.perf_counter()
    index = leakscan.Index.create(folder / "index.sqlite", key=KEY)
    added = 0
    for batch, _, _ in _fingerprinted_batches(spec, n_docs, words, args["jobs"]):
        for doc_id, fingerprint, sha256, size in batch:
            index.add_fingerprint(fingerprint, path=doc_path(doc_id), sha256=sha256, size=size)
            added += 1
            if added % DEFAULT_COMMIT_EVERY == 0:
                index.commit()
    index.commit()
    index.close()
    index_seconds = time.perf_counter() - started
    log(f"export: indexed {n_docs} documents in {index_seconds:.0f} s; writing the export")
    started = time.perf_counter()
    manifest = build_export(folder / "export", folder / "scratch", Corpus(spec), n_docs, sizes)
    shutil.rmtree(folder / "scratch", ignore_errors=True)
    manifest.update(
        index_docs=n_docs,
        index_seconds=index_seconds,
        generate_seconds=time.perf_counter() - started,
        built_at=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    manifest_path.write_text(json.dumps(manifest, indent=1))
    manifest["cached"] = False
    return manifest


def _machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used so far (``/proc/stat``; 0 if absent)."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _item_kind(item: Item) -> str:
    if item.chat is not None:
        return "WhatsApp chat"
    suffix = item.name.rsplit(".", 1)[-1].lower()
    return {"txt": "text note", "docx": "DOCX", "pdf": "PDF", "jpg": "JPEG-like image"}.get(
        suffix, suffix
    )


def time_by_kind(scanner: leakscan.Scanner, root: str, per_kind: int) -> dict[str, Any]:
    """Where an item's time goes, in this process, on up to ``per_kind`` items of each kind.

    ``load`` is reading, typing (libmagic) and extracting; ``libmagic`` is
    ``detect_mime`` alone; the rest of ``total`` is fingerprinting and matching.
    """
    from leakscan.extract import detect_mime
    from leakscan.intake import read_item

    limit = scanner.options.max_file_bytes
    times: dict[str, dict[str, float]] = {}
    for entry in Expander(scanner.options.limits).expand([root]):
        if not isinstance(entry, Item):
            continue
        t = times.setdefault(
            _item_kind(entry), {"items": 0, "bytes": 0, "load": 0, "libmagic": 0, "total": 0}
        )
        if t["items"] >= per_kind:
            continue
        read = read_item(entry, limit)
        if not isinstance(read, tuple):
            continue
        t0 = time.perf_counter()
        detect_mime(read[0])
        t1 = time.perf_counter()
        load_item(entry, limit)
        t2 = time.perf_counter()
        scanner.scan_item(entry)
        t3 = time.perf_counter()
        t["items"] += 1
        t["bytes"] += len(read[0])
        t["libmagic"] += t1 - t0
        t["load"] += t2 - t1
        t["total"] += t3 - t2
    return times


def _relative(name: str, root: str) -> str:
    """A finding's suspect relative to the export, without a chat's ``#L<line>``."""
    name = name.removeprefix(root + os.sep)
    return name.split("#L", 1)[0] if "#L" in name else name


def phase_export(args: dict[str, Any]) -> dict[str, Any]:
    """``Scanner(index, ScanOptions(jobs=N)).scan([export])``, every record consumed."""
    folder = Path(args["export_dir"])
    manifest = json.loads((folder / "manifest.json").read_text())
    root = str(folder / "export")
    jobs = args["jobs"]
    for path in Path(root).rglob("*"):  # warm the page cache: every run reads from memory
        if path.is_file():
            path.read_bytes()
    index = leakscan.Index.open(folder / "index.sqlite", key=KEY, readonly=True)
    scanner = leakscan.Scanner(index, leakscan.ScanOptions(jobs=jobs))
    log(f"export: scanning {manifest['disk_bytes'] / 1e6:.0f} MB with jobs={jobs}")
    inventory_path = Path(tempfile.mkdtemp()) / "inventory.jsonl"
    writer = None
    if args.get("inventory"):  # as `scan --inventory`: every item hashed and written out
        from leakscan.inventory import InventoryWriter

        writer = InventoryWriter.create(
            str(inventory_path), [root], index=index.describe(), limits=scanner.options.limits
        )
    rss_before = peak_rss_mb()
    found: set[tuple[str, str]] = set()
    kinds: dict[str, int] = {}
    errors: list[str] = []
    summary: leakscan.Summary | None = None
    busy = _machine_busy_seconds()
    cpu, started = time.process_time(), time.perf_counter()
    records = scanner.scan([root], inventory=writer is not None)
    for record in writer.tee(records) if writer is not None else records:
        if isinstance(record, leakscan.Finding):
            kinds[record.kind] = kinds.get(record.kind, 0) + 1
            found.add((_relative(record.suspect, root), record.source))
        elif isinstance(record, leakscan.ErrorRecord):
            errors.append(f"{_relative(record.suspect, root)}: {record.error}")
        elif isinstance(record, leakscan.Summary):
            summary = record
    if writer is not None:
        writer.close()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    busy = _machine_busy_seconds() - busy
    inventory = {}
    if writer is not None:
        inventory = {"lines": writer.items, "bytes": inventory_path.stat().st_size}
        inventory_path.unlink()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_cpu = children.ru_utime + children.ru_stime
    peak_rss = peak_rss_mb()
    assert summary is not None, "the scan ended without a summary"
    # Expansion alone (walk, archives opened, chats parsed): the main process's serial share.
    t0 = time.perf_counter()
    expanded = sum(1 for _ in Expander(scanner.options.limits).expand([root]))
    expand_seconds = time.perf_counter() - t0
    by_kind = time_by_kind(scanner, root, args["per_kind"]) if args.get("per_kind") else {}
    index.close()
    planted = {(item, source) for item, source in manifest["planted"]}
    return {
        "jobs": jobs,
        "summary": summary.to_dict(),
        "seconds": wall,
        "items_per_s": summary.items / wall,
        "scanned_mb_per_s": summary.bytes_scanned / 1e6 / wall,
        "disk_mb_per_s": manifest["disk_bytes"] / 1e6 / wall,
        "main_cpu_seconds": cpu,
        "workers_cpu_seconds": workers_cpu,
        # CPU the rest of the machine used meanwhile (other users' work disturbs the figures)
        "others_cpu_seconds": max(0.0, busy - cpu - workers_cpu) if busy else None,
        "expand_seconds": expand_seconds,
        "by_kind": by_kind,
        "expand_entries": expanded,
        "finding_kinds": kinds,
        "planted": len(planted),
        "planted_found": len(planted & found),
        "planted_missed": sorted(f"{i} ← {s}" for i, s in planted - found)[:10],
        "unexpected": len(found - planted),
        "unexpected_examples": sorted(f"{i} ← {s}" for i, s in found - planted)[:10],
        "errors": errors[:10],
        "inventory": inventory,
        "peak_rss_mb": peak_rss,
        "rss_before_scan_mb": rss_before,
        "worker_peak_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN),
    }


PHASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "fingerprint": phase_fingerprint,
    "build": phase_build,
    "e2e": phase_e2e,
    "latency": phase_latency,
    "export": phase_export,
}
#: Steps run in a subprocess of their own but not chosen with --phases.
_STEPS = {**PHASES, "export-prepare": prepare_export}


def run_phase_here(name: str, args: dict[str, Any], out: Path) -> None:
    """Body of a phase subprocess: run one phase (profiled if asked), write its JSON."""
    if args.get("profile"):
        profiler = cProfile.Profile()
        result = profiler.runcall(_STEPS[name], args)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)
        label = args.get("label", name)
        (Path(args["results"]) / f"profile-{label}.txt").write_text(text.getvalue())
    else:
        result = _STEPS[name](args)
    out.write_text(json.dumps(result))


def run_in_child(script: Path, kind: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --run-KIND NAME --KIND-args JSON --KIND-out FILE`` in a fresh
    interpreter (so its peak memory is its own) and read back the JSON it wrote."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        subprocess.run(
            [
                sys.executable,
                str(script),
                f"--run-{kind}",
                name,
                f"--{kind}-args",
                json.dumps(args),
                f"--{kind}-out",
                str(out),
            ],
            check=True,
        )
        result: dict[str, Any] = json.loads(out.read_text())
        return result
    finally:
        out.unlink(missing_ok=True)


def run_phase(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter, so its peak memory is its own."""
    return run_in_child(Path(__file__).resolve(), "phase", name, args)


# -- report ---------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def _kind_rank(kind: str) -> int:
    return _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)


def _maybe(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def _docs(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def render_report(results: dict[str, Any], config: dict[str, Any]) -> str:
    """The Markdown report: machine, one table per phase, then the targets."""
    lines = [f"# leakscan benchmark ({config['mode']} mode)", ""]
    lines += [f"- **{k}**: {v}" for k, v in results["machine"].items()]
    lines += [
        f"- **run**: {time.strftime('%Y-%m-%d %H:%M:%S')}, seed {config['seed']}, "
        f"vocabulary {config['vocab']} words, archive language {config['lang']}, "
        f"jobs {config['jobs']}, commit every {config['commit_every']} documents",
        "",
    ]
    if config["profile"]:
        lines += ["**Profiled run (cProfile): timings are inflated; see profile-*.txt.**", ""]
    targets: list[tuple[str, str, str, str]] = []

    fp = results.get("fingerprint")
    if fp:
        lines += [
            "## Fingerprinting (one core; MB = 10^6 bytes of UTF-8)",
            "",
            "| text | documents | leakscan MB/s | leakscan Mtokens/s | simhash pkg MB/s | ratio |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for lang, name in (("en", "pseudo-English"), ("ur", "pseudo-Urdu")):
            r = fp[lang]
            pages, large = r["ours_pages"], r["ours_large"]
            theirs, theirs_large = r["simhash_pages"], r["simhash_large"]
            ratio = pages["mb_per_s"] / theirs["mb_per_s"] if theirs["mb_per_s"] else float("inf")
            failed = f" ({theirs['failures']} failed)" if theirs["failures"] else ""
            lines.append(
                f"| {name} | {pages['docs']} × {r['page_bytes'] / 1e3:.1f} KB pages "
                f"({pages['bytes_per_token']:.1f} B/token) | {pages['mb_per_s']:.2f} | "
                f"{pages['tokens_per_s'] / 1e6:.2f} | {theirs['mb_per_s']:.2f}{failed} "
                f"| {ratio:.1f}× |"
            )
            large_theirs = (
                f"failed: {theirs_large['error'][:60]}"
                if theirs_large["failures"]
                else f"{theirs_large['mb_per_s']:.2f} (1 doc)"
            )
            lines.append(
                f"| {name} | {large['docs']} × {r['large_bytes'] / 1e6:.2f} MB | "
                f"{large['mb_per_s']:.2f} | {large['tokens_per_s'] / 1e6:.2f} | "
                f"{large_theirs} | |"
            )
            ok = min(pages["mb_per_s"], large["mb_per_s"]) >= FINGERPRINT_TARGET_MBPS
            targets.append(
                (
                    f"fingerprinting {name}",
                    f"≥ {FINGERPRINT_TARGET_MBPS:g} MB/s per core",
                    f"{pages['mb_per_s']:.2f} pages / {large['mb_per_s']:.2f} large",
                    _verdict(ok),
                )
            )
            targets.append(
                (
                    f"faster than simhash pkg, {name}",
                    "ratio > 1",
                    f"{ratio:.1f}×",
                    _verdict(ratio > 1),
                )
            )
        lines += ["", f"Peak RSS of the phase: {fp['peak_rss_mb']:.0f} MB.", ""]

    builds = results.get("build", {})
    if builds:
        lines += [
            "## Index build (writer: `Index.add_fingerprint` + `Index.commit`)",
            "",
            "| documents | source MB | add docs/s (first → last commit) | wall docs/s "
            "| fingerprints | disk MB | disk MB per source MB | bytes/fingerprint "
            "| writer peak RSS MB (at half → end) | worker peak RSS MB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        cached_notes = []
        for n, b in sorted(builds.items(), key=lambda kv: int(kv[0])):
            note = " (cached)" if b["cached"] else ""
            if b["cached"]:
                cached_notes.append(f"{_docs(int(n))} index built {b['built_at']}")
            by_tenth = b["writer_peak_rss_mb_by_tenth"]
            at_half = by_tenth[len(by_tenth) // 2 - 1] if len(by_tenth) > 1 else by_tenth[0]
            lines.append(
                f"| {_docs(int(n))}{note} | {b['source_mb']:.0f} | {b['add_docs_per_s']:.0f} "
                f"({b['add_docs_per_s_first_commit']:.0f} → {b['add_docs_per_s_last_commit']:.0f}) "
                f"| {b['wall_docs_per_s']:.0f} | {b['fingerprints']:,} "
                f"| {b['disk_bytes'] / 1e6:.0f} | {b['disk_bytes'] / 1e6 / b['source_mb']:.2f} "
                f"| {b['disk_bytes'] / max(b['fingerprints'], 1):.0f} "
                f"| {at_half:.0f} → {b['writer_peak_rss_mb']:.0f} "
                f"| {b['worker_peak_rss_mb']:.0f} |"
            )
        n_large, large_b = max(builds.items(), key=lambda kv: int(kv[0]))
        by_tenth = large_b["writer_peak_rss_mb_by_tenth"]
        at_half = by_tenth[len(by_tenth) // 2 - 1] if len(by_tenth) > 1 else by_tenth[0]
        growth = large_b["writer_peak_rss_mb"] / at_half
        targets.append(
            (
                f"writer memory bounded (peak at {_docs(int(n_large) // 2)} → "
                f"{_docs(int(n_large))} docs)",
                f"growth ≤ {MEMORY_GROWTH_LIMIT:g}× while the archive doubles",
                f"{at_half:.0f} → {large_b['writer_peak_rss_mb']:.0f} MB ({growth:.2f}×)",
                _verdict(growth <= MEMORY_GROWTH_LIMIT),
            )
        )
        lines += [
            "",
            f"Documents of {config['sizes']['doc_words'][0]}-{config['sizes']['doc_words'][1]}"
            f" words; fingerprinted in {config['jobs']} worker processes in batches of "
            f"{BUILD_BATCH}, alternating with writing (wall docs/s includes generating the "
            "text). Peak writer RSS by tenth of the largest build: "
            + ", ".join(f"{rss:.0f}" for rss in by_tenth)
            + " MB."
            + (
                f" Reused: {'; '.join(cached_notes)} (`--rebuild` to rebuild)."
                if cached_notes
                else ""
            ),
            "",
        ]

    e2e = results.get("e2e", [])
    if e2e:
        lines += [
            "## End to end: `leakscan.build(index, [folder], jobs=N)`",
            "",
            "| files | jobs | docs/s | MB/s | added | errors | main peak RSS MB "
            "| worker peak RSS MB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for e in e2e:
            lines.append(
                f"| {e['files']} | {e['jobs']} | {e['docs_per_s']:.0f} | {e['mb_per_s']:.2f} "
                f"| {e['added']} | {e['errors']} | {e['peak_rss_mb']:.0f} "
                f"| {e['worker_peak_rss_mb']:.0f} |"
            )
        lines.append("")

    latency = results.get("latency", {})
    if latency:
        lines += [
            "## Scan latency: `Scanner(index).scan_text(text)`, one page-sized suspect",
            "",
            "| indexed docs | suspects | p50 ms | p90 ms | p99 ms | max ms "
            "| of which fingerprint p50 ms | excerpt recall | false-positive rate "
            "| peak RSS MB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, r in sorted(latency.items(), key=lambda kv: int(kv[0])):
            lines.append(
                f"| {_docs(int(n))} | {r['suspects']} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['fingerprint_p50_ms']:.2f} "
                f"| {r['recall']:.1%} | {r['false_positive_rate']:.1%} "
                f"| {r['peak_rss_mb']:.0f} |"
            )
        largest_n, largest = max(latency.items(), key=lambda kv: int(kv[0]))
        targets.append(
            (
                f"scan p99 at {_docs(int(largest_n))} documents",
                f"< {P99_TARGET_MS:g} ms",
                f"{largest['p99_ms']:.1f} ms",
                _verdict(largest["p99_ms"] < P99_TARGET_MS),
            )
        )
        smallest_n, smallest = min(latency.items(), key=lambda kv: int(kv[0]))
        targets.append(
            (
                f"scanner peak RSS ({_docs(int(smallest_n))} → {_docs(int(largest_n))} docs)",
                "(information)",
                f"{smallest['peak_rss_mb']:.0f} → {largest['peak_rss_mb']:.0f} MB",
                "—",
            )
        )
        lines += [
            "",
            "Half the suspects hold a 60-250 word excerpt (about 1 word in 40 changed) of an "
            "indexed document inside unrelated text, half are unrelated; the index is in the "
            "OS page cache (warm). The fingerprint column is a canary: if it is well "
            "above its usual value, the machine was busy and the tail is noisy.",
            "",
        ]

    export = results.get("export")
    if export:
        m = export["prepared"]
        lines += [
            "## Export scan: `Scanner(index, ScanOptions(jobs=N)).scan([export])`",
            "",
            f"A synthetic seized-device export (phone and laptop folders) of "
            f"{m['disk_bytes'] / 1e6:.0f} MB on disk in {m['files_on_disk']} files, "
            f"{m['items']} items once its archives are opened, scanned against an index of "
            f"{m['index_docs']:,} documents; {len(m['planted'])} items hold an excerpt of an "
            "indexed document. The export is read once before each run (warm page cache)"
            + (f"; reused from {m['built_at']} (`--rebuild` to remake it)." if m["cached"] else ".")
            + (
                " Scanned with an inventory (`scan --inventory`): "
                + ", ".join(
                    f"jobs {run['jobs']}: {run['inventory']['lines']} lines, "
                    f"{run['inventory']['bytes'] / 1e6:.1f} MB"
                    for run in export["runs"]
                    if run.get("inventory")
                )
                + "."
                if config.get("inventory")
                else ""
            ),
            "",
            "| items | count | MB (item bytes) | with an excerpt |",
            "|---|---:|---:|---:|",
        ]
        planted_by_kind: dict[str, int] = {}
        for item, _ in m["planted"]:
            name = item.lower()
            kind = (
                "WhatsApp chat"
                if name.endswith("txt") and "whatsapp chat with" in name
                else "text note"
                if name.endswith(".txt")
                else "DOCX"
                if name.endswith(".docx")
                else "PDF"
            )
            planted_by_kind[kind] = planted_by_kind.get(kind, 0) + 1
        for kind, counts in sorted(m["kinds"].items(), key=lambda kv: _kind_rank(kv[0])):
            extra = f" ({m['chat_messages']:,} messages)" if kind == "WhatsApp chat" else ""
            if kind == "PDF":
                extra = f" ({m['distinct_pdfs']} distinct, LibreOffice-made)"
            lines.append(
                f"| {kind}{extra} | {counts['items']} | {counts['bytes'] / 1e6:.1f} "
                f"| {planted_by_kind.get(kind, 0)} |"
            )
        lines += [
            "",
            "Containers: "
            + "; ".join(
                f"`{c['name'].rsplit('!', 1)[-1]}` ({c['kind']}, {c['members']} members, "
                f"{c['disk_bytes'] / 1e6:.1f} MB)"
                for c in m["containers"]
            )
            + ". The images are random bytes behind a JPEG header, skipped by type."
            + (f" **{m['pdf_note']}.**" if m["pdf_note"] else ""),
            "",
            "| jobs | items | scanned | skipped | errors | containers | chat messages "
            "| findings | excerpts found | s | items/s | scanned MB/s | disk MB/s "
            "| main CPU s | workers CPU s | other processes CPU s | expansion alone s "
            "| main peak RSS MB | worker peak RSS MB |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
            "|---:|---:|---:|",
        ]
        warnings: list[str] = []
        for r in export["runs"]:
            s = r["summary"]
            lines.append(
                f"| {r['jobs']} | {s['items']} | {s['scanned']} | {s['skipped']} "
                f"| {s['errors']} | {s['containers']} | {s['chat_messages']:,} "
                f"| {s['findings']} | {r['planted_found']}/{r['planted']} | {r['seconds']:.1f} "
                f"| {r['items_per_s']:.0f} | {r['scanned_mb_per_s']:.2f} "
                f"| {r['disk_mb_per_s']:.2f} | {r['main_cpu_seconds']:.1f} "
                f"| {r['workers_cpu_seconds']:.1f} | {_maybe(r['others_cpu_seconds'])} "
                f"| {r['expand_seconds']:.1f} "
                f"| {r['peak_rss_mb']:.0f} | {r['worker_peak_rss_mb']:.0f} |"
            )
            jobs = f"jobs {r['jobs']}"
            others = r["others_cpu_seconds"]
            if others is not None and others > 0.2 * r["seconds"]:
                warnings.append(
                    f"{jobs}: other processes used {others:.0f} CPU s during the "
                    f"{r['seconds']:.0f} s run: the machine was busy, the figures are low"
                )
            if s["items"] != s["scanned"] + s["skipped"] + s["errors"]:
                warnings.append(
                    f"{jobs}: items {s['items']} ≠ scanned + skipped + errors "
                    f"({s['scanned']} + {s['skipped']} + {s['errors']})"
                )
            if s["items"] != m["items"]:
                warnings.append(f"{jobs}: {s['items']} items, the export has {m['items']}")
            images = m["kinds"].get("JPEG-like image", {}).get("items", 0)
            if s["skipped"] != images:
                warnings.append(f"{jobs}: {s['skipped']} skipped, the export has {images} images")
            if s["errors"]:
                warnings.append(f"{jobs}: {s['errors']} errors, e.g. {'; '.join(r['errors'][:3])}")
            if s["chat_messages"] != m["chat_messages"]:
                warnings.append(
                    f"{jobs}: {s['chat_messages']} chat messages counted, the chat has "
                    f"{m['chat_messages']}"
                )
            if r["planted_found"] != r["planted"]:
                warnings.append(
                    f"{jobs}: {r['planted'] - r['planted_found']} planted excerpts not found, "
                    f"e.g. {'; '.join(r['planted_missed'][:3])}"
                )
            if r["unexpected"]:
                warnings.append(
                    f"{jobs}: {r['unexpected']} findings where none was planted, e.g. "
                    f"{'; '.join(r['unexpected_examples'][:3])}"
                )
        lines += [
            "",
            "Scanned MB/s counts the bytes of the items scanned (archive members "
            "uncompressed, images not included); disk MB/s the export's size on disk. "
            "CPU seconds: the main process (walk, archives opened in memory, chats parsed, "
            "items sent to the workers), the worker processes with the `pdftotext` they ran, "
            "and the rest of the machine (its busy time in `/proc/stat` less this run's: well "
            "above 0, someone else was using the cores). Expansion alone is the main "
            "process's share (`Expander.expand`) timed again on its own after the scan: it is "
            "serial, so more jobs cannot speed it up.",
            "",
        ]
        by_kind = next((r["by_kind"] for r in export["runs"] if r.get("by_kind")), {})
        if by_kind:
            lines += [
                "Where an item's time goes (after the jobs 1 run, items timed one by one in "
                f"the main process, up to {EXPORT_TIMED_PER_KIND} of each kind):",
                "",
                "| item | timed | KB/item | ms/item | read + type + extract ms "
                "| libmagic alone ms | fingerprint + match ms | MB/s |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for kind, t in sorted(by_kind.items(), key=lambda kv: _kind_rank(kv[0])):
                n = max(1, t["items"])
                lines.append(
                    f"| {kind} | {t['items']} | {t['bytes'] / n / 1e3:.1f} "
                    f"| {t['total'] / n * 1e3:.1f} | {t['load'] / n * 1e3:.1f} "
                    f"| {t['libmagic'] / n * 1e3:.1f} "
                    f"| {max(0.0, t['total'] - t['load']) / n * 1e3:.1f} "
                    f"| {t['bytes'] / 1e6 / t['total'] if t['total'] else 0:.2f} |"
                )
            lines.append("")
        if warnings:
            lines += ["**Warnings:**", ""] + [f"- **{w}**" for w in warnings] + [""]
        else:
            lines += [
                "Checks passed: items = scanned + skipped + errors, every item, image and chat "
                "message counted, no errors, every planted excerpt found, nothing else found.",
                "",
            ]
        best = max(export["runs"], key=lambda r: r["jobs"])
        targets.append(
            (
                f"export scan, jobs {best['jobs']}",
                "(information)",
                f"{best['items_per_s']:.0f} items/s, {best['scanned_mb_per_s']:.2f} MB/s scanned, "
                f"{best['disk_mb_per_s']:.2f} MB/s on disk",
                "—" if not warnings else "**check warnings**",
            )
        )

    if targets:
        lines += ["## Targets", "", "| target | wanted | measured | result |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets]
        lines.append("")
        if config["mode"] == "quick" and builds:
            lines += [
                "Quick indexes are smaller than SQLite's page cache, so the writer's memory "
                "still grows with them: judge boundedness on a full run.",
                "",
            ]
    return "\n".join(lines)


# -- command line ---------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Benchmark leakscan on synthetic text: fingerprinting throughput (vs the simhash "
            "package), index build rate and size, scan latency at two index sizes, peak memory, "
            "scan throughput on a synthetic seized-device export."
        ),
        epilog="Results: benchmarks/results/latest.md (git-ignored).",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    parser.add_argument(
        "--phases",
        default="fingerprint,build,e2e,latency,export",
        help="comma-separated subset of: fingerprint, build, e2e, latency, export (default: all)",
    )
    parser.add_argument(
        "--lang", choices=("en", "ur"), default="en", help="language of the synthetic archive"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--vocab", type=int, default=5000, help="invented words (default 5000)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2,
        help="worker processes for building (default: usable cores)",
    )
    parser.add_argument(
        "--commit-every",
        type=int,
        default=DEFAULT_COMMIT_EVERY,
        help=f"documents per index commit (default {DEFAULT_COMMIT_EVERY}, as leakscan.build)",
    )
    parser.add_argument(
        "--docs", help="comma-separated index sizes (default 10000,100000; quick 1000,5000)"
    )
    parser.add_argument("--suspects", type=int, help="suspects scanned per index size")
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild cached indexes instead of reusing them"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run each phase under cProfile; writes results/profile-<phase>.txt",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=BENCH_DIR / "results",
        help="folder for cached indexes and profiles (default benchmarks/results)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        help="Markdown report to write, raw JSON beside it (default RESULTS/latest.md)",
    )
    parser.add_argument(
        "--inventory",
        action="store_true",
        help="scan the export with an inventory (as `scan --inventory`), to measure its cost",
    )
    parser.add_argument("--run-phase", help=argparse.SUPPRESS)
    parser.add_argument("--phase-args", help=argparse.SUPPRESS)
    parser.add_argument("--phase-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    if options.run_phase:
        run_phase_here(options.run_phase, json.loads(options.phase_args), options.phase_out)
        return 0
    sizes = QUICK if options.quick else FULL
    if options.docs:
        sizes = dataclasses.replace(
            sizes, index_docs=tuple(int(n) for n in options.docs.split(","))
        )
    if options.suspects:
        sizes = dataclasses.replace(sizes, suspects=options.suspects)
    phases = [p.strip() for p in options.phases.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phases: {', '.join(sorted(unknown))}")
    options.results.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "mode": "quick" if options.quick else "full",
        "sizes": dataclasses.asdict(sizes),
        "lang": options.lang,
        "seed": options.seed,
        "vocab": options.vocab,
        "jobs": options.jobs,
        "commit_every": options.commit_every,
        "rebuild": options.rebuild,
        "profile": options.profile,
        "inventory": options.inventory,
        "results": str(options.results.resolve()),
    }
    results: dict[str, Any] = {"machine": machine(), "config": config}
    started = time.perf_counter()
    if "fingerprint" in phases:
        results["fingerprint"] = run_phase("fingerprint", config)
    spec = CorpusSpec(options.lang, options.seed, options.vocab)
    paths = {
        n: str(index_path(options.results, spec, n, sizes.doc_words)) for n in sizes.index_docs
    }
    if "build" in phases or "latency" in phases:
        results["build"] = {}
        for n in sizes.index_docs:
            results["build"][str(n)] = run_phase(
                "build", {**config, "n_docs": n, "index_path": paths[n], "label": f"build-{n}"}
            )
    if "e2e" in phases:
        results["e2e"] = [
            run_phase("e2e", {**config, "jobs": jobs, "label": f"e2e-jobs{jobs}"})
            for jobs in sorted({1, options.jobs})
        ]
    if "latency" in phases:
        if hasattr(os, "sync"):
            os.sync()  # earlier phases' writes, flushed now, would disturb the tail latencies
        results["latency"] = {
            str(n): run_phase(
                "latency",
                {**config, "n_docs": n, "index_path": paths[n], "label": f"latency-{n}"},
            )
            for n in sizes.index_docs
        }
    if "export" in phases:
        spec_args = {**config, "export_dir": str(export_dir(options.results, spec, sizes))}
        results["export"] = {
            "prepared": run_phase("export-prepare", {**spec_args, "label": "export-prepare"}),
            "runs": [
                run_phase(
                    "export",
                    {
                        **spec_args,
                        "jobs": jobs,
                        "per_kind": EXPORT_TIMED_PER_KIND if jobs == 1 else 0,
                        "label": f"export-jobs{jobs}",
                    },
                )
                for jobs in sorted({1, 2, options.jobs})
            ],
        }
    report = render_report(results, config)
    report += f"\nTotal benchmark time: {time.perf_counter() - started:.0f} s.\n"
    print(report)
    report_path = options.report or options.results / "latest.md"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(report)
    report_path.with_suffix(".json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
