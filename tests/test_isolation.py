"""Worker isolation: a hanging, crashing or ballooning item costs one error record, not the run."""

from __future__ import annotations

import os
import time

import pytest

from leakscan.errors import ConfigurationError
from leakscan.isolation import Failure, Isolation, Progress, run_isolated, run_steps
from tests.processes import alive_with


def _nothing() -> None:
    pass


def _behave(how: str) -> str:
    if how == "hang":
        time.sleep(60)
    elif how == "die":
        os._exit(9)
    elif how == "balloon":
        blocks = []
        for _ in range(64):
            blocks.append(bytearray(64 << 20))  # 4 GiB in all, over the cap
        return f"allocated {len(blocks)}"
    return f"done {how}"


def test_results_come_back_in_order_with_failures_in_place() -> None:
    work = [("a", "fine-1"), ("b", "hang"), ("c", None), ("d", "die"), ("e", "fine-2")]
    isolation = Isolation(jobs=2, timeout_seconds=2, memory_bytes=1 << 30)
    started = time.monotonic()
    results = list(run_isolated(isolation, _behave, work, initializer=_nothing))
    assert time.monotonic() - started < 30, "the hanging item was stopped, not waited for"
    assert [key for key, _ in results] == ["a", "b", "c", "d", "e"]
    outcome = dict(results)
    assert outcome["a"] == "done fine-1" and outcome["e"] == "done fine-2"
    assert outcome["c"] is None
    assert isinstance(outcome["b"], Failure) and "timed out after 2 s" in outcome["b"].reason
    assert isinstance(outcome["d"], Failure) and "died" in outcome["d"].reason


def test_memory_cap_stops_a_runaway_allocation() -> None:
    isolation = Isolation(jobs=1, timeout_seconds=60, memory_bytes=1 << 30)
    work = [("big", "balloon"), ("after", "ok")]
    results = dict(run_isolated(isolation, _behave, work, initializer=_nothing))
    assert isinstance(results["big"], Failure) and "memory" in results["big"].reason
    assert results["after"] == "done ok", "the pool goes on after the failure"


@pytest.mark.parametrize(
    "options",
    [{"jobs": 0}, {"timeout_seconds": 0}, {"memory_bytes": 1 << 20}],
)
def test_nonsense_settings_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError):
        Isolation(**options)  # type: ignore[arg-type]


def _spawn_and_hang(marker: str) -> str:
    import subprocess

    subprocess.Popen(["sleep", "300", marker])  # a tool the worker started, like pdftotext
    time.sleep(300)
    return "never"


def test_a_timeout_kills_the_worker_and_every_process_it_started() -> None:
    marker = f"leakscan-orphan-check-{os.getpid()}-{time.time_ns()}"
    isolation = Isolation(jobs=1, timeout_seconds=1.5, memory_bytes=1 << 30)
    work = [("hang", marker), ("after", "ok")]
    results = dict(run_isolated(isolation, _spawn_and_hang, work, initializer=_nothing))
    assert isinstance(results["hang"], Failure) and "timed out" in results["hang"].reason
    deadline = time.monotonic() + 5
    while alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive_with(marker) == [], "the child of the stopped worker was left running"


def _steps(count: int, progress: Progress) -> str:
    for number in range(count):
        progress.step(f"member {number}", "scan")
        time.sleep(0.4)  # each step well inside the limit, all of them well beyond it
        progress.part(number)
    return "all read"


def test_the_time_limit_is_per_step_so_long_containers_are_not_cut_short() -> None:
    isolation = Isolation(jobs=1, timeout_seconds=1.0, memory_bytes=1 << 30)
    [done] = list(run_steps(isolation, _steps, [("archive", 6)]))
    assert done.result == "all read" and done.parts == [0, 1, 2, 3, 4, 5]


def _hang_at_three(count: int, progress: Progress) -> str:
    for number in range(count):
        progress.step(f"member {number}", "scan")
        if number == 3:
            time.sleep(60)
        progress.part(number)
    return "end"


def test_a_stopped_step_keeps_the_parts_before_it_and_can_be_resumed() -> None:
    isolation = Isolation(jobs=1, timeout_seconds=1.0, memory_bytes=1 << 30)
    [done] = list(run_steps(isolation, _hang_at_three, [("archive", 3)]))
    assert done.result == "end" and done.parts == [0, 1, 2]
    [stopped] = list(run_steps(isolation, _hang_at_three, [("archive", 6)]))
    assert isinstance(stopped.result, Failure) and stopped.parts == [0, 1, 2]
    assert stopped.step == "member 3" and stopped.step_kind == "scan"


def test_memory_default_is_a_share_of_the_machine() -> None:
    one, four = Isolation(jobs=1).memory_cap, Isolation(jobs=4).memory_cap
    assert 1 << 30 <= four <= one <= 2 << 30
    assert Isolation(jobs=1, memory_bytes=0).memory_cap == 0
