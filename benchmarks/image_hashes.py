"""Perceptual hashes of pictures: recall per transformation, false positives, lookup speed.

Run by hand, never by the test suite::

    .venv/bin/python benchmarks/image_hashes.py                # 300 + 300 pictures
    .venv/bin/python benchmarks/image_hashes.py --pictures 60  # a quick look
    .venv/bin/python benchmarks/image_hashes.py --lookup 20000 --lookup 200000  # and speed

Every picture is drawn by ``tests/image_factories.py`` (no download): an
*archive* of N pictures (terrain noise, gradients with shapes, street maps,
diagrams, site photos; the families in turn) and N *unrelated* pictures of
the same families from other seeds. Each archive picture is hashed as
``index build`` hashes it (views ``full``, ``trim``, ``inner``); each
transformed copy as ``scan`` hashes it (those views and the framed regions
of a screenshot), and a copy counts as found when one pair of views is
within the thresholds on both hashes (pHash and dHash), the rule
:mod:`leakscan.imagescan` applies.

False positives are counted two ways: *pairs* (an unrelated picture, or a
copy, matched to an archive picture it is not a copy of, over all pairs)
and *queries* (unrelated pictures matched to anything in the archive). The
unrelated queries are hashed as suspects (with regions), in their original
form and screenshotted, since unrelated screenshots are what a phone is full
of. A table of rules (thresholds) is printed so the choice can be checked.

``--lookup N`` fills a SQLite index with N synthetic pictures' hashes
(the measured archive plus random ones) and times look-ups through the real
index code: candidates per look-up and milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from leakscan.images import PictureHashes, hash_picture  # noqa: E402
from leakscan.imagescan import MAX_DHASH, MAX_PHASH  # noqa: E402
from tests import image_factories as factories  # noqa: E402

#: (max pHash, max dHash) pairs measured; the looser ones show the margin of the chosen one,
#: and 64 (any distance) one hash alone.
RULES = [(p, d) for p in (6, 8, 10) for d in (8, 10, 12, 14)] + [
    (12, 16),
    (14, 18),
    (16, 20),
    (10, 64),
    (14, 64),
    (64, 12),
    (64, 16),
]


def _arrays(hashes: list[PictureHashes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pHash, dHash of every view (uint64) and the picture each belongs to."""
    p, d, owner = [], [], []
    for number, picture in enumerate(hashes):
        for view in picture.views:
            p.append(view.hashes["phash"])
            d.append(view.hashes["dhash"])
            owner.append(number)
    return np.array(p, dtype=np.uint64), np.array(d, dtype=np.uint64), np.array(owner)


def _distances(
    query: PictureHashes, archive: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """For each query view × archive view: pHash and dHash distances."""
    a_p, a_d, _ = archive
    q_p = np.array([v.hashes["phash"] for v in query.views], dtype=np.uint64)
    q_d = np.array([v.hashes["dhash"] for v in query.views], dtype=np.uint64)
    return (
        np.bitwise_count(q_p[:, None] ^ a_p[None, :]),
        np.bitwise_count(q_d[:, None] ^ a_d[None, :]),
    )


def _matched(
    query: PictureHashes,
    archive: tuple[np.ndarray, np.ndarray, np.ndarray],
    n: int,
    closest: list[tuple[int, int]] | None = None,
) -> dict[tuple[int, int], np.ndarray]:
    """For each rule, which archive pictures the query matches (boolean per picture);
    ``closest`` gathers the query's closest pair of views (pHash + dHash) when given."""
    p, d = _distances(query, archive)
    owner = archive[2]
    if closest is not None and p.size:
        at = np.unravel_index(np.argmin(p + d), p.shape)
        closest.append((int(p[at]), int(d[at])))
    result = {}
    for rule in RULES:
        ok = ((p <= rule[0]) & (d <= rule[1])).any(axis=0)
        hit = np.zeros(n, dtype=bool)
        hit[owner[ok]] = True
        result[rule] = hit
    return result


def _hash(image: object, suspect: bool) -> tuple[PictureHashes, float]:
    data = factories.encode(image, "PNG")  # type: ignore[arg-type]
    started = time.perf_counter()
    hashed = hash_picture(data, suspect=suspect)
    return hashed, time.perf_counter() - started


def measure(count: int) -> None:
    started = time.monotonic()
    archive_pictures = factories.corpus(count, 0)
    unrelated_pictures = factories.corpus(count, 50_000)
    print(f"made {2 * count} pictures in {time.monotonic() - started:.0f} s", file=sys.stderr)
    index_times: list[float] = []
    archive = []
    for _, image in archive_pictures:
        hashed, seconds = _hash(image, suspect=False)
        archive.append(hashed)
        index_times.append(seconds)
    arrays = _arrays(archive)
    views_per_picture = len(arrays[0]) / count
    recall: dict[str, dict[tuple[int, int], float]] = {}
    wrong_pairs = {rule: 0 for rule in RULES}
    copy_pairs = 0
    scan_times: list[float] = []
    for name in factories.TRANSFORMS:
        found = {rule: 0 for rule in RULES}
        for number, (_, image) in enumerate(archive_pictures):
            copy = factories.transform(image, name, number)
            hashed, seconds = _hash(copy, suspect=True)
            scan_times.append(seconds)
            matched = _matched(hashed, arrays, count)
            for rule in RULES:
                found[rule] += bool(matched[rule][number])
                wrong_pairs[rule] += int(matched[rule].sum() - matched[rule][number])
            copy_pairs += count - 1
        recall[name] = {rule: found[rule] / count for rule in RULES}
        print(f"{name}: done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    false_queries = {rule: 0 for rule in RULES}
    false_pairs = {rule: 0 for rule in RULES}
    queries = 0
    closest: list[tuple[int, int]] = []
    for number, (_, image) in enumerate(unrelated_pictures):
        for form in (image, factories.screenshot(image, np.random.default_rng(number))):
            hashed, seconds = _hash(form, suspect=True)
            scan_times.append(seconds)
            matched = _matched(hashed, arrays, count, closest)
            queries += 1
            for rule in RULES:
                false_queries[rule] += bool(matched[rule].any())
                false_pairs[rule] += int(matched[rule].sum())
    print(f"unrelated: done ({time.monotonic() - started:.0f} s)", file=sys.stderr)

    chosen = (MAX_PHASH, MAX_DHASH)
    print(f"\n## Pictures: {count} archive, {count} unrelated (x2: as is and screenshotted)\n")
    print(
        f"Hashing: index side {statistics.median(index_times) * 1000:.0f} ms per picture "
        f"({views_per_picture:.1f} views), scan side (with screenshot regions) "
        f"{statistics.median(scan_times) * 1000:.0f} ms median, "
        f"{max(scan_times) * 1000:.0f} ms max.\n"
    )
    print(f"### Recall per transformation at pHash <= {chosen[0]} and dHash <= {chosen[1]}\n")
    print("| transformation | recall |\n|---|---|")
    for name, by_rule in recall.items():
        print(f"| {name} | {by_rule[chosen]:.3f} |")
    total_pairs = queries * count
    print(
        f"\nFalse positives: unrelated queries matched {false_queries[chosen]} of {queries} "
        f"({false_queries[chosen] / queries:.4f}); pairs {false_pairs[chosen]} of {total_pairs} "
        f"({false_pairs[chosen] / total_pairs:.2e}); copies matched to a wrong archive "
        f"picture: {wrong_pairs[chosen]} of {copy_pairs} pairs.\n"
    )
    nearest = sorted(closest, key=sum)[:5]
    print(
        "Closest unrelated pairs of views (pHash, dHash): "
        + ", ".join(f"({p}, {d})" for p, d in nearest)
        + f"; median {statistics.median(p for p, _ in closest):.0f} and "
        f"{statistics.median(d for _, d in closest):.0f} bits.\n"
    )
    print("### Every rule measured\n")
    header = " | ".join(factories.TRANSFORMS)
    print(f"| pHash | dHash | {header} | FP queries | FP pairs | wrong copies |")
    print("|---" * (len(factories.TRANSFORMS) + 5) + "|")
    for rule in RULES:
        cells = " | ".join(f"{recall[name][rule]:.2f}" for name in factories.TRANSFORMS)
        print(
            f"| {rule[0]} | {rule[1]} | {cells} | {false_queries[rule]} | "
            f"{false_pairs[rule]} | {wrong_pairs[rule]} |"
        )


_FILLER_VIEWS = ("full", "trim", "inner", "inner-nw", "inner-ne", "inner-sw")
HASHES = ("phash", "dhash")


def lookup_speed(total: int, count: int) -> None:
    """Time look-ups in a SQLite index of ``total`` pictures' hashes."""
    from leakscan.images import View
    from leakscan.imagescan import PictureIndex
    from leakscan.index import Index

    rng = random.Random(7)
    archive_pictures = factories.corpus(count, 0)
    real = [_hash(image, suspect=False)[0] for _, image in archive_pictures]
    with tempfile.TemporaryDirectory() as folder:
        index = Index.create(Path(folder) / "index.sqlite")
        started = time.perf_counter()
        with index.writing():
            pictures = PictureIndex(index)
            for number in range(total):
                if number < len(real):
                    hashed = real[number]
                else:  # a random picture: as many views as an archive picture, hashes at random
                    views = tuple(
                        View(name, (0, 0, 1, 1), {k: rng.getrandbits(64) for k in HASHES})
                        for name in _FILLER_VIEWS
                    )
                    hashed = PictureHashes((1, 1), views)
                content = index.add_hashes(
                    np.zeros(0, dtype=np.uint64),
                    np.zeros(0, dtype=np.int64),
                    0,
                    0,
                    path=f"pictures/{number}.png",
                    sha256=f"{number:064x}",
                )
                document = index.backend.find_document("", f"pictures/{number}.png")
                assert document is not None and content
                pictures.add(document.content_id, hashed)
        print(f"stored {total} pictures in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        index.close()
        reader = Index.open(Path(folder) / "index.sqlite", readonly=True)
        pictures = PictureIndex(reader)
        times, candidates = [], []
        for number, (_, image) in enumerate(archive_pictures[:100]):
            copy = factories.transform(image, "screenshot", number)
            hashed = _hash(copy, suspect=True)[0]
            began = time.perf_counter()
            result = pictures.lookup(hashed)
            times.append(time.perf_counter() - began)
            candidates.append(pictures.last_candidates)
            del result
        reader.close()
    print(
        f"\n### Look-up in a SQLite index of {total} pictures "
        f"({len(_FILLER_VIEWS)} views each, {count} real and the rest random)\n"
    )
    print(
        f"{statistics.median(times) * 1000:.1f} ms median per suspect picture "
        f"({max(times) * 1000:.1f} ms max), {statistics.median(candidates):.0f} candidate "
        f"views checked (median, {max(candidates)} max)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pictures", type=int, default=300, help="archive (and unrelated) size")
    parser.add_argument(
        "--lookup", type=int, action="append", default=[], help="also time look-ups in N pictures"
    )
    parser.add_argument("--no-recall", action="store_true", help="only the look-up timing")
    args = parser.parse_args()
    if not args.no_recall:
        measure(args.pictures)
    for total in args.lookup:
        lookup_speed(total, min(args.pictures, 100))


if __name__ == "__main__":
    main()
