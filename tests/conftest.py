"""Shared fixtures: one PDF cache per test session, a deterministic Hypothesis profile in CI,
a throwaway PostgreSQL server for the tests that ask for one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests import factories
from tests.postgres_server import PostgresServer, ServerUnavailable, throwaway_server

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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for the session (a Unix socket, no network), stopped
    and removed at the end, failures included; skips (visibly) only if it cannot start."""
    try:
        server = throwaway_server()
        running = server.__enter__()
    except ServerUnavailable as exc:
        pytest.skip(f"PostgreSQL: {exc}")
    try:
        yield running
    finally:
        server.__exit__(None, None, None)
