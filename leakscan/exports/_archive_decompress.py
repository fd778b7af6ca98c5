"""Compressed data decoded a bounded piece at a time, every byte counted against the budget.

:class:`_Decoder` gives zlib, bz2 and lzma one interface (ZIP members use
it too). :class:`_Expanding` is the decompressed bytes of a gzip/bzip2/xz
file, all its concatenated streams: read forward (and a little back, as
tarfile does), so skipping over a member costs what decompressing it costs
and a bomb stops early. Shared by :mod:`.zip_reader`, :mod:`.tar_reader` and
:mod:`.stream_reader`; it imports only :mod:`._archive_common`.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import zlib
from typing import IO, Any

from ._archive_common import (
    _CHUNK,
    _RATIO_FLOOR,
    Budget,
    _BombError,
    _Damaged,
    _describe,
    _skip_zeros,
)

#: Decompressed bytes a stream keeps behind its read position (tarfile seeks back a little).
_HISTORY = 4 << 20
_PIECE = 256 << 10
_STREAM_INPUT = 64 << 10
_RUNNING_RATIO_FLOOR = 64 << 20


_Engine = Any  # zlib's Decompress, bz2.BZ2Decompressor or lzma.LZMADecompressor


class _Decoder:
    """One compressed stream, decoded a bounded piece at a time (zlib, bz2, lzma alike)."""

    def __init__(self, engine: _Engine) -> None:
        self._engine = engine
        self._zlib = not isinstance(engine, (bz2.BZ2Decompressor, lzma.LZMADecompressor))
        self._tail = b""

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._zlib:
            if self._tail:
                data = self._tail + data
            out: bytes = self._engine.decompress(data, limit)
            self._tail = self._engine.unconsumed_tail
            return out
        result: bytes = self._engine.decompress(data, limit)
        return result

    @property
    def eof(self) -> bool:
        return bool(self._engine.eof)

    @property
    def needs_input(self) -> bool:
        if self._zlib:
            return not self._tail
        return bool(self._engine.needs_input)

    @property
    def unused_data(self) -> bytes:
        unused: bytes = self._engine.unused_data
        return unused


_STREAM_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}
_DECODE_ERRORS = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError, MemoryError)


def _stream_decoder(fmt: str) -> _Decoder:
    if fmt == "gzip":
        return _Decoder(zlib.decompressobj(31))
    if fmt == "bzip2":
        return _Decoder(bz2.BZ2Decompressor())
    return _Decoder(lzma.LZMADecompressor(lzma.FORMAT_XZ))


class _Expanding(io.RawIOBase):
    """The decompressed bytes of a gzip/bzip2/xz file (all its concatenated streams).

    Read forward (and a little back, as tarfile does); every byte produced is
    counted against the budget and the whole stream's ratio, so skipping over
    a member costs what decompressing it costs and a bomb stops early. Where
    data that is not another stream follows the last one, ``trailing_at``
    says where (an offset in the file).
    """

    def __init__(self, handle: IO[bytes], fmt: str, size: int, budget: Budget) -> None:
        super().__init__()
        self._handle = handle
        self._fmt = fmt
        self._size = size
        self._budget = budget
        handle.seek(0)
        self._decoder = _stream_decoder(fmt)
        self._input = b""
        self._read_in = 0
        self._buffer = bytearray()
        self._buffer_start = 0
        self._end = 0
        self._pos = 0
        self._finished = False
        self.streams = 1
        self.trailing_at: int | None = None
        self.produced = 0
        self._failure: _Damaged | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._pos + offset
        else:
            raise OSError(f"cannot seek from the end of a {self._fmt} stream")
        if target < self._buffer_start:
            raise OSError(f"cannot go back {self._pos - target} bytes in a {self._fmt} stream")
        while self._end < target and self._more():
            self._pos = min(target, self._end)
            self._trim()
        self._pos = target
        self._trim()
        return target

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = len(view)
        if self._failure is not None and self._pos >= self._end:
            raise self._failure
        try:
            while self._end - self._pos < wanted and self._more():
                pass
        except _Damaged as exc:
            if self._pos >= self._end:
                raise
            self._failure = exc  # what came before the damage is read first
        if self._pos >= self._end:
            return 0
        start = self._pos - self._buffer_start
        got = min(wanted, self._end - self._pos)
        view[:got] = self._buffer[start : start + got]
        self._pos += got
        self._trim()
        return got

    @property
    def failure(self) -> _Damaged | None:
        """The damage that cut the stream short, once the bytes before it were read."""
        return self._failure

    def account(self, count: int) -> None:
        """Count bytes produced beyond the stream (a sparse member's holes)."""
        self.produced += count
        self._budget.count_bytes(count)
        limits = self._budget.limits
        if self.produced > _RATIO_FLOOR and self.produced > limits.max_ratio * max(1, self._size):
            raise _BombError(
                f"refused: expands more than {limits.max_ratio}:1 (decompression bomb?)"
            )
        # A stream declares no sizes: past 64 MiB, the ratio of what it has read so far
        # counts too (zeros up front in an honest archive rarely run that long).
        if self.produced > _RUNNING_RATIO_FLOOR and self.produced > limits.max_ratio * max(
            1, self._read_in
        ):
            raise _BombError(
                f"refused: its first {self.produced} bytes came from {self._read_in} "
                f"compressed bytes, more than {limits.max_ratio}:1 (decompression bomb?)"
            )

    def allowance(self) -> int:
        """Bytes the stream may still produce before a limit stops it."""
        by_ratio = max(_RATIO_FLOOR, self._budget.limits.max_ratio * max(1, self._size))
        by_total = self._budget.allowed_total - self._budget.total_bytes
        return max(0, min(by_ratio - self.produced, by_total))

    def finish(self) -> None:
        """Read to the end of the last stream, so that ``trailing_at`` is known."""
        while self._more():
            self._pos = self._end
            self._trim()

    def _trim(self) -> None:
        keep_from = self._pos - _HISTORY
        if keep_from - self._buffer_start > _HISTORY:
            del self._buffer[: keep_from - self._buffer_start]
            self._buffer_start = keep_from

    def _more(self) -> bool:
        if self._finished:
            return False
        piece = self._produce()
        if not piece:
            return False
        self._buffer += piece
        self._end += len(piece)
        self.account(len(piece))
        return True

    def _produce(self) -> bytes:
        while True:
            decoder = self._decoder
            if decoder.eof:
                if not self._next_stream():
                    self._finished = True
                    return b""
                continue
            data = b""
            if decoder.needs_input:
                data, self._input = self._input, b""
                if not data:
                    # Small input pieces: output comes (and counts) before damage further on.
                    data = self._handle.read(_STREAM_INPUT)
                    self._read_in += len(data)
                if not data:
                    raise _Damaged(
                        f"truncated {self._fmt} data: it ends before its end-of-stream marker"
                    )
            try:
                out = decoder.decode(data, _PIECE)
            except _DECODE_ERRORS as exc:
                raise _Damaged(
                    f"damaged {self._fmt} data near byte {self._read_in}: {_describe(exc)}"
                ) from exc
            if out:
                return out
            if not data and not decoder.eof:  # no progress: a decoder that wants nothing
                raise _Damaged(f"damaged {self._fmt} data near byte {self._read_in}")

    def _next_stream(self) -> bool:
        """After one stream's end: start the next concatenated one, or note what follows."""
        rest = self._decoder.unused_data + self._input
        self._input = b""
        rest = rest.lstrip(b"\x00")
        if not rest:
            at, known = _skip_zeros(self._handle, self._read_in, self._size)
            if at >= self._size and known:
                return False
            self._handle.seek(at)
            rest = self._handle.read(_CHUNK)
            self._read_in = at + len(rest)
            if not known or not rest:
                self.trailing_at = at if rest else None
                return False
        magic = _STREAM_MAGIC[self._fmt]
        if len(rest) < len(magic):
            more = self._handle.read(len(magic))
            self._read_in += len(more)
            rest += more
        if rest.startswith(magic):
            self._decoder = _stream_decoder(self._fmt)
            self._input = rest
            self.streams += 1
            return True
        self.trailing_at = self._read_in - len(rest)
        return False
