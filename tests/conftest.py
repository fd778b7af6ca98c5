"""Shared fixtures: one PDF cache per test session, a deterministic Hypothesis profile in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests import factories

# CI must not fail on one run and pass on the next: same examples every time.
# (no deadline: shared CI machines are slow in bursts; no database: a clean clone has none)
settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
# Elsewhere random examples, but no deadline either: parsers fed hostile input are timed by
# their own bounds, and a loaded machine must not turn a slow example into a failure.
settings.register_profile("local", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "local")


@pytest.fixture(scope="session", autouse=True)
def factory_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Session folder where tests.factories caches LibreOffice PDFs by content hash."""
    cache = tmp_path_factory.mktemp("factory-cache")
    factories.set_cache_dir(cache)
    yield cache
    factories.set_cache_dir(None)


@pytest.fixture(scope="session")
def needs_soffice() -> None:
    """Skip (visibly) when LibreOffice is not installed."""
    if not factories.soffice_available():
        pytest.skip("LibreOffice (soffice) is not installed: cannot make test PDFs")
