"""Helper programs (pdftotext, later tesseract and LibreOffice) that cannot outlive their caller.

Extraction runs in a worker process that is killed at its time limit or when
it exceeds its memory cap. A helper it started would be left running,
orphaned, still chewing on the hostile file. On Linux a child can ask the
kernel to send it a signal when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
:func:`die_with_parent` makes a ``preexec_fn`` that asks for SIGKILL, and
:func:`run` starts a helper with it and its own timeout. Elsewhere the
preexec function does nothing and the timeout is the only bound.

The "parent" the kernel watches is the *thread* that forked the child: start
helpers from a thread that waits for them (as :func:`run` does), not from a
short-lived one.

    >>> run(["true"], timeout=10).returncode
    0
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["PR_SET_PDEATHSIG", "die_with_parent", "run", "supported"]

#: prctl option: the signal to get when the parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, loaded in the parent: the child only calls it (no dlopen after fork)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # no C library to load, or one without prctl
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    function: Callable[..., int] = prctl
    return function


def supported() -> bool:
    """True where a child can be told to die with its parent (Linux)."""
    return _prctl() is not None


def die_with_parent(death_signal: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` making the child receive ``death_signal`` when this process dies.

    Call it in the parent (it records the parent's pid and loads libc there);
    the returned function runs in the child between fork and exec. If the
    parent died before the request took effect, the child kills itself.
    Where unsupported, the returned function does nothing.
    """
    prctl = _prctl()
    parent = os.getpid()

    def preexec() -> None:
        if prctl is None:
            return
        if prctl(PR_SET_PDEATHSIG, death_signal, 0, 0) != 0:
            return  # not fatal: the caller's timeout still bounds the helper
        if os.getppid() != parent:  # the parent is already gone: no signal will come
            os.kill(os.getpid(), death_signal)

    return preexec


def run(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    timeout: float,
    **options: Any,
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run`` of a helper that dies with this process and is killed at ``timeout``.

    Output is captured; raises ``subprocess.TimeoutExpired`` (after killing
    the helper) as ``subprocess.run`` does.
    """
    return subprocess.run(
        list(args),
        input=input,
        capture_output=True,
        timeout=timeout,
        check=False,
        preexec_fn=die_with_parent(),
        **options,
    )
