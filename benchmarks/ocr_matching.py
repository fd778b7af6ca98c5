"""Matching OCR'd pages to their typed source: recall and false positives per scheme.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/ocr_matching.py            # full run (~15 min the first time)
    .venv/bin/python benchmarks/ocr_matching.py --quick    # fewer pages

Pages of our own generated text (pseudo-Urdu with a Zipf-like vocabulary,
the tests' small-vocabulary Urdu, pseudo-English) are rendered in Noto
Nastaliq Urdu, Noto Naskh Arabic and Noto Serif, degraded (clean, rotated
1.5 degrees, blurred, downscaled to JPEG quality 30) and read by tesseract
(``urd`` / ``eng``, one thread per process, ``--jobs`` processes). OCR output
is cached in ``benchmarks/results/ocr-cache`` by image and language, so a
rerun only re-matches.

For each candidate scheme, an in-memory index holds the typed sources and
``--distractors`` other documents of the same language; then

* recall: an OCR'd page of a source is found (score >= 0.5, the scan's
  default) and how much of the source its passages cover (containment);
* OCR false positives: OCR'd pages of documents that are not in the index,
  against every indexed document (a finding at all is a false positive);
* typed false positives: typed unrelated documents against the same index
  (the scheme must not make typed Urdu noisier).

Results are printed as Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakscan.fingerprint import Scheme  # noqa: E402
from leakscan.index import Index  # noqa: E402
from leakscan.match import Matcher  # noqa: E402
from tests.ocr_pages import DEGRADATIONS, LANGUAGE, degrade, ocr, render_page  # noqa: E402
from tests.texts import prose, urdu_document, urdu_prose, urdu_vocabulary  # noqa: E402

CACHE = Path(__file__).resolve().parent / "results" / "ocr-cache"
KEY = bytes(range(32))
MIN_SCORE = 0.5
#: One-document indexes each unrelated page (and 20 typed documents) is checked against.
LONE_INDEXES = 10


@dataclass(frozen=True)
class Variant:
    """A candidate: the index's scheme, and whether OCR'd queries keep every shingle."""

    name: str
    scheme: Scheme
    ocr_query: bool


VARIANTS = [
    Variant("scheme 1, winnowed query (before)", Scheme.version_1(), False),
    Variant("scheme 1, every shingle of OCR'd query", Scheme.version_1(), True),
    *(
        Variant(f"short letters k={k} w={w}, every shingle", Scheme(short_k=k, short_w=w), True)
        for k, w in ((4, 12), (5, 8), (5, 12), (5, 16), (6, 12), (7, 12))
    ),
    Variant("short letters k=5 w=12, winnowed query", Scheme(short_k=5, short_w=12), False),
]


@dataclass(frozen=True)
class Corpus:
    name: str
    faces: tuple[str, ...]
    make: Callable[[int], str]


def corpora(words: int) -> list[Corpus]:
    vocab = urdu_vocabulary()
    return [
        Corpus("Urdu, Zipf vocabulary", ("nastaliq", "naskh"), lambda s: urdu_document(s, words, vocab)),
        Corpus("Urdu, 140-word vocabulary", ("nastaliq",), lambda s: urdu_prose(s, words)),
        Corpus("English", ("english",), lambda s: prose(s, words)),
    ]


@dataclass
class Page:
    seed: int
    face: str
    how: str
    text: str


def ocr_pages(corpus: Corpus, seeds: list[int], jobs: int) -> list[Page]:
    todo = [(seed, face, how) for seed in seeds for face in corpus.faces for how in DEGRADATIONS]

    def read(job: tuple[int, str, str]) -> Page:
        seed, face, how = job
        image = degrade(render_page(corpus.make(seed), face), how)
        return Page(seed, face, how, ocr(image, LANGUAGE[face], CACHE))

    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(read, todo))


@dataclass
class Tally:
    """Pages found, and the mean score and containment of the right source's match."""

    found: int = 0
    pages: int = 0
    score: float = 0.0
    containment: float = 0.0

    def add(self, found: bool, score: float, containment: float) -> None:
        self.pages += 1
        self.found += found
        self.score += score
        self.containment += containment

    def cell(self) -> str:
        n = max(1, self.pages)
        return f"{self.found}/{self.pages} · {self.score / n:.2f} · {self.containment / n:.0%}"


def evaluate(
    corpus: Corpus,
    variant: Variant,
    sources: list[int],
    distractors: list[int],
    pages: list[Page],
    typed_unrelated: list[int],
) -> dict[str, object]:
    index = Index.open("memory://", create=True, key=KEY, scheme=variant.scheme)
    fingerprints = 0
    for seed in [*sources, *distractors]:
        text = corpus.make(seed)
        fingerprints += len(index.fingerprinter.fingerprint(text))
        index.add_text(text, path=f"doc-{seed}")
    matcher = Matcher(index)
    recall: dict[tuple[str, str], Tally] = {}
    ocr_fp = ocr_fp_pages = 0
    wrong_in_recall = 0
    times = []
    top_false = 0.0
    for page in pages:
        started = time.perf_counter()
        fp = index.fingerprinter.fingerprint(page.text, ocr=variant.ocr_query)
        matches = [m for m in matcher.match(fp) if m.score >= MIN_SCORE]
        times.append(time.perf_counter() - started)
        every = matcher.match(fp)
        if page.seed in sources:
            right = [m for m in matches if m.content.paths == (f"doc-{page.seed}",)]
            wrong_in_recall += len(matches) - len(right)
            tally = recall.setdefault((page.face, page.how), Tally())
            best = [m for m in every if m.content.paths == (f"doc-{page.seed}",)]
            tally.add(
                bool(right),
                best[0].score if best else 0.0,
                best[0].containment if best else 0.0,
            )
        else:
            ocr_fp_pages += 1
            ocr_fp += len(matches)
            top_false = max([top_false, *(m.score for m in every)])
    typed_fp = 0
    for seed in typed_unrelated:
        fp = index.fingerprinter.fingerprint(corpus.make(seed))
        typed_fp += sum(m.score >= MIN_SCORE for m in matcher.match(fp))
    # One-document indexes: nothing counts as common there, so every chance hit is evidence.
    lone_fp = lone_pairs = 0
    lone_top = 0.0
    unrelated_pages = [p for p in pages if p.seed not in sources]
    for seed in distractors[:LONE_INDEXES]:
        lone = Index.open("memory://", create=True, key=KEY, scheme=variant.scheme)
        lone.add_text(corpus.make(seed), path=f"doc-{seed}")
        lone_matcher = Matcher(lone)
        for page in unrelated_pages:
            fp = lone.fingerprinter.fingerprint(page.text, ocr=variant.ocr_query)
            scores = [m.score for m in lone_matcher.match(fp)]
            lone_pairs += 1
            lone_fp += sum(score >= MIN_SCORE for score in scores)
            lone_top = max([lone_top, *scores])
        for other in typed_unrelated[:20]:
            fp = lone.fingerprinter.fingerprint(corpus.make(other))
            scores = [m.score for m in lone_matcher.match(fp)]
            lone_pairs += 1
            lone_fp += sum(score >= MIN_SCORE for score in scores)
            lone_top = max([lone_top, *scores])
    indexed = len(sources) + len(distractors)
    return {
        "recall": recall,
        "ocr_fp": f"{ocr_fp} in {ocr_fp_pages * indexed:,} pairs (top {top_false:.2f})",
        "lone_fp": f"{lone_fp} in {lone_pairs:,} (top {lone_top:.2f})",
        "wrong": wrong_in_recall,
        "typed_fp": f"{typed_fp} in {len(typed_unrelated) * indexed:,} pairs",
        "fingerprints": fingerprints / indexed,
        "ms": 1000 * statistics.mean(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 sources, 4 unrelated pages")
    parser.add_argument("--jobs", type=int, default=2, help="tesseract processes at once")
    parser.add_argument("--distractors", type=int, default=300)
    parser.add_argument("--words", type=int, default=220, help="words per page")
    parser.add_argument("--only", default="", help="run only variants whose name has this")
    args = parser.parse_args()
    n = 4 if args.quick else 12
    sources = list(range(1000, 1000 + n))
    unrelated = list(range(2000, 2000 + n))
    distractors = list(range(3000, 3000 + args.distractors))
    typed_unrelated = list(range(5000, 5000 + 100))
    for corpus in corpora(args.words):
        started = time.perf_counter()
        pages = ocr_pages(corpus, sources + unrelated, args.jobs)
        print(f"\n## {corpus.name}: {len(pages)} OCR'd pages ({time.perf_counter() - started:.0f} s)\n")
        columns = [(face, how) for face in corpus.faces for how in DEGRADATIONS]
        print(
            "| scheme | "
            + " | ".join(f"{face} {how}" for face, how in columns)
            + " | OCR false positives | typed false positives"
            + " | false positives, 1-document indexes | fingerprints/doc | ms/page |"
        )
        print("|---" * (len(columns) + 6) + "|")
        for variant in VARIANTS:
            if args.only not in variant.name:
                continue
            result = evaluate(corpus, variant, sources, distractors, pages, typed_unrelated)
            recall = result["recall"]
            assert isinstance(recall, dict)
            cells = [recall[c].cell() if c in recall else "-" for c in columns]
            wrong = f" (+{result['wrong']} wrong)" if result["wrong"] else ""
            print(
                f"| {variant.name}{wrong} | "
                + " | ".join(cells)
                + f" | {result['ocr_fp']} | {result['typed_fp']} | {result['lone_fp']} | "
                f"{result['fingerprints']:.0f} | {result['ms']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
