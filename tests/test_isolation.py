"""Worker isolation: a hanging, crashing or ballooning item costs one error record, not the run."""

from __future__ import annotations

import os
import time

import pytest

from leakscan.errors import ConfigurationError
from leakscan.isolation import Failure, Isolation, run_isolated


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
