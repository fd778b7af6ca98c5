"""``leakscan index export`` and ``index import``: an index to a portable file and back.

Exit codes: 0 done, 2 anything refused or failed (one line on stderr): an
existing FILE without --force, an index whose last build did not complete, a
damaged or altered file, another key, scheme or index.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from .cli_common import CONTEXT, fail, index_option, key_file_option, sectioned, verbosity
from .errors import LeakscanError

__all__ = ["export_command", "import_command"]

_LOCK_TIMEOUT = click.option(
    "--lock-timeout",
    type=click.FloatRange(0),
    default=None,
    metavar="SECONDS",
    help="Give up (exit code 2) if a build of the index is still running after this long "
    "[default: wait until it has finished].",
)


class _Progress:
    """``N of M documents`` on stderr, redrawn in place, only when stderr is a terminal."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            click.echo(f"\r\x1b[K{self.verb} {done} of {total} documents", err=True, nl=False)
            self.shown = True

    def done(self) -> None:
        if self.shown:
            click.echo("\r\x1b[K", err=True, nl=False)


@contextmanager
def _one_line(progress: _Progress) -> Iterator[None]:
    try:
        yield
    except LeakscanError as exc:
        progress.done()
        fail(str(exc))
    progress.done()


@click.command(
    "export",
    cls=sectioned({"Index": ("--index", "--key-file"), "Output": ("--force",)}),
    context_settings=CONTEXT,
)
@click.argument("file", type=click.Path(dir_okay=False))
@index_option
@key_file_option
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@verbosity
def export_command(file: str, index_location: str, key_file: str | None, force: bool) -> None:
    """Write the index to FILE, to carry it to another machine or backend (`index import`).

    FILE holds what the index holds (fingerprints, token positions, encrypted
    alignment units, picture hashes, document paths, sizes and times, the key
    id and scheme), ends with a SHA-256 checksum, and holds no document text
    and never the key: the key travels separately (no key is needed to
    export). An index whose last build did not complete is refused.
    """
    from .index import Index
    from .index.portable_export import export_to_file

    progress = _Progress("exported")
    with (
        _one_line(progress),
        Index.open(index_location, key_file=key_file, readonly=True, need_key=False) as index,
    ):
        report = export_to_file(index, file, force=force, progress=progress)
    click.echo(report.summary_line(file))


@click.command(
    "import",
    cls=sectioned({"Index": ("--index", "--key-file", "--lock-timeout")}),
    context_settings=CONTEXT,
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@index_option
@key_file_option
@_LOCK_TIMEOUT
@verbosity
def import_command(
    file: str, index_location: str, key_file: str | None, lock_timeout: float | None
) -> None:
    """Read an index from FILE (written by `index export`) into the index.

    The whole file is checked first (structure and SHA-256 checksum): a
    damaged or altered one is refused and the index is not touched. A new
    index gets the export's index id, key id and scheme, and needs the key
    file the export was made with (--key-file, LEAKSCAN_KEY_FILE, or beside
    the new index): an import never makes a new key. Into an index that holds
    documents, FILE is merged only if it was exported from that very index
    (same index id, key and scheme): documents are replaced by path, as
    `index build` does. The index is marked incomplete until the import has
    finished, so scans refuse a failed one.
    """
    from .index.portable_import import import_index

    def waiting(message: str) -> None:
        click.echo(f"leakscan: {message}", err=True)

    progress = _Progress("imported")
    with _one_line(progress):
        report = import_index(
            file,
            index_location,
            key_file=key_file,
            lock_timeout=lock_timeout,
            on_wait=waiting,
            progress=progress,
        )
    click.echo(report.summary_line(index_location))
