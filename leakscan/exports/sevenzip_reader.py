"""7z archives read with py7zr (imported only when a 7z is opened), members kept in memory.

Members are registered by id, not by name (names may repeat or be hostile
paths, and py7zr's own name checks are for writing to disk), and read in
batches of about one member limit: bounded memory, few passes over solid
blocks. A member whose solid block declares a ratio over the limit is
refused before the block is decompressed; every byte decompressed (skipped
ones too) counts against the budget and against the whole archive's ratio.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from ..errors import EncryptedDocumentError, ExtractionError
from ._archive_common import (
    _RATIO_FLOOR,
    Budget,
    Member,
    Refused,
    Select,
    _BombError,
    _describe,
    _ratio_refusal,
    _screen,
    _shown_name,
    _too_large,
)


def _read_7z(
    handle: IO[bytes], _name: str, size: int, budget: Budget, select: Select
) -> Iterator[Member | Refused]:
    import py7zr
    from py7zr.exceptions import PasswordRequired

    limits = budget.limits
    try:
        archive = py7zr.SevenZipFile(handle, mode="r")
    except PasswordRequired as exc:
        raise EncryptedDocumentError("password-protected 7z archive (encrypted names)") from exc
    except Exception as exc:
        raise ExtractionError(f"damaged or truncated 7z archive: {_describe(exc)}") from exc
    with archive:
        encrypted = archive.password_protected
        wanted: list[tuple[int, str, list[str], int]] = []
        for number, info in enumerate(archive.files, 1):
            if info.is_directory:
                continue
            notes: list[str] = []
            member = _shown_name(info.filename or "", number, notes)
            block = _7z_block_ratio(info)
            bomb = block is not None and block[0] > max(
                _RATIO_FLOOR, limits.max_ratio * max(1, block[1])
            )
            verdict = _screen(
                member,
                budget,
                select,
                size=0 if bomb else info.uncompressed or 0,
                link=info.is_symlink,
                special=bool(getattr(info, "is_socket", False)),
                encrypted=encrypted,
            )
            if verdict is not True:
                if verdict:
                    yield verdict
                continue
            if block is not None and bomb:
                # Reading any member of a solid block decompresses the block up to it.
                yield budget.bomb(_ratio_refusal(member, block[0], block[1], limits))
                continue
            wanted.append((info.id, member, notes, info.uncompressed or 0))
        # Read in batches of about one member limit: bounded memory, few passes
        # over solid blocks. Every byte decompressed (skipped ones too) counts
        # against the budget and against the whole archive's ratio.
        spent = [0]
        batch: list[tuple[int, str, list[str], int]] = []
        batch_bytes = 0
        for item in [*wanted, None]:
            if batch and (item is None or batch_bytes + item[3] > limits.max_member_bytes):
                yield from _read_7z_batch(archive, batch, budget, size, spent)
                archive.reset()
                batch, batch_bytes = [], 0
            if item is not None:
                batch.append(item)
                batch_bytes += item[3]


def _7z_block_ratio(info: Any) -> tuple[int, int] | None:
    """The declared unpacked and packed sizes of the (solid) block holding a 7z member."""
    folder = getattr(info, "folder", None)
    if folder is None:
        return None
    try:
        unpacked = max(int(size) for size in folder.unpacksizes)
        packed = sum(int(size) for size in info._get_property("packsizes") or ())
    except (AttributeError, TypeError, ValueError):
        return None
    return unpacked, packed


def _read_7z_batch(
    archive: Any,
    batch: list[tuple[int, str, list[str], int]],
    budget: Budget,
    size: int,
    spent: list[int],
) -> Iterator[Member | Refused]:
    from py7zr.exceptions import DecompressionBombError
    from py7zr.io import MemIO, Py7zIO, WriterFactory

    limits = budget.limits

    class _Capped(Py7zIO):
        def __init__(self) -> None:
            self.buffer = io.BytesIO()
            self.over = False
            self.done = False

        def write(self, s: bytes | bytearray) -> int:
            if self.over or self.buffer.tell() + len(s) > limits.max_member_bytes:
                self.over = True
                return len(s)
            return self.buffer.write(s)

        def read(self, size: int | None = None) -> bytes:
            return self.buffer.read(size)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self.buffer.seek(offset, whence)

        def flush(self) -> None:
            pass

        def close(self) -> None:
            self.done = True

        def size(self) -> int:
            return self.buffer.getbuffer().nbytes

    class _Factory(WriterFactory):
        def __init__(self) -> None:
            self.products: dict[str, _Capped] = {}

        def create(self, filename: str) -> Py7zIO:
            product = self.products[filename] = _Capped()
            return product

    factory = _Factory()
    worker = archive.worker
    targets = {file_id for file_id, *_ in batch}
    for info in archive.files:
        # Registered by id, not by name: names may repeat or be hostile paths,
        # and py7zr's own name checks are for writing to disk.
        if info.id in targets:
            worker.register_filelike(info.id, MemIO(str(info.id), factory))
        else:
            worker.register_filelike(info.id, None)
    by_ratio = max(_RATIO_FLOOR, limits.max_ratio * max(1, size)) - spent[0]
    by_total = budget.allowed_total - budget.total_bytes
    worker.max_extract_size = max(0, min(by_ratio, by_total))
    failure: Exception | None = None
    try:
        worker.extract(archive.fp, None, parallel=False)
    except DecompressionBombError as exc:
        failure = _BombError(
            f"refused: expands more than {limits.max_ratio}:1 or beyond the total limit "
            "(decompression bomb?)"
        )
        failure.__cause__ = exc
    except Exception as exc:
        failure = ExtractionError(f"damaged or truncated 7z archive: {_describe(exc)}")
        failure.__cause__ = exc
    produced = int(getattr(worker, "_total_extracted", 0))
    spent[0] += produced
    budget.total_bytes += produced
    for file_id, member, notes, _declared in batch:
        product = factory.products.get(str(file_id))
        if product is None or not product.done:
            if failure is None:
                yield Refused(member, "listed in the 7z archive but could not be read")
        elif product.over:
            yield _too_large(member, limits)
        else:
            yield Member(member, product.buffer.getvalue(), tuple(notes))
    if failure is not None:
        raise failure
    if budget.total_bytes > budget.allowed_total:
        raise _BombError(
            f"refused: expands beyond the {budget.allowed_total}-byte total limit "
            "(decompression bomb?)"
        )
