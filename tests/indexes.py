"""An index of a few text documents, built the way users build one (``leakscan.build``)."""

from __future__ import annotations

from pathlib import Path

from leakscan import Index, build


def build_text_index(folder: Path, documents: dict[str, str], key: bytes) -> Path:
    """Write ``documents`` (relative path → text) under ``folder/archive`` and index them."""
    archive = folder / "archive"
    for relative, text in documents.items():
        path = archive / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    location = folder / "index.sqlite"
    with Index.create(location, key=key) as index:
        report = build(index, [archive])
    assert report.added == len(documents), report.summary_line()
    return location
