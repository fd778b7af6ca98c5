"""The writer lock of an index file: one build at a time; readers never take it.

An exclusive ``flock`` on ``<index>.lock``, beside the index, serializes
writers. It is taken before the index is created or opened for writing, so
an index (and its key) is created exactly once. The holder writes its pid
into the file so that a waiting writer can say whom it waits for. The kernel
drops the lock when the holder exits, ``kill -9`` included. The file itself
is never removed: removing a lock file that another process waits on lets
two writers in.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import LeakscanIndexError

__all__ = ["WriterLock", "lock_path_of", "writer_running"]

_POLL_SECONDS = 0.05

#: Lock files this process holds (real path → descriptor).
_held: dict[str, int] = {}


def _forget_in_child() -> None:
    """A forked child (a build's worker) must not keep its parent's lock alive after the
    parent dies: closing the child's copy of the descriptor leaves the parent's lock be."""
    for fd in _held.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def lock_path_of(index_path: str | os.PathLike[str]) -> Path:
    """The lock file of the index file at ``index_path``.

    >>> lock_path_of("fingerprints/index.sqlite").as_posix()
    'fingerprints/index.sqlite.lock'
    """
    return Path(f"{os.fspath(index_path)}.lock")


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        pid = ""
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


def writer_running(index_path: str | os.PathLike[str]) -> bool:
    """Whether some process holds the writer lock of this index now (without waiting for it)."""
    path = lock_path_of(index_path)
    if os.path.realpath(path) in _held:
        return True
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class WriterLock:
    """The exclusive writer lock of one index file."""

    def __init__(self, index_path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = lock_path_of(index_path)
        self.name = name or os.fspath(index_path)
        self._key = os.path.realpath(self.path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(
        self, timeout: float | None = None, on_wait: Callable[[str], None] | None = None
    ) -> None:
        """Take the lock, waiting up to ``timeout`` seconds (None: as long as it takes).

        ``on_wait`` is told once, in one line, when another build holds the lock.
        """
        if self._fd is not None:
            return
        if self._key in _held:
            raise LeakscanIndexError(f"{self.name} is already open for writing in this process")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LeakscanIndexError(
                f"cannot create the lock file {self.path} of index {self.name}: {exc.strerror}"
            ) from exc
        try:
            self._wait(fd, timeout, on_wait)
        except BaseException:
            os.close(fd)
            raise
        try:  # who holds it is only for the messages of those who wait: never fail on it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass
        self._fd = fd
        _held[self._key] = fd

    def _wait(self, fd: int, timeout: float | None, on_wait: Callable[[str], None] | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        attempts = 0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                attempts += 1
            except OSError as exc:
                raise LeakscanIndexError(
                    f"cannot lock {self.path} for index {self.name}: {exc.strerror}"
                ) from exc
            if deadline is not None and time.monotonic() >= deadline:
                raise LeakscanIndexError(
                    f"another index build on {self.name} ({_holder(fd)}) is still running; "
                    f"gave up waiting after {timeout:g} s"
                )
            # A scanner checking whether a build runs holds the lock for microseconds:
            # only a lock still held at the second try is another build.
            if attempts == 2 and on_wait is not None:
                on_wait(
                    f"waiting for another index build on {self.name} ({_holder(fd)}) to finish…"
                )
            time.sleep(_POLL_SECONDS)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _held.pop(self._key, None)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
