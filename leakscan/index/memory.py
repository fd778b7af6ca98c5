"""In-memory index backend: for tests, ``compare`` and throwaway indexes."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from .base import (
    ContentRecord,
    DocumentRecord,
    NewContent,
    Posting,
    Recompute,
    band_values,
    file_name_of,
    look_up_separately,
    put_one_by_one,
    recomputed,
    sources_separately,
)

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """An index held in dictionaries; gone when the process ends.

    A recomputable content is held as the others keep it, although memory is no concern
    here: postings at position 0, its fingerprints asked of :attr:`recompute` to remove or
    export it (so that it stands in for them in tests)."""

    def __init__(self) -> None:
        self.url = "memory://"
        self._meta: dict[str, str] = {}
        self._contents: dict[int, tuple[NewContent, int]] = {}  # id → (content, n fps)
        self._by_sha: dict[str, int] = {}
        self._documents: dict[int, DocumentRecord] = {}
        self._postings: dict[int, set[tuple[int, int]]] = defaultdict(set)
        self._frequencies: dict[int, int] = defaultdict(int)
        self._bands: dict[tuple[int, int], set[int]] = defaultdict(set)
        #: content id → (view, kind) → signed hash; (band, value) → {(content id, view)}
        self._image_hashes: dict[int, dict[tuple[str, str], int]] = {}
        self._image_bands: dict[tuple[int, int], set[tuple[int, str]]] = defaultdict(set)
        self._ocr: set[str] = set()  # sha256 of contents whose text came from OCR
        self._next_id = 1
        self.recompute: Recompute | None = None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def read_meta(self) -> dict[str, str]:
        return dict(self._meta)

    def write_meta(self, values: dict[str, str]) -> None:
        self._meta.update(values)

    def create_meta(self, values: dict[str, str]) -> dict[str, str]:
        if not self._meta:
            self._meta.update(values)
        return dict(self._meta)

    def find_document(self, root: str, path: str) -> DocumentRecord | None:
        for document in self._documents.values():
            if document.root == root and document.path == path:
                return document
        return None

    def documents(self, root: str | None = None) -> Iterator[DocumentRecord]:
        chosen = [d for d in self._documents.values() if root is None or d.root == root]
        yield from sorted(chosen, key=lambda d: (d.root, d.path))

    def documents_below(self, root: str, prefix: str) -> list[DocumentRecord]:
        return [d for d in self.documents(root) if d.path.startswith(prefix)]

    def documents_named(self, file_name: str) -> list[DocumentRecord]:
        wanted = file_name.casefold()
        return [d for d in self.documents() if file_name_of(d.path).casefold() == wanted]

    def find_content(self, sha256: str) -> int | None:
        return self._by_sha.get(sha256)

    def add_content(self, content: NewContent, bands: int) -> int:
        content_id = self._new_id()
        hashes = content.hashes.tolist()
        if content.recomputable and not hashes:  # nothing to compute again (a picture)
            content = dataclasses.replace(content, recomputable=False)
        positions = [0] * len(hashes) if content.recomputable else content.positions.tolist()
        for h, position in zip(hashes, positions, strict=True):
            self._postings[h].add((content_id, position))
        if content.recomputable:  # its fingerprints are computed again when needed
            empty = np.zeros(0, dtype=np.int64)
            content = dataclasses.replace(content, hashes=empty, positions=empty)
        for h in set(hashes):
            self._frequencies[h] += 1
        if hashes:  # no text (a picture's look alone): no simhash to band
            for band, value in enumerate(band_values(content.simhash, bands)):
                self._bands[band, value].add(content_id)
        self._contents[content_id] = (content, len(hashes))
        self._by_sha[content.sha256] = content_id
        return content_id

    def add_document(self, document: DocumentRecord) -> int:
        document_id = self._new_id()
        self._documents[document_id] = DocumentRecord(
            document.root,
            document.path,
            document.content_id,
            document.size,
            document.mtime_ns,
            document.mime,
            id=document_id,
        )
        return document_id

    def put_document(
        self, document: DocumentRecord, content: NewContent, bands: int, *, ocr: bool = False
    ) -> int:
        return put_one_by_one(self, document, content, bands, ocr=ocr)

    def _held(self, content: NewContent) -> NewContent:
        """A stored content with its fingerprints (computed again, if recomputable)."""
        if not content.recomputable:
            return content
        hashes = recomputed(self.recompute, content.sha256, content.alignment, self.url)
        return dataclasses.replace(
            content, hashes=hashes, positions=np.zeros(len(hashes), dtype=np.int64)
        )

    def remove_document(self, document_id: int) -> None:
        document = self._documents.get(document_id)
        if document is None:
            return
        content_id = document.content_id
        if any(d.content_id == content_id and i != document_id for i, d in self._documents.items()):
            del self._documents[document_id]
            return
        content = self._held(self._contents[content_id][0])
        del self._documents[document_id]
        del self._contents[content_id]
        del self._by_sha[content.sha256]
        self._ocr.discard(content.sha256)
        hashes = content.hashes.tolist()
        for h, position in zip(hashes, content.positions.tolist(), strict=True):
            self._postings[h].discard((content_id, position))
            if not self._postings[h]:
                del self._postings[h]
        for h in set(hashes):
            self._frequencies[h] -= 1
            if self._frequencies[h] <= 0:
                del self._frequencies[h]
        for members in self._bands.values():
            members.discard(content_id)
        if self._image_hashes.pop(content_id, None) is not None:
            for key in list(self._image_bands):
                held = self._image_bands[key]
                for entry in [e for e in held if e[0] == content_id]:
                    held.discard(entry)
                if not held:
                    del self._image_bands[key]

    def set_ocr(self, sha256: str) -> None:
        if sha256 in self._by_sha:
            self._ocr.add(sha256)

    def count_ocr_documents(self) -> int:
        ocr_ids = {self._by_sha[sha] for sha in self._ocr if sha in self._by_sha}
        return sum(d.content_id in ocr_ids for d in self._documents.values())

    def document_frequencies(self, hashes: Sequence[int]) -> dict[int, int]:
        return {h: self._frequencies[h] for h in hashes if h in self._frequencies}

    def postings(
        self, hashes: Sequence[int], content_ids: Sequence[int] | None = None
    ) -> list[Posting]:
        wanted = None if content_ids is None else set(content_ids)
        return [
            Posting(h, content_id, position)
            for h in dict.fromkeys(hashes)
            for content_id, position in sorted(self._postings.get(h, ()))
            if wanted is None or content_id in wanted
        ]

    def simhash_candidates(self, simhash: int, bands: int) -> dict[int, int]:
        found: set[int] = set()
        for band, value in enumerate(band_values(simhash, bands)):
            found |= self._bands.get((band, value), set())
        return self.simhashes(sorted(found))

    def simhashes(self, ids: Sequence[int]) -> dict[int, int]:
        return {i: self._contents[i][0].simhash for i in ids if i in self._contents}

    def look_up(
        self, hashes: Sequence[int], max_holders: int
    ) -> tuple[dict[int, int], list[Posting]]:
        return look_up_separately(self, hashes, max_holders)

    def sources(self, ids: Sequence[int]) -> dict[int, tuple[ContentRecord, bytes]]:
        return sources_separately(self, ids)

    def alignments(self, ids: Sequence[int]) -> dict[int, bytes]:
        return {i: self._contents[i][0].alignment for i in ids if i in self._contents}

    def contents(self, ids: Sequence[int]) -> dict[int, ContentRecord]:
        result = {}
        for content_id in ids:
            if content_id not in self._contents:
                continue
            content, n_fingerprints = self._contents[content_id]
            places = sorted(
                (d.path, d.root) for d in self._documents.values() if d.content_id == content_id
            )
            result[content_id] = ContentRecord(
                content_id,
                content.sha256,
                content.n_tokens,
                n_fingerprints,
                content.simhash,
                content.public,
                tuple(path for path, _ in places),
                tuple(root for _, root in places),
            )
        return result

    def export_contents(self) -> Iterator[tuple[int, NewContent]]:
        for content_id in sorted(self._contents):
            content = self._contents[content_id][0]
            if content.recomputable:
                empty = np.empty(0, dtype=np.int64)
                content = dataclasses.replace(content, hashes=empty, positions=empty)
            yield content_id, content

    def ocr_marked(self, sha256s: Sequence[str]) -> set[str]:
        return {sha for sha in sha256s if sha in self._ocr}

    def add_image_hashes(
        self,
        content_id: int,
        hashes: Sequence[tuple[str, str, int]],
        bands: Sequence[tuple[int, int, str]],
    ) -> None:
        stored = self._image_hashes.setdefault(content_id, {})
        for view, kind, value in hashes:
            stored.setdefault((view, kind), value)
        for band, value, view in bands:
            self._image_bands[band, value].add((content_id, view))

    def image_candidates(
        self, probes: Sequence[tuple[int, Sequence[int]]]
    ) -> list[tuple[int, str, str, int]]:
        found: set[tuple[int, str]] = set()
        for band, values in probes:
            for value in values:
                found |= self._image_bands.get((band, value), set())
        return [
            (content_id, view, kind, h)
            for content_id, view in sorted(found)
            for (stored_view, kind), h in sorted(self._image_hashes.get(content_id, {}).items())
            if stored_view == view
        ]

    def image_hashes(self, content_ids: Sequence[int]) -> dict[int, list[tuple[str, str, int]]]:
        return {
            content_id: [(view, kind, h) for (view, kind), h in sorted(stored.items())]
            for content_id in content_ids
            if (stored := self._image_hashes.get(content_id))
        }

    def image_bands(self, content_ids: Sequence[int]) -> dict[int, list[tuple[int, int, str]]]:
        wanted = set(content_ids) & set(self._image_hashes)
        result: dict[int, list[tuple[int, int, str]]] = {}
        for (band, value), held in self._image_bands.items():
            for content_id, view in held:
                if content_id in wanted:
                    result.setdefault(content_id, []).append((band, value, view))
        return {c: sorted(rows, key=lambda r: (r[2], r[0], r[1])) for c, rows in result.items()}

    def count_pictures(self) -> int:
        return len(self._image_hashes)

    def most_common(self, limit: int) -> list[tuple[int, int]]:
        # As the other backends: their frequencies keep no fingerprint held once.
        ranked = sorted(self._frequencies.items(), key=lambda item: (-item[1], item[0]))
        return [(h, n) for h, n in ranked if n >= 2][:limit]

    def count_public_documents(self) -> int:
        return sum(1 for d in self._documents.values() if self._contents[d.content_id][0].public)

    def count_contents(self) -> int:
        return len(self._contents)

    def count_documents(self) -> int:
        return len(self._documents)

    def counts(self) -> dict[str, int]:
        return {
            "documents": len(self._documents),
            "contents": len(self._contents),
            "fingerprints": sum(len(p) for p in self._postings.values()),
        }

    def commit(self) -> None:
        """Nothing to flush."""

    def rollback(self) -> bool:
        """Changes are made in place: they stay (False)."""
        return False

    def close(self) -> None:
        """Nothing to release."""
