"""Worker processes a crafted file cannot take down: every read of evidence bounded.

A parser that loops on a hostile PDF, or balloons on a decompression bomb,
must cost one ``error`` record, not the scan. All reading of evidence
(containers as well as documents) happens in worker processes of a
:class:`Pool`:

* each worker is the leader of its own process group, so a timeout kills
  the worker *and* whatever it started (``pdftotext`` and friends) with one
  ``killpg``; a worker dies with the process that started it (Linux
  ``PR_SET_PDEATHSIG``), so a killed scan leaves nothing behind;
* its address space is capped (``RLIMIT_AS``, inherited by its children), by
  default a share of the machine's memory split across ``jobs``;
* the time limit applies to each *step* of a job, not to the whole job: a
  job that reads an archive reports a step per member, so a 50,000-member
  export is not cut short by a limit meant for one document, while a member
  that hangs still costs only its own time.

A job's steps stream back as parts; when a worker is stopped, the parts it
already sent are kept and the caller learns which step failed (and may
resume the job after it).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from .errors import ConfigurationError
from .procs import die_with_parent

__all__ = [
    "DEFAULT_ISOLATION",
    "Done",
    "Failure",
    "Isolation",
    "Pool",
    "Progress",
    "default_worker_memory",
    "run_isolated",
    "run_steps",
]

K = TypeVar("K")
A = TypeVar("A")
R = TypeVar("R")

_MIN_MEMORY = 256 << 20


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return 8 << 30


def default_worker_memory(jobs: int) -> int:
    """Address-space cap of one worker: a quarter of the machine's memory shared by
    ``jobs`` workers, between 1 and 2 GiB each (a 24 GiB laptop: 2 GiB; 8 GiB with 2 jobs: 1 GiB).
    """
    share = _physical_memory() // 4 // max(1, jobs)
    return max(1 << 30, min(2 << 30, share))


@dataclass(frozen=True)
class Isolation:
    """How work is isolated: worker count, time limit per step, per-worker memory cap."""

    jobs: int = 1
    #: Seconds one step (one document, one member) may take.
    timeout_seconds: float = 300.0
    #: Address space of one worker process (bytes); None: :func:`default_worker_memory`;
    #: 0 leaves it uncapped.
    memory_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ConfigurationError(f"jobs must be at least 1, not {self.jobs}")
        if not self.timeout_seconds > 0:
            raise ConfigurationError("the per-item time limit must be positive")
        if self.memory_bytes is None:
            object.__setattr__(self, "memory_bytes", default_worker_memory(self.jobs))
        elif self.memory_bytes and self.memory_bytes < _MIN_MEMORY:
            raise ConfigurationError("the worker memory cap must be at least 256 MiB")

    @property
    def memory_cap(self) -> int:
        """The resolved memory cap in bytes (0: none)."""
        return self.memory_bytes or 0


DEFAULT_ISOLATION = Isolation()


@dataclass(frozen=True)
class Failure:
    """Why a job gave no (complete) result: a person-readable line."""

    reason: str


@dataclass(frozen=True)
class Done(Generic[K]):
    """A finished job: its parts, in order, then its result or the Failure that ended it.

    ``steps`` counts the steps the job started; on a failure, ``step`` is the
    label of the step in progress (None if it failed between steps).
    """

    key: K
    parts: list[Any]
    result: Any
    steps: int = 0
    step: str | None = None
    step_kind: str = ""


class Progress:
    """Given to a step-wise job: announce each step, send each part as it is ready."""

    def __init__(self, conn: Connection | None = None, job_id: int = 0) -> None:
        self._conn = conn
        self._job_id = job_id
        self.parts: list[Any] = []  # only when running in-process (no connection)

    def step(self, label: str, kind: str = "") -> None:
        """A new step begins: its time limit starts now."""
        if self._conn is not None:
            self._conn.send(("step", self._job_id, (label, kind)))

    def part(self, payload: Any) -> None:
        """A result of the job, sent back at once (kept if the job is stopped later)."""
        if self._conn is not None:
            self._conn.send(("part", self._job_id, payload))
        else:
            self.parts.append(payload)


# -- the worker side -------------------------------------------------------------


def _cap_memory(memory_bytes: int) -> None:
    if memory_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _describe(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _serve(
    conn: Connection,
    arm_death_signal: Callable[[], None],
    memory_bytes: int,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    """A worker's life: own process group, capped, serving jobs until told to stop."""
    with contextlib.suppress(OSError):  # already a group leader
        os.setpgid(0, 0)
    arm_death_signal()  # a scan killed with kill -9 leaves no worker behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the scanning process
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _cap_memory(memory_bytes)
    try:
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:
        conn.send(("init-failed", 0, _describe(exc)))
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, function, argument, stepwise = message
        progress = Progress(conn, job_id)
        try:
            result = function(argument, progress) if stepwise else function(argument)
        except MemoryError:
            conn.send(("fatal", job_id, f"ran out of memory (worker cap {memory_bytes >> 20} MiB)"))
            os._exit(1)  # a worker that ran out of memory is not trusted further
        except Exception as exc:
            conn.send(("failed", job_id, f"internal error: {_describe(exc)}"))
        else:
            try:
                conn.send(("done", job_id, result))
            except Exception as exc:  # unpicklable result: a bug, reported as the job's
                conn.send(("failed", job_id, f"internal error: {_describe(exc)}"))


# -- the supervising side -----------------------------------------------------------


@dataclass
class _Job:
    id: int
    key: Any
    function: Callable[..., Any]
    argument: Any
    stepwise: bool
    parts: list[Any] = field(default_factory=list)
    steps: int = 0
    step: str | None = None
    step_kind: str = ""


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: _Job | None = None
    deadline: float = math.inf


class Pool:
    """Worker processes with a time limit per step; see the module docstring.

    ``submit`` queues a job; ``poll`` waits for finished jobs (:class:`Done`).
    Leaving the ``with`` block normally lets workers finish their current job;
    leaving it by an exception (Ctrl-C included) kills every worker group at once.
    """

    def __init__(
        self,
        isolation: Isolation,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self.isolation = isolation
        self._initializer = initializer
        self._initargs = initargs
        self._context = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []
        self._queue: deque[_Job] = deque()
        self._next_id = 0
        self._closed = False

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.kill()

    # -- jobs

    def submit(
        self, key: Any, function: Callable[..., Any], argument: Any, *, stepwise: bool = False
    ) -> None:
        """Queue ``function(argument)`` (or ``function(argument, progress)`` when stepwise)."""
        self._next_id += 1
        self._queue.append(_Job(self._next_id, key, function, argument, stepwise))
        self._dispatch()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet returned by :meth:`poll`."""
        return len(self._queue) + sum(w.job is not None for w in self._workers)

    def poll(self, timeout: float | None = None) -> list[Done[Any]]:
        """Finished jobs, waiting up to ``timeout`` seconds (None: until one finishes)."""
        finished: list[Done[Any]] = []
        limit = math.inf if timeout is None else time.monotonic() + timeout
        while True:
            self._dispatch()
            self._enforce_deadlines(finished)
            busy = [w for w in self._workers if w.job is not None]
            if finished or not busy:
                return finished
            now = time.monotonic()
            until = min(limit, *(w.deadline for w in busy))
            if now >= limit:
                return finished
            waiting = max(0.0, min(until - now, 1.0))
            handles: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
            ready = set(wait(handles, waiting))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._drain(worker, finished)

    def _drain(self, worker: _Worker, finished: list[Done[Any]]) -> None:
        try:
            while worker.conn.poll():
                kind, _, payload = worker.conn.recv()
                job = worker.job
                if job is None:  # pragma: no cover - nothing was asked
                    continue
                if kind == "step":
                    job.steps += 1
                    job.step, job.step_kind = payload
                    worker.deadline = time.monotonic() + self.isolation.timeout_seconds
                elif kind == "part":
                    job.parts.append(payload)
                    worker.deadline = time.monotonic() + self.isolation.timeout_seconds
                elif kind in ("done", "failed", "fatal", "init-failed"):
                    result = payload if kind == "done" else Failure(str(payload))
                    finished.append(self._finish(job, result))
                    worker.job = None
                    worker.deadline = math.inf
                    if kind == "fatal":  # the worker exits: never hand it another job
                        self._bury(worker, finished, None)
                        return
                    if kind == "init-failed":
                        raise ConfigurationError(f"worker could not start: {payload}")
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive() or worker.conn.closed:
            self._bury(worker, finished, None)

    def _finish(self, job: _Job, result: Any) -> Done[Any]:
        step = job.step if isinstance(result, Failure) else None
        return Done(job.key, job.parts, result, job.steps, step, job.step_kind)

    def _bury(self, worker: _Worker, finished: list[Done[Any]], reason: str | None) -> None:
        """A worker died or was stopped: its job fails, a fresh worker takes its place."""
        self._kill_worker(worker)
        if worker in self._workers:
            self._workers.remove(worker)
        job = worker.job
        if job is not None:
            if reason is None:
                code = worker.process.exitcode
                reason = (
                    f"the worker process died (signal {-code})"
                    if code is not None and code < 0
                    else f"the worker process died (exit code {code})"
                )
                if code == -signal.SIGKILL and self.isolation.memory_cap:
                    reason += " — killed, perhaps out of memory"
            finished.append(self._finish(job, Failure(reason)))

    def _enforce_deadlines(self, finished: list[Done[Any]]) -> None:
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.job is not None and now >= worker.deadline:
                # Last messages first: a part sent just before the limit is kept.
                self._drain(worker, finished)
                if worker.job is not None and worker in self._workers:
                    limit = f"{self.isolation.timeout_seconds:g}"
                    self._bury(
                        worker, finished, f"timed out after {limit} s: the worker was stopped"
                    )

    def _dispatch(self) -> None:
        while self._queue:
            worker = next((w for w in self._workers if w.job is None), None)
            if worker is None:
                if len(self._workers) >= self.isolation.jobs:
                    return
                worker = self._start_worker()
            job = self._queue.popleft()
            worker.job = job
            worker.deadline = time.monotonic() + self.isolation.timeout_seconds
            try:
                worker.conn.send((job.id, job.function, job.argument, job.stepwise))
            except (OSError, ValueError) as exc:
                worker.job = None
                self._kill_worker(worker)
                self._workers.remove(worker)
                self._queue.appendleft(job)
                raise ConfigurationError(f"cannot hand work to a worker: {exc}") from exc

    def _start_worker(self) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_serve,
            args=(
                theirs,
                die_with_parent(),
                self.isolation.memory_cap,
                self._initializer,
                self._initargs,
            ),
            daemon=True,
        )
        process.start()
        theirs.close()
        if process.pid is not None:
            with contextlib.suppress(OSError):  # also here: no race with a quick killpg
                os.setpgid(process.pid, process.pid)
        worker = _Worker(process, ours)
        self._workers.append(worker)
        return worker

    @staticmethod
    def _kill_worker(worker: _Worker) -> None:
        pid = worker.process.pid
        if pid is not None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                    break
                except (ProcessLookupError, PermissionError):
                    continue
        worker.process.join(5)
        worker.conn.close()

    # -- stopping

    def close(self) -> None:
        """Let idle workers go; kill what is still busy (nothing is left running)."""
        if self._closed:
            return
        self._closed = True
        for worker in self._workers:
            if worker.job is None:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in self._workers:
            if worker.job is None:
                worker.process.join(max(0.0, deadline - time.monotonic()))
            self._kill_worker(worker)
        self._workers.clear()
        self._queue.clear()

    def kill(self) -> None:
        """Stop everything at once: every worker and every process it started."""
        self._closed = True
        for worker in self._workers:
            self._kill_worker(worker)
        self._workers.clear()
        self._queue.clear()


def run_steps(
    isolation: Isolation,
    function: Callable[[A, Progress], Any],
    work: Iterable[tuple[K, A | None]],
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    resume: Callable[[A, Done[K]], A | None] | None = None,
) -> Iterator[Done[K]]:
    """Run step-wise jobs in workers, yielding each :class:`Done` in the order given.

    An argument of None passes through as a Done with no parts and a None
    result, keeping its place. When a job fails, ``resume(argument, done)``
    may return an argument that carries on after the failed step: its parts
    are appended to the same Done, after the failure, which is kept in
    ``parts`` as a :class:`Failure` marking where it happened.
    """
    window = 4 * isolation.jobs
    with Pool(isolation, initializer, initargs) as pool:
        order: deque[int] = deque()
        ready: dict[int, Done[K]] = {}
        carry: dict[int, tuple[A, list[Any]]] = {}
        keys: dict[int, K] = {}

        def absorb(done: Done[K]) -> None:
            slot = done.key
            assert isinstance(slot, int)
            argument, earlier = carry.pop(slot)
            parts = earlier + done.parts
            if isinstance(done.result, Failure) and resume is not None:
                follow = resume(argument, done)
                if follow is not None:
                    carry[slot] = (follow, [*parts, done])
                    pool.submit(slot, function, follow, stepwise=True)
                    return
            ready[slot] = Done(
                keys[slot], parts, done.result, done.steps, done.step, done.step_kind
            )

        def flush() -> Iterator[Done[K]]:
            while order and order[0] in ready:
                slot = order.popleft()
                keys.pop(slot)
                yield ready.pop(slot)

        for counter, (key, argument) in enumerate(work, start=1):
            order.append(counter)
            keys[counter] = key
            if argument is None:
                ready[counter] = Done(key, [], None)
            else:
                carry[counter] = (argument, [])
                pool.submit(counter, function, argument, stepwise=True)
            while pool.pending >= window:
                for done in pool.poll():
                    absorb(done)
            yield from flush()
        while pool.pending:
            for done in pool.poll():
                absorb(done)
            yield from flush()
        yield from flush()


def run_isolated(
    isolation: Isolation,
    function: Callable[[A], R],
    work: Iterable[tuple[K, A | None]],
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[tuple[K, R | Failure | None]]:
    """Run ``function`` on each argument in workers, yielding (key, result) in order.

    An argument of None is passed through as a result of None. A result is a
    :class:`Failure` when the worker timed out or died.
    """
    for done in run_steps(
        isolation,
        _Plain(function),
        work,
        initializer=initializer,
        initargs=initargs,
    ):
        yield done.key, done.result


class _Plain(Generic[A, R]):
    """A one-step function as a step-wise job (picklable: a module-level function inside)."""

    def __init__(self, function: Callable[[A], R]) -> None:
        self.function = function

    def __call__(self, argument: A, progress: Progress) -> R:
        return self.function(argument)
