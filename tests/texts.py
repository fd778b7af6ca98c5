"""Generated prose for matching tests: seeded, invented words, so no text comes from outside."""

from __future__ import annotations

import random

_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def vocabulary(seed: int = 7, size: int = 1500) -> list[str]:
    """Invented words; the same seed gives the same topic vocabulary."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def prose(seed: int, words: int, vocab: list[str] | None = None) -> str:
    """Sentences of invented words with Zipf-like frequencies, in paragraphs."""
    rng = random.Random(seed)
    vocab = vocab or vocabulary()
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    chosen = rng.choices(vocab, weights=weights, k=words)
    out, sentence = [], []
    for i, word in enumerate(chosen):
        sentence.append(word)
        if len(sentence) >= rng.randint(8, 20) or i == len(chosen) - 1:
            text = " ".join(sentence)
            out.append(text[0].upper() + text[1:] + ("." if rng.random() < 0.8 else ","))
            sentence = []
            if rng.random() < 0.15:
                out.append("\n\n")
    return " ".join(out).replace(" \n\n ", "\n\n")


def edit_words(text: str, share: float, seed: int) -> str:
    """Replace a share of the words with other invented words."""
    rng = random.Random(seed)
    parts = text.split(" ")
    for i in rng.sample(range(len(parts)), int(len(parts) * share)):
        parts[i] = "".join(rng.choice(_SYLLABLES) for _ in range(3)) + "x"
    return " ".join(parts)


def rewrap(text: str, width: int = 55) -> str:
    """Re-wrap at ``width`` columns, hyphenating long words across lines, curly quotes, 2 spaces."""
    lines, line = [], ""
    for word in text.replace(". ", ".  ").split(" "):
        if len(line) + len(word) + 1 > width:
            if len(word) > 5 and width - len(line) > 4:
                cut = max(2, width - len(line) - 2)
                cut = min(cut, len(word) - 2)
                lines.append(f"{line} {word[:cut]}-")
                line = word[cut:]
                continue
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines).replace('"', "“")


URDU_WORDS = (
    "بندرگاہ کشتی نگرانی حکم دفتر افسر رات گشت ساحل سمندر جیٹی شمالی جنوبی مشرقی مغربی "
    "علاقہ ٹیم رپورٹ ہدایت خفیہ دستاویز کارروائی اجازت شناخت عملہ مشکوک سامان گودام ٹرک "
    "راستہ دروازہ چوکی سپاہی کپتان ڈائریکٹر محکمہ تحفظ سلامتی فوری طور پر سخت نئی پرانی "
    "مچھلی منڈی لنگر انداز بغیر تین چار پانچ ہفتہ مہینہ سال دن شام صبح وقت جگہ لوگ "
    "گاڑی ریڈیو رابطہ پیغام خبر معلومات ذریعہ مخبر رقم ادائیگی خریداری منظوری بجٹ "
    "کے کی کا میں سے کو نے اور یا لیکن پھر بھی ہے ہیں تھا تھی گا گی گے کر دیا گیا "
    "جائے کیا جاتا جاتی رہا رہی ہوگا ہوگی والے والی یہ وہ اس ان جو جس کسی ہر تمام"
).split()


def urdu_prose(seed: int, words: int) -> str:
    """Urdu-looking sentences from a small vocabulary, ending with ۔"""
    rng = random.Random(seed)
    out, sentence = [], []
    for i in range(words):
        sentence.append(rng.choice(URDU_WORDS))
        if len(sentence) >= rng.randint(8, 16) or i == words - 1:
            out.append(" ".join(sentence) + "۔")
            sentence = []
    return " ".join(out)


_ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك", "ہ": "ه"})


def urdu_as_typed_elsewhere(text: str, seed: int) -> str:
    """The same Urdu as an Arabic keyboard, a careless typist and a PDF might give it.

    Arabic code points for ی ک ہ, diacritics and tatweel sprinkled in, some
    word boundaries dropped or turned into zero-width non-joiners, some
    spaces added inside words, and some letters as presentation-form glyphs.
    """
    rng = random.Random(seed)
    text = text.translate(_ARABIC_LETTERS)
    out = []
    for char in text:
        out.append(char)
        if char == " " and rng.random() < 0.15:
            out[-1] = rng.choice(["", "\u200c"])  # joined compound / ZWNJ
        elif "\u0621" <= char <= "\u064a" and rng.random() < 0.05:
            out.append(rng.choice(["\u064e", "\u0650", "\u0651", "\u0640"]))
    text = "".join(out)
    presentation = {"ب": "\ufe8f", "م": "\ufee1", "ل": "\ufedd", "ن": "\ufee5"}
    return "".join(presentation[c] if c in presentation and rng.random() < 0.3 else c for c in text)


_URDU_FUNCTION_WORDS = (
    "کے کی کا میں سے کو نے اور یا لیکن پھر بھی ہے ہیں تھا تھی گا گی گے کر دیا گیا جائے "
    "کیا جاتا جاتی رہا رہی ہوگا ہوگی والے والی یہ وہ اس ان جو جس کسی ہر تمام پر"
).split()
_URDU_ONSETS = "بپتٹجچحخدڈرزسشصطعغفقکگلمنہ"
_URDU_VOWELS = ["ا", "و", "ی", "", ""]
_URDU_CODAS = ["", "", "ن", "ر", "ل", "م", "ت", "ے"]


def urdu_vocabulary(seed: int = 11, size: int = 3000) -> list[str]:
    """Urdu-letter words by rank: function words, then our content words and invented ones.

    Invented words are syllables (a consonant and a long vowel or none), so they
    look like Urdu to OCR; the same seed gives the same vocabulary.
    """
    rng = random.Random(seed)
    content = [w for w in URDU_WORDS if w not in _URDU_FUNCTION_WORDS]
    words = dict.fromkeys(content)
    while len(words) < size - len(_URDU_FUNCTION_WORDS):
        syllables = rng.choice((2, 2, 3, 3, 4))
        word = "".join(
            rng.choice(_URDU_ONSETS) + rng.choice(_URDU_VOWELS) for _ in range(syllables)
        )
        words[word + rng.choice(_URDU_CODAS)] = None
    ranked = list(words)
    rng.shuffle(ranked)
    return list(_URDU_FUNCTION_WORDS) + ranked


def urdu_document(seed: int, words: int, vocab: list[str] | None = None) -> str:
    """Urdu sentences whose words follow a Zipf-like law over a large vocabulary, as real
    Urdu does: unrelated documents share the frequent words and few rare ones."""
    rng = random.Random(seed)
    vocab = vocab or urdu_vocabulary()
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    chosen = rng.choices(vocab, weights=weights, k=words)
    out, sentence = [], []
    for i, word in enumerate(chosen):
        sentence.append(word)
        if len(sentence) >= rng.randint(8, 18) or i == words - 1:
            out.append(" ".join(sentence) + ("۔" if rng.random() < 0.85 else "،"))
            sentence = []
    return " ".join(out)
