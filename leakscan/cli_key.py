"""Key commands: ``leakscan key new PATH`` and ``leakscan index migrate-key``.

The fingerprint key lives in a key file apart from the index (see
:mod:`leakscan.keyfile`); these make one, and move the key of an index made
before key files out of it.
"""

from __future__ import annotations

import click

from .cli_common import CONTEXT, fail, index_option, key_file_option, verbosity
from .errors import LeakscanError

__all__ = ["key_group", "migrate_key_command"]


@click.group("key", context_settings=CONTEXT)
def key_group() -> None:
    """Make fingerprint key files (kept apart from the index, readable by their owner only)."""


@key_group.command("new", context_settings=CONTEXT)
@click.argument("path", type=click.Path(dir_okay=False))
@verbosity
def key_new(path: str) -> None:
    """Write a new random key to PATH (mode 0600) and print its key id.

    Never overwrites a file. Give it to `index build --key-file PATH` (or set
    LEAKSCAN_KEY_FILE) to build an index with it; several indexes may share
    one key file.
    """
    from .fingerprint import key_id
    from .keyfile import new_key_file

    try:
        key = new_key_file(path)
    except LeakscanError as exc:
        fail(str(exc))
    click.echo(f"wrote key file {path} (key id {key_id(key)})")


@click.command("migrate-key", context_settings=CONTEXT)
@index_option
@key_file_option
@click.option(
    "--lock-timeout",
    type=click.FloatRange(0),
    default=None,
    metavar="SECONDS",
    help="Give up (exit code 2) if a build of the index is still running after this long "
    "[default: wait until it has finished].",
)
@verbosity
def migrate_key_command(
    index_location: str, key_file: str | None, lock_timeout: float | None
) -> None:
    """Move the key of an index made before key files out of it, into its key file.

    Writes the key file (mode 0600; if it exists, it must hold the same key),
    then deletes the key from the index so that no copy of it is left in the
    file (secure delete, VACUUM: the index file is rewritten, which takes a
    while and needs its size in free disk space once). Stop scans and
    watches of the index first: a reader keeps the WAL from being emptied
    (exit code 2; run it again later). Running it again is harmless.
    """
    from .index.migrate import migrate_key

    def waiting(message: str) -> None:
        click.echo(f"leakscan: {message}", err=True)

    try:
        done = migrate_key(
            index_location, key_file=key_file, lock_timeout=lock_timeout, on_wait=waiting
        )
    except LeakscanError as exc:
        fail(str(exc))
    click.echo(done.summary_line())
