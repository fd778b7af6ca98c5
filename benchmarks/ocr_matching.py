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
import random
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakscan.fingerprint import Scheme
from leakscan.index import Index
from leakscan.match import Matcher
from leakscan.normalize import normalize_text
from tests.ocr_pages import DEGRADATIONS, LANGUAGE, degrade, ocr, render_page
from tests.texts import prose, urdu_document, urdu_prose, urdu_vocabulary

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
        for k, w in ((4, 12), (5, 8), (5, 12), (6, 8), (6, 12), (7, 8), (7, 12), (7, 16), (8, 8))
    ),
    Variant("short letters k=7 w=12, winnowed query", Scheme(short_k=7, short_w=12), False),
]


@dataclass(frozen=True)
class Corpus:
    name: str
    faces: tuple[str, ...]
    make: Callable[[int], str]


def corpora(words: int) -> list[Corpus]:
    vocab = urdu_vocabulary()
    return [
        Corpus(
            "Urdu, Zipf vocabulary", ("nastaliq", "naskh"), lambda s: urdu_document(s, words, vocab)
        ),
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


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row of the table at a time in numpy."""
    if not a or not b:
        return max(len(a), len(b))
    bs = np.array([ord(c) for c in b])
    steps = np.arange(len(b) + 1)
    row = steps.copy()
    for i, char in enumerate(a, start=1):
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[1:] + 1, row[:-1] + (bs != ord(char)))
        # an insertion chain: best[j] = min over k <= j of best[k] + (j - k)
        row = np.minimum.accumulate(best - steps) + steps
    return int(row[-1])


SIMULATED = (0.03, 0.05, 0.10)


def misread_words(text: str, share: float, seed: int) -> str:
    """Damage a share of the words as OCR does: a letter misread or lost, a word split,
    two words run together (our rendered English comes through tesseract intact)."""
    rng = random.Random(seed)
    words = text.split()
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        word = words[i]
        cut = rng.randrange(1, max(2, len(word)))
        kind = rng.randrange(4)
        if kind == 0:
            words[i] = word[: cut - 1] + rng.choice("ilcoe1") + word[cut:]
        elif kind == 1:
            words[i] = word[: cut - 1] + word[cut:]
        elif kind == 2:
            words[i] = word[:cut] + " " + word[cut:]
        elif i + 1 < len(words):
            words[i], words[i + 1] = word + words[i + 1], ""
    return " ".join(w for w in words if w)


def _runs(text: str, k: int) -> set[str]:
    return {text[i : i + k] for i in range(len(text) - k + 1)}


def damage(corpus: Corpus, pages: list[Page]) -> None:
    """How much OCR damaged the text: letter error rate, surviving 5-letter runs and words."""
    runs = " | ".join(f"{k}-letter runs intact" for k in (5, 7, 12))
    print(f"| page | letter error rate | {runs} | words intact |")
    print("|---|---|---|---|---|---|")
    cells: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    for page in pages:
        source = normalize_text(corpus.make(page.seed))
        read = normalize_text(page.text)
        a, b = source.replace(" ", ""), read.replace(" ", "")
        runs = [len(_runs(a, k) & _runs(b, k)) / max(1, len(_runs(a, k))) for k in (5, 7, 12)]
        words = len(set(source.split()) & set(read.split())) / max(1, len(set(source.split())))
        rate = _edit_distance(a, b) / max(1, len(a))
        cells.setdefault((page.face, page.how), []).append((rate, *runs, words))
    for (face, how), values in cells.items():
        means = [statistics.mean(v[i] for v in values) for i in range(5)]
        print(f"| {face} {how} | " + " | ".join(f"{m:.0%}" for m in means) + " |")
    print()


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
        if page.seed in sources and page.how in DEGRADATIONS:
            half = page.text[: page.text.find(" ", len(page.text) // 2)]
            half_matches = matcher.match(
                index.fingerprinter.fingerprint(half, ocr=variant.ocr_query)
            )
            mine = [m for m in half_matches if m.content.paths == (f"doc-{page.seed}",)]
            recall.setdefault((page.face, "half page"), Tally()).add(
                bool(mine) and mine[0].score >= MIN_SCORE,
                mine[0].score if mine else 0.0,
                mine[0].containment if mine else 0.0,
            )
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
    parser.add_argument(
        "--only", default="", help="run only variants whose name has one of these (comma-separated)"
    )
    parser.add_argument("--corpus", default="", help="run only corpora whose name has this")
    args = parser.parse_args()
    n = 4 if args.quick else 12
    sources = list(range(1000, 1000 + n))
    unrelated = list(range(2000, 2000 + n))
    distractors = list(range(3000, 3000 + args.distractors))
    typed_unrelated = list(range(5000, 5000 + 100))
    for corpus in corpora(args.words):
        if args.corpus not in corpus.name:
            continue
        started = time.perf_counter()
        pages = ocr_pages(corpus, sources + unrelated, args.jobs)
        took = time.perf_counter() - started
        print(f"\n## {corpus.name}: {len(pages)} OCR'd pages ({took:.0f} s)\n")
        damage(corpus, pages)
        simulated = []
        if corpus.faces == ("english",):
            for share in SIMULATED:
                simulated += [
                    Page(
                        seed,
                        "english",
                        f"{share:.0%} words misread",
                        misread_words(corpus.make(seed), share, seed),
                    )
                    for seed in sources
                ]
        pages += simulated
        columns = [(face, how) for face in corpus.faces for how in (*DEGRADATIONS, "half page")]
        columns += list(dict.fromkeys((p.face, p.how) for p in simulated))
        print(
            "| scheme | "
            + " | ".join(f"{face} {how}" for face, how in columns)
            + " | OCR false positives | typed false positives"
            + " | false positives, 1-document indexes | fingerprints/doc | ms/page |"
        )
        print("|---" * (len(columns) + 6) + "|")
        for variant in VARIANTS:
            if not any(part in variant.name for part in args.only.split(",")):
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
