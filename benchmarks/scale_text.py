"""Generated archives and queries for ``benchmarks/scale.py``.

Two archives of seeded, generated text (no real document is involved):

* **overlap**: each document is 12-22 sentences drawn from one pool of about
  26,000 sentences, so every sentence recurs in many documents, as drafts,
  versions and e-mail threads quoting each other do (issue 11's archive);
* **plain**: each document's 12-22 sentences are its own (no reuse).

Sentences are 8-25 words: real English or Urdu function words mixed with
invented content words of Zipf-like frequency (one document in four is Urdu).
A document is the same text for the same seed and id in every process, so
builders, workers and query makers never pass documents around.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

EN_FUNCTION = (
    "the of to and in is for on with that by at from as be are this it an or was will has "
    "have not which all any their its been shall may under these those such but if into "
    "than then there were would should could also after before upon each other more most"
).split()
UR_FUNCTION = (
    "کے کی میں ہے اور سے کو کا نے پر یہ وہ تھا گیا ہیں بھی کہ جو ان اس تھے گا گی ہو کر لیے "
    "تک نہیں ایک بعد ساتھ اپنے کوئی کچھ جب تو"
).split()
_UR_LETTERS = "ابپتٹثجچحخدڈذرڑزژسشصضطظعغفقکگلمنوہیے" + "اکیرنوہمتل" * 2
_EN_SYLLABLES = (
    "ka ro mi ten lo sar vin de tu pel gor an bri stal mun dex for qua lim nor hes zan "
    "tor cal ver ob sin gra pli dun"
).split()
#: Sentences in the overlap archive's pool, and the share of documents in Urdu.
POOL_SIZE = 26_000
URDU_SHARE = 0.25
SENTENCES_PER_DOC = (12, 22)
WORDS_PER_SENTENCE = (8, 25)
#: Consecutive sentences of one archive document planted in a query.
EXCERPT_SENTENCES = (3, 6)
_FUNCTION_SHARE = 0.42


class Sentences:
    """Sentences of real function words and invented content words (Zipf-like), per language."""

    def __init__(self, seed: int, vocabulary: int = 8000) -> None:
        rng = random.Random(f"scale vocabulary {seed}")
        self.words: dict[str, list[str]] = {}
        for lang, invent in (("en", self._english), ("ur", self._urdu)):
            made: dict[str, None] = {}
            while len(made) < vocabulary:
                made[invent(rng)] = None
            self.words[lang] = list(made)
        # Zipf-like, flattened at the top: the commonest content word is under 1% of them.
        weights = [1.0 / (rank + 20) for rank in range(vocabulary)]
        self.cumulative = list(itertools.accumulate(weights))

    @staticmethod
    def _english(rng: random.Random) -> str:
        return "".join(rng.choice(_EN_SYLLABLES) for _ in range(rng.randint(1, 4)))

    @staticmethod
    def _urdu(rng: random.Random) -> str:
        return "".join(rng.choice(_UR_LETTERS) for _ in range(rng.randint(2, 7)))

    def sentence(self, rng: random.Random, lang: str) -> str:
        """One sentence of 8-25 words, with its punctuation."""
        n = rng.randint(*WORDS_PER_SENTENCE)
        function = UR_FUNCTION if lang == "ur" else EN_FUNCTION
        words = rng.choices(self.words[lang], cum_weights=self.cumulative, k=n)
        for i in range(n):
            roll = rng.random()
            if roll < _FUNCTION_SHARE:
                words[i] = rng.choice(function)
            elif roll < _FUNCTION_SHARE + 0.01:
                words[i] = str(rng.randint(1, 2100))
            elif roll < _FUNCTION_SHARE + 0.07 and i < n - 1:
                words[i] += "،" if lang == "ur" else ","
        if lang == "en":
            words[0] = words[0].capitalize()
        return " ".join(words) + ("۔" if lang == "ur" else ".")


@dataclass(frozen=True)
class Document:
    lang: str
    sentences: list[str]


class Archive:
    """A generated archive: ``kind`` is ``overlap`` (a shared sentence pool) or ``plain``."""

    def __init__(self, kind: str, seed: int, pool_size: int = POOL_SIZE) -> None:
        if kind not in ("overlap", "plain"):
            raise ValueError(f"unknown archive kind {kind!r}")
        self.kind, self.seed = kind, seed
        self.maker = Sentences(seed)
        self.pool: dict[str, list[str]] = {"en": [], "ur": []}
        if kind == "overlap":
            rng = random.Random(f"scale pool {seed}")
            n_urdu = round(pool_size * URDU_SHARE)
            self.pool["ur"] = [self.maker.sentence(rng, "ur") for _ in range(n_urdu)]
            self.pool["en"] = [self.maker.sentence(rng, "en") for _ in range(pool_size - n_urdu)]

    def path(self, doc_id: int) -> str:
        return f"{self.kind}/doc{doc_id:07d}.txt"

    def document(self, doc_id: int) -> Document:
        rng = random.Random(self.seed * 10_000_019 + doc_id)
        lang = "ur" if rng.random() < URDU_SHARE else "en"
        n = rng.randint(*SENTENCES_PER_DOC)
        if self.kind == "overlap":
            pool = self.pool[lang]
            return Document(lang, [pool[rng.randrange(len(pool))] for _ in range(n)])
        return Document(lang, [self.maker.sentence(rng, lang) for _ in range(n)])

    def text(self, doc_id: int) -> str:
        """The document as a file would hold it: paragraphs of 2-6 sentences."""
        document = self.document(doc_id)
        rng = random.Random(self.seed * 7_000_003 + doc_id)
        parts: list[str] = []
        left = 0
        for sentence in document.sentences:
            if left == 0 and parts:
                parts.append("\n\n")
            elif parts:
                parts.append(" ")
            if left == 0:
                left = rng.randint(2, 6)
            parts.append(sentence)
            left -= 1
        return "".join(parts) + "\n"


@dataclass(frozen=True)
class Query:
    """A query text; ``source`` is the path of the document an excerpt was taken from."""

    kind: str
    text: str
    source: str
    excerpt_words: int


def queries(archive: Archive, n_docs: int, kind: str, n: int, seed: int) -> list[Query]:
    """``n`` queries against the first ``n_docs`` documents, each with one planted excerpt.

    ``excerpt``: 3-6 consecutive sentences of an archive document between one to
    three new sentences on each side. ``page``: a document's worth (12-22
    sentences) in which the excerpt sits among sentences of which about half are
    archive sentences (the pool's, or a random document's) and half new ones.
    """
    rng = random.Random(f"scale queries {seed} {archive.kind} {n_docs} {kind}")
    made = []
    for _ in range(n):
        doc_id = rng.randrange(n_docs)
        document = archive.document(doc_id)
        lang = document.lang
        k = min(len(document.sentences), rng.randint(*EXCERPT_SENTENCES))
        start = rng.randrange(len(document.sentences) - k + 1)
        excerpt = document.sentences[start : start + k]
        if kind == "excerpt":
            before = [archive.maker.sentence(rng, lang) for _ in range(rng.randint(1, 3))]
            after = [archive.maker.sentence(rng, lang) for _ in range(rng.randint(1, 3))]
            sentences = [*before, *excerpt, *after]
        elif kind == "page":
            others = []
            for _ in range(max(0, rng.randint(*SENTENCES_PER_DOC) - k)):
                if rng.random() < 0.5:
                    others.append(_archive_sentence(archive, n_docs, lang, rng))
                else:
                    others.append(archive.maker.sentence(rng, lang))
            cut = rng.randint(0, len(others))
            sentences = [*others[:cut], *excerpt, *others[cut:]]
        else:
            raise ValueError(f"unknown query kind {kind!r}")
        words = sum(len(s.split()) for s in excerpt)
        made.append(Query(kind, " ".join(sentences) + "\n", archive.path(doc_id), words))
    return made


def _archive_sentence(archive: Archive, n_docs: int, lang: str, rng: random.Random) -> str:
    """A sentence some archive document holds, in ``lang``."""
    if archive.kind == "overlap":
        pool = archive.pool[lang]
        return pool[rng.randrange(len(pool))]
    while True:
        document = archive.document(rng.randrange(n_docs))
        if document.lang == lang:
            return rng.choice(document.sentences)
