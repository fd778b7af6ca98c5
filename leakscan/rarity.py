"""How much a shared word says about copying: ordinary words little, the rest a lot.

Two unrelated texts share runs of function words and stock phrasing ("in
accordance with the", "کے سلسلے میں") by chance; they rarely share names,
numbers and content words in the same order. A matched word therefore counts
as evidence with a weight: :data:`FUNCTION_WORD_WEIGHT` for the function words
and the vocabulary of official letters below (English and Urdu, after
leakscan's normalization) and for single
letters or digits (list markers, initials), :data:`NUMBER_WEIGHT` for other
numbers (a numbered list is shared by chance; a call sign's number less so),
1 for any other word. The lists are ours: the commonest grammatical words of
each language.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .normalize import tokenize

__all__ = ["FUNCTION_WORD_WEIGHT", "NUMBER_WEIGHT", "function_words", "word_weights"]

#: What a function word counts for, against 1 for any other word.
FUNCTION_WORD_WEIGHT = 0.25
#: What a number of two digits or more counts for.
NUMBER_WEIGHT = 0.5

_ENGLISH = """
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each
either few for from further had has have having he her here hers herself him himself
his how i if in into is it its itself just may me might more most must my myself no
nor not now of off on once only or other ought our ours ourselves out over own per
same shall she should so some such than that the their theirs them themselves then
there these they this those through thus to too under until up upon us very via was
we were what when where whether which while who whom whose why will with within
without would yet you your yours yourself yourselves
hereby herein thereof therein whereas whereby said above-mentioned undersigned
directed accordance regard regards reference respect kindly please dated date
""".split()

# The vocabulary of official letters: in every archive and in every office's public
# papers alike, so shared by chance ("refer to the subject noted above").
_OFFICIALESE = """
refer referred subject noted above state stated letter letters issued issue approval
competent authority acknowledge receipt earliest matter matters treated urgent most placed
committee concerned requested request ensure compliance rules rule force official use
shared outside department office information necessary action copy copies forwarded
forward enclosed attached herewith sir madam regards sincerely faithfully yours obedient
servant memo memorandum notification circular order orders instructions directions
comply concerned permission sanction accordingly further following mentioned given
restricted confidential secret classified
زیر دستخطی ہدایت مندرجہ بالا ذیل موضوع حوالے حوالہ مطلع جائے جاتا جاتی خط مراسلہ مجاز
اتھارٹی منظوری جاری براہ کرم وصولی اطلاع جلد از عمل درآمد متعلقہ افسران دفتر محکمہ
نقل ارسال منسلک حکم احکامات ہدایات بابت ضروری کارروائی شکریہ والسلام
""".split()

# Urdu postpositions, auxiliaries, pronouns and conjunctions, as normalize folds them
# (ی for ي/ى, ک for ك, ہ for ه/ة).
_URDU = """
کا کے کی کو کہ میں سے نے پر تک بھی ہی اور یا لیکن مگر تو جو جس جن جنہوں کس کسی
کیا کیے کئے کر کرنا کرنے کرتے کرتا کرتی گیا گئے گئی ہے ہیں ہو ہوا ہوئے ہوئی ہوں
ہوتا ہوتے ہوتی تھا تھے تھی تھیں رہا رہے رہی سکتا سکتے سکتی دیا دیے دی لیا لیے لئے
یہ وہ ان اس انہوں اپنے اپنی اپنا ہم آپ میرے میری میرا ہمارے ہماری ہمارا
ایک جب تب اب یہاں وہاں جہاں کیونکہ چونکہ لہذا نیز بلکہ تاکہ اگر جبکہ
ساتھ بارے سلسلے مطابق ذریعے علاوہ بعد پہلے طرف والے والی والا
""".split()


def _normalized(words: Sequence[str]) -> frozenset[str]:
    found: set[str] = set()
    for word in words:
        found.update(tokenize(word).tokens)
    return frozenset(found)


_FUNCTION_WORDS = _normalized(_ENGLISH + _URDU + _OFFICIALESE)


def function_words() -> frozenset[str]:
    """The normalized function words that count for :data:`FUNCTION_WORD_WEIGHT`."""
    return _FUNCTION_WORDS


def word_weights(tokens: Sequence[str]) -> np.ndarray:
    """Each token's weight as evidence of copying (float64, one per token).

    >>> word_weights(["the", "convoy", "کے", "42", "7"]).tolist()
    [0.25, 1.0, 0.25, 0.5, 0.25]
    """
    weights = np.ones(len(tokens), dtype=np.float64)
    for i, token in enumerate(tokens):
        if token in _FUNCTION_WORDS or len(token) == 1:
            weights[i] = FUNCTION_WORD_WEIGHT
        elif token.isdigit():
            weights[i] = NUMBER_WEIGHT
    return weights
