"""A single gzip, bzip2 or xz file: a tar inside is read as a tar, anything else is one member.

Concatenated streams (as in ``cat a.gz b.gz``) are one member's data; data
after the last stream is reported as stray data, and what came before damage
is kept as evidence. Decompression is :mod:`._archive_decompress`'s, a tar
inside goes to :mod:`.tar_reader`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO

from ..errors import ExtractionError
from ._archive_common import (
    _CHUNK,
    Budget,
    Member,
    Refused,
    Select,
    _Damaged,
    _stray,
    _too_large,
)
from ._archive_decompress import _STREAM_MAGIC, _Expanding
from .tar_reader import _tar_members


def _read_compressed(
    handle: IO[bytes], name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    """A single gzip/bzip2/xz file: a tar inside is read as a tar, anything else is one
    member (concatenated streams, as in ``cat a.gz b.gz``, are one member's data)."""
    head = handle.read(6)
    fmt = next((k for k, magic in _STREAM_MAGIC.items() if head.startswith(magic)), None)
    if fmt is None:
        raise ExtractionError("not a gzip, bzip2 or xz file")
    stream = _Expanding(handle, fmt, size, budget)
    block = stream.read(512)
    stream.seek(0)
    if len(block) == 512 and block[257:262] == b"ustar":
        yield from _tar_members(stream, None, budget, select, stream)
        stream.finish()
    else:
        yield from _compressed_member(stream, fmt, name, budget, select)
    if stream.trailing_at is not None:
        yield from _stray(
            handle,
            stream.trailing_at,
            size,
            budget,
            select,
            f"data after the end of the {fmt} stream (appended data?)",
        )


def _compressed_member(
    stream: _Expanding, fmt: str, name: str, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    inner = PurePosixPath(name.rsplit("!", 1)[-1]).name
    for suffix in (".gz", ".tgz", ".bz2", ".xz"):
        if inner.lower().endswith(suffix):
            inner = inner[: -len(suffix)] + (".tar" if suffix == ".tgz" else "")
            break
    inner = inner or "data"
    if not select(inner):
        return
    budget.count_member()
    parts: list[bytes] = []
    got = 0
    try:
        while chunk := stream.read(_CHUNK):
            got += len(chunk)
            if got > budget.limits.max_member_bytes:
                yield _too_large(inner, budget.limits)
                return
            parts.append(chunk)
    except _Damaged as exc:
        if got:  # what came before the damage is evidence too
            note = f"damaged {fmt} data: only the first {got} bytes could be read"
            yield Member(inner, b"".join(parts), (note,))
        raise ExtractionError(f"{exc} (the first {got} bytes were read)") from exc
    notes = (f"{stream.streams} concatenated {fmt} streams",) if stream.streams > 1 else ()
    yield Member(inner, b"".join(parts), notes)
