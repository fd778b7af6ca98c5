"""Short leaks and hard negatives: recall by excerpt length, false alarms, calibration.

Run by hand: ``.venv/bin/python benchmarks/scores.py`` (a few minutes; ``--quick``
for seconds). An archive of generated memos (English and Urdu: real function
words, invented content words, a letterhead per department and stock
sentences shared across memos, plus public notices some memos quote) is
indexed; then

* **positives**: an excerpt of 8, 12, 16, 24, 32 or 64 words of one memo's
  body, inside an unrelated chat-like text: found when a finding names that
  memo at the default ``--min-score``;
* **hard negatives**: unrelated text carrying a department's letterhead,
  stock sentences, a quoted public sentence, or one of those repeated; and
  the same against archives of two and three memos: any finding is a false alarm.

Every finding's score (at ``--min-score 0``) goes into the calibration table:
per score band, the share of findings that name a memo the suspect really
copies. Writes ``benchmarks/results/scores.md``.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakscan import Index, Scanner, ScanOptions

EN_FUNCTION = (
    "the of to and in is for on with that by at from as be are this it an or was will "
    "has have not which all any their its been shall may under".split()
)
UR_FUNCTION = "کے کی میں ہے اور سے کو کا نے پر یہ وہ تھا گیا ہیں بھی کہ جو".split()
UR_LETTERS = "ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنوہیے"
STOCK_EN = [
    "The undersigned is directed to refer to the subject noted above and to state as under.",
    "This letter is issued with the approval of the competent authority.",
    "Kindly acknowledge receipt of this letter at the earliest.",
    "The matter may be treated as most urgent and placed before the committee.",
    "All concerned are requested to ensure compliance in accordance with the rules in force.",
    "For official use only and not to be shared outside the department.",
]
STOCK_UR = [
    "زیر دستخطی کو ہدایت کی گئی ہے کہ مندرجہ بالا موضوع کے حوالے سے آپ کو مطلع کیا جائے",
    "یہ خط مجاز اتھارٹی کی منظوری سے جاری کیا جاتا ہے",
    "براہ کرم اس خط کی وصولی کی اطلاع جلد از جلد دیں",
]
LENGTHS = (8, 12, 16, 24, 32, 64)


class Writer:
    """Sentences of real function words and invented content words, Zipf-distributed."""

    def __init__(self, rng: random.Random, urdu: bool, vocabulary: int = 6000) -> None:
        self.rng, self.urdu = rng, urdu
        self.words = [self._invent() for _ in range(vocabulary)]
        self.weights = [1 / (rank + 1) for rank in range(vocabulary)]

    def _invent(self) -> str:
        if self.urdu:
            return "".join(self.rng.choice(UR_LETTERS) for _ in range(self.rng.randint(3, 6)))
        syllables = ["ka", "ro", "mi", "ten", "lo", "sar", "vin", "de", "tu", "pel", "gor", "an"]
        return "".join(self.rng.choice(syllables) for _ in range(self.rng.randint(2, 4)))

    def sentence(self) -> str:
        function = UR_FUNCTION if self.urdu else EN_FUNCTION
        words = []
        for _ in range(self.rng.randint(10, 20)):
            if self.rng.random() < 0.45:
                words.append(self.rng.choice(function))
            else:
                words.append(self.rng.choices(self.words, self.weights)[0])
        return " ".join(words) + ("۔" if self.urdu else ".")

    def text(self, words: int) -> str:
        out: list[str] = []
        while sum(len(s.split()) for s in out) < words:
            out.append(self.sentence())
        return " ".join(out)


def memo(writer: Writer, rng: random.Random, letterhead: str, body_words: int) -> tuple[str, str]:
    stock = STOCK_UR if writer.urdu else STOCK_EN
    body = writer.text(body_words)
    text = "\n\n".join([letterhead, rng.choice(stock), body, rng.choice(stock)])
    return text, body


def run(args: argparse.Namespace) -> str:
    rng = random.Random(args.seed)
    english, urdu = Writer(rng, False), Writer(rng, True)
    letterheads = [
        f"Directorate of {english.words[i]} {english.words[i + 1]}, Block {i}, Port Zelmar. "
        "Restricted."
        for i in range(5)
    ] + [f"ڈائریکٹوریٹ {urdu.words[i]} {urdu.words[i + 1]} بلاک {i}" for i in range(3)]
    public = [english.sentence() + " " + english.sentence() for _ in range(5)]
    bodies: dict[str, str] = {}
    started = time.perf_counter()
    index = Index.open("memory://", create=True, key=secrets.token_bytes(32))
    for n in range(args.documents):
        is_urdu = n % 4 == 3
        writer = urdu if is_urdu else english
        letterhead = letterheads[5 + n % 3] if is_urdu else letterheads[n % 5]
        text, body = memo(writer, rng, letterhead, args.words)
        if not is_urdu and n % 10 == 0:
            text += "\n\n" + rng.choice(public)  # memos quote public notices too
        path = f"{'ur' if is_urdu else 'en'}/{n:05d}.txt"
        index.add_text(text, path=path)
        bodies[path] = body
    for n, notice in enumerate(public):
        index.add_text(notice, path=f"public/{n}.txt", public=True)
    built = time.perf_counter() - started
    default = Scanner(index, ScanOptions(min_score=0.5))
    everything = Scanner(index, ScanOptions(min_score=0.0))
    recall: dict[tuple[str, int], list[bool]] = defaultdict(list)
    calibration: list[tuple[float, bool]] = []
    paths = sorted(bodies)
    for length in LENGTHS:
        for _ in range(args.suspects):
            path = rng.choice(paths)
            language = path[:2]
            words = bodies[path].split()
            start = rng.randrange(0, max(1, len(words) - length))
            excerpt = " ".join(words[start : start + length])
            writer = urdu if language == "ur" else english
            suspect = writer.text(rng.randint(20, 60)) + "\n" + excerpt + "\n" + writer.text(20)
            found = default.scan_text(suspect)
            recall[(language, length)].append(any(f.source == path for f in found))
            for f in everything.scan_text(suspect):
                calibration.append((f.score, f.source == path))
    negatives: dict[str, list[bool]] = defaultdict(list)

    def negative(kind: str, scanner: Scanner, suspect: str) -> None:
        found = default.scan_text(suspect) if scanner is default else scanner.scan_text(suspect)
        negatives[kind].append(bool(found))
        for f in everything.scan_text(suspect) if scanner is default else []:
            calibration.append((f.score, False))

    for _ in range(args.suspects):
        writer = english if rng.random() < 0.7 else urdu
        stock = STOCK_UR if writer.urdu else STOCK_EN
        heads = letterheads[5:] if writer.urdu else letterheads[:5]
        chatter = writer.text(rng.randint(20, 60))
        negative("letterhead", default, rng.choice(heads) + "\n\n" + chatter)
        negative("stock sentences", default, chatter + " " + " ".join(rng.sample(stock, 2)))
        negative("stock sentence repeated 4 times", default, chatter + " " + rng.choice(stock) * 4)
        negative("quoted public notice", default, chatter + " " + rng.choice(public))
    for size in (2, 3):
        for trial in range(max(3, args.suspects // 10)):
            small = Index.open("memory://", create=True, key=secrets.token_bytes(32))
            head = letterheads[trial % 5]
            for n in range(size):
                text, _ = memo(english, rng, head, args.words)
                small.add_text(text, path=f"{n}.txt")
            suspect = head + "\n\n" + rng.choice(STOCK_EN) + " " + english.text(40)
            scanner = Scanner(small, ScanOptions(min_score=0.5))
            negative(f"letterhead and stock sentence, archive of {size}", scanner, suspect)
            small.close()
    lines = [
        "# Scores: short leaks and hard negatives",
        "",
        f"`benchmarks/scores.py --seed {args.seed}`: {args.documents} memos of about "
        f"{args.words} body words (three in four English), {args.suspects} suspects per row; "
        f"index built in {built:.1f} s.",
        "",
        "## Recall by excerpt length (default --min-score 0.5)",
        "",
        "| words | English | Urdu |",
        "|---|---|---|",
    ]
    for length in LENGTHS:
        cells = []
        for language in ("en", "ur"):
            hits = recall[(language, length)]
            cells.append(f"{sum(hits) / len(hits):.0%} of {len(hits)}" if hits else "—")
        lines.append(f"| {length} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        "## False alarms on hard negatives",
        "",
        "| suspect | false alarms |",
        "|---|---|",
    ]
    total = []
    for kind, alarms in negatives.items():
        total += alarms
        lines.append(f"| {kind} | {sum(alarms)} of {len(alarms)} |")
    lines.append(f"| all | {sum(total)} of {len(total)} ({sum(total) / len(total):.1%}) |")
    lines += ["", "## Calibration (every finding at --min-score 0)", ""]
    lines += ["| score | findings | share naming the copied memo |", "|---|---|---|"]
    bands = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.99), (0.99, 1.01)]
    for low, high in bands:
        inside = [true for score, true in calibration if low <= score < high]
        share = f"{sum(inside) / len(inside):.0%}" if inside else "—"
        lines.append(f"| {low:.2f}–{min(high, 1.0):.2f} | {len(inside)} | {share} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--suspects", type=int, default=100)
    args = parser.parse_args()
    if args.quick:
        args.documents, args.suspects = 200, 20
    report = run(args)
    out = Path(__file__).resolve().parent / "results" / "scores.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
