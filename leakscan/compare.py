"""Two files side by side: how much of each is in the other, and where.

The quick triage a forensic examiner knows from ``ssdeep -d``, but with
passages: both files are fingerprinted, B is put in an in-memory index and A
is matched against it. Nothing is kept, so there is nothing to protect: the
key is a fixed one, and the same two files always give the same output
(simhash distance included).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .extract import Extracted
from .fingerprint import Fingerprinter, hamming
from .index import Index
from .match import Matcher, MatchParams

__all__ = ["COMPARE_KEY", "Comparison", "SharedPassage", "compare", "compare_texts"]

#: The key of every comparison: public, so that comparisons are reproducible.
COMPARE_KEY = b"leakscan compare: a public key!!"


@dataclass(frozen=True)
class SharedPassage:
    """Text present in both: character offsets in A's and in B's extracted text."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    tokens: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Comparison:
    """How similar two documents are."""

    a: str
    b: str
    a_sha256: str
    b_sha256: str
    simhash_distance: int
    a_in_b: float
    b_in_a: float
    shared_tokens: int
    passages: tuple[SharedPassage, ...]

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["a_in_b"] = round(self.a_in_b, 4)
        data["b_in_a"] = round(self.b_in_a, 4)
        data["passages"] = [p.to_dict() for p in self.passages]
        return data


def compare_texts(
    a_text: str,
    b_text: str,
    a_name: str = "A",
    b_name: str = "B",
    *,
    a_sha256: str = "",
    b_sha256: str = "",
) -> Comparison:
    """Compare two texts held in memory."""
    key = COMPARE_KEY
    fingerprinter = Fingerprinter(key)
    a_fp, b_fp = fingerprinter.fingerprint(a_text), fingerprinter.fingerprint(b_text)
    index = Index.open("memory://", create=True, key=key)
    index.add_fingerprint(b_fp, path=b_name, sha256=b_sha256 or "b")
    matches = Matcher(index, MatchParams(common_contents=2)).match(a_fp)
    passages: list[SharedPassage] = []
    shared = 0
    if matches:
        best = matches[0]
        shared = best.matched_tokens
        b_tokens = b_fp.tokens
        for p in best.passages:
            a_start = int(a_fp.tokens.starts[p.suspect_start])
            a_end = int(a_fp.tokens.ends[p.suspect_end - 1])
            b_first = min(max(p.source_start, 0), len(b_tokens) - 1)
            b_last = min(max(p.source_end - 1, b_first), len(b_tokens) - 1)
            passages.append(
                SharedPassage(
                    a_start,
                    a_end,
                    int(b_tokens.starts[b_first]),
                    int(b_tokens.ends[b_last]),
                    p.suspect_end - p.suspect_start,
                    a_text[a_start:a_end],
                )
            )
    return Comparison(
        a=a_name,
        b=b_name,
        a_sha256=a_sha256,
        b_sha256=b_sha256,
        simhash_distance=hamming(a_fp.simhash, b_fp.simhash),
        a_in_b=matches[0].coverage if matches else 0.0,
        b_in_a=matches[0].containment if matches else 0.0,
        shared_tokens=shared,
        passages=tuple(passages),
    )


def _read(path: str | os.PathLike[str]) -> tuple[Extracted, str]:
    from .intake import extract_file  # a worker reads it: a hostile file cannot hang compare

    return extract_file(os.fspath(path))


def compare(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> Comparison:
    """Compare two files of any readable format; ExtractionError if one is unreadable."""
    a_text, a_sha = _read(a)
    b_text, b_sha = _read(b)
    return compare_texts(
        a_text.text, b_text.text, os.fspath(a), os.fspath(b), a_sha256=a_sha, b_sha256=b_sha
    )
