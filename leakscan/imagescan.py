"""Pictures in the index and in scans: stored by perceptual hash, looked up by band.

``index build`` hashes every archive picture (:mod:`leakscan.images`) and
stores its views' hashes beside the content's fingerprints; ``scan`` hashes
every suspect picture and looks each view up. A suspect view and an archive
view match when their pHashes differ in at most :data:`MAX_PHASH` bits and
their dHashes in at most :data:`MAX_DHASH` (both measured: README, "Pictures
without text"); a match becomes an ``image-near-duplicate`` finding.

Look-up does not read every picture: multi-index hashing. Each view's
64-bit pHash is cut into :data:`BANDS` bands of 16 bits, stored in
``image_bands``. Two hashes within distance d agree within ``d // BANDS``
bits on at least one band (pigeonhole), so probing, in each band, every
value within :data:`PROBE_RADIUS` bits of the suspect's (137 values for
radius 2) finds every archive view within ``BANDS * (PROBE_RADIUS + 1) - 1``
= 11 bits, the documented maximum distance (a larger ``max_phash`` given to
:meth:`PictureIndex.lookup` probes a larger radius); only those candidates,
fetched with their hashes in one query per band, are checked.

This module is the picture side of two stages that also read text (OCR):
an image item may yield text findings and a picture finding alike.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .errors import ExtractionError, SchemeMismatchError
from .extract import detect_mime
from .images import (
    HASH_KINDS,
    IMAGE_SCHEME,
    PictureHashes,
    PictureTooLargeError,
    View,
    hash_picture,
    is_picture_type,
)
from .index.base import band_values, to_signed, to_unsigned
from .intake import DEFAULT_MAX_FILE_BYTES, Loaded, read_item
from .records import ErrorRecord, Finding, ImageMatch, NoteRecord, Record, SkippedRecord
from .walk import Item

if TYPE_CHECKING:  # build imports this module: the index is reached through the object given
    from .index import Index

__all__ = [
    "BANDS",
    "MAX_DHASH",
    "MAX_PHASH",
    "MAX_SOURCES",
    "PROBE_RADIUS",
    "PictureCheck",
    "PictureIndex",
    "PictureMatch",
    "PictureMatcher",
    "ReadPicture",
    "image_score",
    "index_picture",
    "neighbours",
    "read_picture",
]

#: Bands the primary hash (pHash) is cut into, 16 bits each.
BANDS = 4
#: Bits probed around each band's value; every view within BANDS * (radius + 1) - 1 is found.
PROBE_RADIUS = 2
#: A suspect view matches an archive view within these distances (bits of 64), both at once.
MAX_PHASH = 10
MAX_DHASH = 12
#: Most archive pictures reported for one suspect picture (best first).
MAX_SOURCES = 5
#: Meta key recording how the index's pictures were hashed.
_SCHEME_META = "image_scheme"
_PRIMARY = HASH_KINDS[0]
#: Share of the picture an index view shows (the inner views: 90 % of each side).
_VIEW_SHARE = {"full": 1.0, "trim": 1.0}
_VIEW_ORDER = {"full": 0, "trim": 1, "inner": 2}


def neighbours(value: int, bits: int, radius: int) -> list[int]:
    """Every ``bits``-bit value within Hamming distance ``radius`` of ``value``, itself first.

    >>> len(neighbours(0, 16, 2)), neighbours(5, 3, 1)
    (137, [5, 4, 7, 1])
    """
    found = [value]
    for distance in range(1, radius + 1):
        for positions in itertools.combinations(range(bits), distance):
            flipped = value
            for position in positions:
                flipped ^= 1 << position
            found.append(flipped)
    return found


def image_score(phash_distance: int, dhash_distance: int) -> float:
    """Confidence from the two distances: 1.0 for equal hashes, falling linearly to just
    over 0.5 at the thresholds (so the scan's default ``min_score`` keeps every match).

    >>> image_score(0, 0), round(image_score(MAX_PHASH, MAX_DHASH), 3)
    (1.0, 0.522)
    """
    total = phash_distance + dhash_distance
    return max(0.0, 1.0 - total / (2 * (MAX_PHASH + MAX_DHASH + 1)))


@dataclass(frozen=True)
class PictureMatch:
    """An archive picture near a suspect picture: the best pair of views and its distances."""

    content_id: int
    suspect_view: View
    source_view: str
    phash_distance: int
    dhash_distance: int

    @property
    def score(self) -> float:
        return image_score(self.phash_distance, self.dhash_distance)


class PictureIndex:
    """The pictures of one index: stores them (build) and looks them up (scan)."""

    def __init__(self, index: Index, refresh_seconds: float = 30.0) -> None:
        self.index = index
        self.refresh_seconds = refresh_seconds
        self._scheme: dict[str, object] | None = None
        self._read_at: float | None = None
        #: Candidate views checked by the last look-up (the benchmark reads it).
        self.last_candidates = 0

    def _stored_scheme(self) -> dict[str, object] | None:
        """The picture scheme the meta records; while there is none it is read again now
        and then (a long ``watch`` sees pictures a later build adds)."""
        now = time.monotonic()
        if self._read_at is None or (
            self._scheme is None and now - self._read_at > self.refresh_seconds
        ):
            raw = self.index.backend.read_meta().get(_SCHEME_META)
            self._scheme = json.loads(raw) if raw else None
            self._read_at = now
        return self._scheme

    def holds_pictures(self) -> bool:
        """Whether any picture was ever stored (no look-ups otherwise); a scheme other
        than ours means the pictures were hashed differently: rebuild, never miss silently."""
        scheme = self._stored_scheme()
        if scheme is None:
            return False
        if scheme.get("version") != IMAGE_SCHEME["version"] or scheme.get("bands") != BANDS:
            raise SchemeMismatchError(
                f"{self.index.location}: its pictures were hashed with scheme {scheme}, this "
                f"leakscan uses {dict(IMAGE_SCHEME, bands=BANDS)}: rebuild the index"
            )
        return True

    def add(self, content_id: int, picture: PictureHashes) -> None:
        """Store a picture's views under a content (kept if already there)."""
        if self._stored_scheme() is None:
            scheme = dict(IMAGE_SCHEME, bands=BANDS)
            self.index.backend.write_meta({_SCHEME_META: json.dumps(scheme, sort_keys=True)})
            self._scheme, self._read_at = scheme, time.monotonic()
        rows, bands = [], []
        for view in picture.views:
            for kind in HASH_KINDS:
                rows.append((view.name, kind, to_signed(view.hashes[kind])))
            for band, value in enumerate(band_values(view.hashes[_PRIMARY], BANDS)):
                bands.append((band, value, view.name))
        self.index.backend.add_image_hashes(content_id, rows, bands)

    def lookup(
        self, picture: PictureHashes, max_phash: int = MAX_PHASH, max_dhash: int = MAX_DHASH
    ) -> list[PictureMatch]:
        """Archive pictures near any view of this one, best first (one match per picture)."""
        if not picture.views:
            return []
        radius = max(0, -(-(max_phash + 1) // BANDS) - 1)  # smallest radius finding max_phash
        probed: list[set[int]] = [set() for _ in range(BANDS)]
        for view in picture.views:  # every view's neighbourhood, one query per band
            for band, value in enumerate(band_values(view.hashes[_PRIMARY], BANDS)):
                probed[band].update(neighbours(value, 64 // BANDS, radius))
        rows = self.index.backend.image_candidates(
            [(band, sorted(values)) for band, values in enumerate(probed)]
        )
        candidates: dict[tuple[int, str], dict[str, int]] = {}
        for content_id, source_view, kind, value in rows:
            candidates.setdefault((content_id, source_view), {})[kind] = to_unsigned(value)
        keys = [key for key, hashes in candidates.items() if set(HASH_KINDS) <= set(hashes)]
        self.last_candidates = len(keys)
        if not keys:
            return []
        distances = {}
        for kind in HASH_KINDS:  # candidates x suspect views, in bits
            stored = np.array([candidates[key][kind] for key in keys], dtype=np.uint64)
            mine = np.array([view.hashes[kind] for view in picture.views], dtype=np.uint64)
            distances[kind] = np.bitwise_count(stored[:, None] ^ mine[None, :])
        p_all, d_all = distances["phash"], distances["dhash"]
        near = (p_all <= max_phash) & (d_all <= max_dhash)
        best: dict[int, tuple[tuple[int, int, int], PictureMatch]] = {}
        for row, order in zip(*np.nonzero(near), strict=True):
            content_id, source_view = keys[row]
            p, d = int(p_all[row, order]), int(d_all[row, order])
            # the closest pair; on a tie the whole picture over a part of it
            rank = (p + d, int(order), _VIEW_ORDER.get(source_view, len(_VIEW_ORDER)))
            if content_id not in best or rank < best[content_id][0]:
                view = picture.views[order]
                best[content_id] = (rank, PictureMatch(content_id, view, source_view, p, d))
        return sorted((m for _, m in best.values()), key=lambda m: (-m.score, m.content_id))


@dataclass(frozen=True)
class ReadPicture:
    """A picture item read and hashed: the sha256 of its own bytes and its MIME type."""

    sha256: str
    mime: str
    hashes: PictureHashes


def _picture_mime(loaded: Loaded | ErrorRecord | SkippedRecord, mime: str | None) -> str | None:
    """The item's type, when it is a picture's: as reading it found (``mime``), or as the
    text side's result says."""
    if mime is None and isinstance(loaded, Loaded):
        mime = loaded.extracted.mime
    elif mime is None and isinstance(loaded, SkippedRecord):
        mime = loaded.mime
    return mime if is_picture_type(mime) else None


def _may_be_picture(loaded: Loaded | ErrorRecord | SkippedRecord, mime: str | None) -> bool:
    """Whether an item is worth reading as a picture: a picture's type is known, or the
    text side failed without saying the type (its bytes will tell)."""
    if _picture_mime(loaded, mime) is not None:
        return True
    return mime is None and isinstance(loaded, ErrorRecord)


def read_picture(
    item: Item,
    loaded: Loaded | ErrorRecord | SkippedRecord,
    *,
    suspect: bool,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_pixels: int | None = None,
    mime: str | None = None,
) -> ReadPicture | ErrorRecord | SkippedRecord | None:
    """Hash a picture item (None when it is no picture): read again, bounded, because the
    text side keeps no bytes. ``mime`` is the type reading the item found, if known. A
    damaged picture is an error record, one with too many pixels a skipped record, never
    an exception."""
    if not _may_be_picture(loaded, mime):
        return None
    known = _picture_mime(loaded, mime)
    read = read_item(item, max_bytes)
    if not isinstance(read, tuple):
        return read if known is not None else None
    data, sha256 = read
    if known is None:  # the text side failed on it: its bytes say whether it is a picture
        try:
            known = detect_mime(data)
        except ExtractionError:
            return None
        if not is_picture_type(known):
            return None
    holder = item.holder_sha256 or sha256
    try:
        limit = {} if max_pixels is None else {"max_pixels": max_pixels}
        hashes = hash_picture(data, suspect=suspect, **limit)
    except PictureTooLargeError as exc:
        return SkippedRecord(item.name, str(exc), known, holder)
    except ExtractionError as exc:
        return ErrorRecord(item.name, str(exc), holder)
    except Exception as exc:  # a bug met on one crafted picture: that picture's error
        reason = " ".join(f"internal error while hashing the picture: {exc}".split())
        return ErrorRecord(item.name, f"{reason} ({type(exc).__name__})"[:400], holder)
    return ReadPicture(sha256, known, hashes)


@dataclass(frozen=True)
class PictureCheck:
    """What comparing one picture item by its look came to: findings, notes about it, and
    the picture's own error when it should stand instead of the text side's skip."""

    findings: list[Finding] = field(default_factory=list)
    records: tuple[Record, ...] = ()
    instead: ErrorRecord | None = None


class PictureMatcher:
    """Compares suspect pictures with the index's pictures (one per Scanner)."""

    def __init__(
        self,
        index: Index,
        labels: dict[str, str] | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.pictures = PictureIndex(index)
        self.index = index
        self.labels = labels or {}
        self.max_bytes = max_bytes
        self.pictures.holds_pictures()  # pictures hashed another way: refused here, at once

    def check(
        self,
        item: Item,
        loaded: Loaded | ErrorRecord | SkippedRecord,
        mime: str | None = None,
    ) -> PictureCheck | None:
        """The picture side of one item, beside what its text side (``loaded``) came to;
        ``mime``: the type reading it found. None for an item that is no picture, or when
        the index holds no pictures (nothing to compare with). The text side's record
        stays: a picture OCR skipped or failed on is still compared by its look."""
        if not _may_be_picture(loaded, mime) or not self.pictures.holds_pictures():
            return None
        read = read_picture(item, loaded, suspect=True, max_bytes=self.max_bytes, mime=mime)
        if read is None:
            return None
        if not isinstance(read, ReadPicture):
            if isinstance(loaded, Loaded):  # its text was read: the picture's trouble is a note
                reason = read.error if isinstance(read, ErrorRecord) else read.reason
                note = NoteRecord(item.name, f"not compared as a picture: {reason}")
                return PictureCheck(records=(replace(note, suspect_sha256=read.suspect_sha256),))
            if isinstance(loaded, SkippedRecord) and isinstance(read, ErrorRecord):
                return PictureCheck(instead=read)  # damaged: more than "OCR is off" says
            return PictureCheck()  # the text side's record says enough
        holder = item.holder_sha256 or read.sha256
        member = read.sha256 if item.holder_sha256 else None
        records: list[Record] = []
        if not isinstance(loaded, Loaded):
            why = loaded.error if isinstance(loaded, ErrorRecord) else loaded.reason
            said = f"compared by its look (perceptual hashes); its text was not read: {why}"
            records.append(NoteRecord(item.name, said, holder))
        if not read.hashes.views:
            plain = "picture too plain to compare (one colour)"
            records.append(NoteRecord(item.name, plain, holder))
        return PictureCheck(self._findings(item, read, holder, member), tuple(records))

    def _findings(
        self, item: Item, read: ReadPicture, holder: str, member: str | None
    ) -> list[Finding]:
        matches = self.pictures.lookup(read.hashes)
        contents = self.index.contents([m.content_id for m in matches])
        findings = []
        width, height = read.hashes.size
        for match in matches:
            content = contents.get(match.content_id)
            if content is None or content.public:  # removed meanwhile, or a public picture
                continue
            box = match.suspect_view.box
            area = max(1, width * height)
            paths = content.paths or ("<removed>",)
            share = _VIEW_SHARE.get(match.source_view, 0.81)
            findings.append(
                Finding(
                    suspect=item.name,
                    suspect_sha256=holder,
                    source=paths[0],
                    source_sha256=content.sha256,
                    kind="image-near-duplicate",
                    score=match.score,
                    containment=share,
                    coverage=min(1.0, (box[2] - box[0]) * (box[3] - box[1]) / area),
                    simhash_distance=match.phash_distance,
                    matched_tokens=0,
                    source_also_at=tuple(paths[1:]),
                    member_sha256=member,
                    source_label=(
                        self.labels.get(content.roots[0]) if self.labels and content.roots else None
                    ),
                    image=ImageMatch(
                        phash_distance=match.phash_distance,
                        dhash_distance=match.dhash_distance,
                        suspect_view=match.suspect_view.name,
                        source_view=match.source_view,
                        region=box,
                        suspect_size=(width, height),
                    ),
                )
            )
            if len(findings) == MAX_SOURCES:
                break
        return findings


def index_picture(
    item: Item,
    loaded: Loaded | ErrorRecord | SkippedRecord,
    max_bytes: int,
    mime: str | None = None,
) -> ReadPicture | ErrorRecord | SkippedRecord | None:
    """An archive picture's hashes for ``index build`` (None: no picture); ``mime``: the
    type reading it found."""
    read = read_picture(item, loaded, suspect=False, max_bytes=max_bytes, mime=mime)
    if isinstance(read, ReadPicture) and not read.hashes.views:
        holder = item.holder_sha256 or read.sha256
        return SkippedRecord(
            item.name, "picture too plain to index (one colour)", read.mime, holder
        )
    return read
