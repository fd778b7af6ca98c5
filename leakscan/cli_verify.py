"""``leakscan verify``: check the evidence against the inventory a scan wrote.

Exit codes: 0 the evidence is what the inventory lists, 1 any difference
(changed, missing, added, unreadable), 2 usage errors (an inventory that
cannot be read).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from .cli_common import CONTEXT, EXIT_ERROR, fail, verbosity
from .errors import LeakscanError
from .isolation import Isolation
from .names import printable

if TYPE_CHECKING:
    from .verify import Difference

__all__ = ["EXIT_DIFFERENT", "EXIT_ERROR", "EXIT_IDENTICAL", "verify_command"]

EXIT_IDENTICAL = 0
EXIT_DIFFERENT = 1

_LABELS = {"changed": "CHANGED", "missing": "MISSING", "added": "ADDED", "unreadable": "UNREADABLE"}


@click.command("verify", context_settings=CONTEXT)
@click.argument("inventory", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "jsonl"]),
    default="text",
    show_default=True,
    help="One line per difference, or one JSON record per difference then the counts.",
)
@click.option(
    "--base",
    type=click.Path(exists=True, file_okay=False),
    help="Folder the inventory's relative targets lie in [default: the folder the scan "
    "ran in, as the inventory records it].",
)
@click.option(
    "--jobs",
    "-j",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes hashing and reading the evidence.",
)
@verbosity
def verify_command(inventory: str, output_format: str, base: str | None, jobs: int) -> None:
    """Hash the evidence an INVENTORY (from ``scan --inventory``) lists again and report
    what changed, is missing or was added: exit code 0 when identical, 1 on any difference."""
    from .verify import Difference, Verification, verify

    try:
        records = verify(inventory, base=base, isolation=Isolation(jobs))
        last = Verification()
        for record in records:
            if isinstance(record, Verification):
                last = record
            if output_format == "jsonl":
                click.echo(json.dumps(record.to_dict(), ensure_ascii=False))
            elif isinstance(record, Difference):
                click.echo(_line(record))
    except LeakscanError as exc:
        fail(str(exc))
    if not last.complete:
        click.echo(
            "leakscan: warning: the inventory is incomplete (its scan was interrupted or "
            "killed): items it never reached show as added",
            err=True,
        )
    if output_format == "text":
        click.echo(
            f"{last.listed} items listed: {last.identical} identical, {last.present} present "
            f"(no hash listed), {last.changed} changed, {last.missing} missing, "
            f"{last.added} added, {last.unreadable} unreadable"
        )
    sys.exit(EXIT_DIFFERENT if last.differences else EXIT_IDENTICAL)


def _line(difference: Difference) -> str:
    label = _LABELS.get(difference.status, difference.status.upper())
    text = f"{label:<10} {printable(difference.suspect)}"
    if difference.status == "changed" and difference.expected_sha256:
        text += f": sha256 was {difference.expected_sha256}, now {difference.actual_sha256}"
    if difference.detail:
        text += f" ({printable(difference.detail)})"
    return text
