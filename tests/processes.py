"""Which processes are still alive: for the tests that a stopped scan leaves none behind."""

from __future__ import annotations

import os


def alive_with(marker: str) -> list[int]:
    """Live processes (zombies excluded) whose command line holds ``marker``, not this one."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if marker.encode() in command and state != "Z":
            found.append(int(entry))
    return found
