"""Worker processes a crafted file cannot take down: each item under a time limit and a memory cap.

A parser that loops on a hostile PDF, or balloons on a decompression bomb,
must cost one ``error`` record, not the scan. Each item runs in a worker
process (pebble's pool): past the time limit the worker is killed and
replaced; its address space is capped (``RLIMIT_AS``, inherited by the
``pdftotext`` it starts), so a runaway allocation fails inside the worker.
Results come back in the order the work was given, with a bounded number in
flight, so memory stays bounded however many items there are.
"""

from __future__ import annotations

import resource
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import ConfigurationError

__all__ = ["DEFAULT_ISOLATION", "Failure", "Isolation", "open_pool", "outcome", "run_isolated"]

K = TypeVar("K")
A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class Isolation:
    """How items are isolated: worker count, per-item time limit, per-worker memory cap."""

    jobs: int = 1
    #: Seconds one item may take, extraction and matching together.
    timeout_seconds: float = 300.0
    #: Address space of one worker process (bytes); 0 leaves it uncapped.
    memory_bytes: int = 4 << 30

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ConfigurationError(f"jobs must be at least 1, not {self.jobs}")
        if self.timeout_seconds <= 0:
            raise ConfigurationError("the per-item time limit must be positive")
        if self.memory_bytes and self.memory_bytes < 256 << 20:
            raise ConfigurationError("the worker memory cap must be at least 256 MiB")


DEFAULT_ISOLATION = Isolation()


@dataclass(frozen=True)
class Failure:
    """Why an item's work gave no result: a person-readable line."""

    reason: str


def _cap_memory(memory_bytes: int) -> None:
    if memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _start_worker(
    memory_bytes: int, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> None:
    _cap_memory(memory_bytes)
    initializer(*initargs)


def open_pool(
    isolation: Isolation, initializer: Callable[..., None], initargs: tuple[Any, ...] = ()
) -> Any:
    """A pebble process pool whose workers run ``initializer`` under the memory cap.

    Submit with ``pool.schedule(function, args=(...,), timeout=isolation.timeout_seconds)``
    and read results with :func:`outcome`.
    """
    from pebble import ProcessPool

    return ProcessPool(
        max_workers=isolation.jobs,
        initializer=_start_worker,
        initargs=(isolation.memory_bytes, initializer, initargs),
    )


def outcome(future: Any, isolation: Isolation) -> Any:
    """A finished future's result, or the :class:`Failure` that ended its worker."""
    from pebble import ProcessExpired

    try:
        return future.result()
    except FutureTimeout:
        return Failure(f"timed out after {isolation.timeout_seconds:g} s: the worker was stopped")
    except ProcessExpired as exc:
        return Failure(f"the worker process died (exit code {exc.exitcode}) while reading it")
    except MemoryError:
        return Failure(f"ran out of memory (worker cap {isolation.memory_bytes >> 20} MiB)")


def run_isolated(
    isolation: Isolation,
    function: Callable[[A], R],
    work: Iterable[tuple[K, A | None]],
    *,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
) -> Iterator[tuple[K, R | Failure | None]]:
    """Run ``function`` on each argument in worker processes, yielding (key, result) in order.

    An argument of None is passed through as a result of None, so items that
    need no work keep their place in the order. A result is a
    :class:`Failure` when the worker timed out or died.
    """
    with open_pool(isolation, initializer, initargs) as pool:
        queue: deque[tuple[K, Any]] = deque()
        for key, argument in work:
            future = (
                None
                if argument is None
                else pool.schedule(function, args=(argument,), timeout=isolation.timeout_seconds)
            )
            queue.append((key, future))
            while len(queue) > 4 * isolation.jobs:
                key, future = queue.popleft()
                yield key, None if future is None else outcome(future, isolation)
        while queue:
            key, future = queue.popleft()
            yield key, None if future is None else outcome(future, isolation)
