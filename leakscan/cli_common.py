"""What every ``leakscan`` command shares: exit codes, -h, -v/-q/--log, the one-line failure,
the options that say which index and key to use, and help under headings.

Kept apart from :mod:`leakscan.cli` so that the commands in modules of their
own (``report``, ``verify``) behave like the others without importing it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import ClassVar, NoReturn, TypeVar

import click

from .index import DEFAULT_INDEX
from .index.keys import ENV_KEY_FILE

__all__ = [
    "CONTEXT",
    "EXIT_CLEAN",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_INTERRUPTED",
    "Sectioned",
    "fail",
    "index_option",
    "key_file_option",
    "sectioned",
    "verbosity",
]

F = TypeVar("F", bound=Callable[..., object])

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
#: A scan stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

#: Every command takes -h as well as --help.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


index_option = click.option(
    "--index",
    "index_location",
    default=DEFAULT_INDEX,
    show_default=True,
    envvar="LEAKSCAN_INDEX",
    show_envvar=True,
    help="Index file (SQLite path) or URL.",
)

# LEAKSCAN_KEY_FILE is read by the library (Index.open), not by click: its errors then
# say that the key file came from the environment.
key_file_option = click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"The index's key file [env var: {ENV_KEY_FILE}; default: the index file's name "
    "+ .key, beside it; an index at a URL needs one].",
)


def fail(message: str) -> NoReturn:
    """One line on stderr and exit code 2: a usage or fatal error, never a traceback."""
    click.echo(f"leakscan: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


#: Verbosity given anywhere on the command line (before or after the subcommand).
_LOGGING: dict[str, object] = {"verbose": 0, "quiet": False, "log": None}


def _set_logging(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Record a verbosity option, wherever it was given, and configure logging again."""
    if param.name == "verbose" and value:
        _LOGGING["verbose"] = max(int(str(_LOGGING["verbose"])), int(str(value)))
    elif param.name == "quiet" and value:
        _LOGGING["quiet"] = True
    elif param.name == "log" and value:
        _LOGGING["log"] = value
    verbose = int(str(_LOGGING["verbose"]))
    level = (
        logging.ERROR
        if _LOGGING["quiet"]
        else logging.DEBUG
        if verbose > 1
        else (logging.INFO if verbose else logging.WARNING)
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if _LOGGING["log"]:
        try:
            handlers.append(logging.FileHandler(str(_LOGGING["log"]), encoding="utf-8"))
        except OSError as exc:
            raise click.BadParameter(f"cannot write {_LOGGING['log']}: {exc.strerror}") from exc
    logging.basicConfig(
        level=level,
        format="%(asctime)s leakscan: %(levelname)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    return value


def verbosity(function: F) -> F:
    """-v/-q/--log, accepted before the subcommand and after it alike."""
    for option in reversed(
        (
            click.option(
                "-v",
                "--verbose",
                count=True,
                expose_value=False,
                callback=_set_logging,
                help="Say what is being done on stderr (-vv: more).",
            ),
            click.option(
                "-q",
                "--quiet",
                is_flag=True,
                expose_value=False,
                callback=_set_logging,
                help="Only errors on stderr.",
            ),
            click.option(
                "--log",
                type=click.Path(dir_okay=False),
                expose_value=False,
                callback=_set_logging,
                help="Also write the log to FILE.",
            ),
        )
    ):
        function = option(function)
    return function


class Sectioned(click.Command):
    """A command whose --help lists its options under headings (matching, limits, output)."""

    sections: ClassVar[dict[str, tuple[str, ...]]] = {}

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {}
        placed = {name: title for title, names in self.sections.items() for name in names}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            title = next(
                (placed[o] for o in (*param.opts, *param.secondary_opts) if o in placed),
                "Other options",
            )
            rows.setdefault(title, []).append(record)
        for title in (*self.sections, "Other options"):
            if rows.get(title):
                with formatter.section(title):
                    formatter.write_dl(rows[title])


def sectioned(sections: dict[str, tuple[str, ...]]) -> type[Sectioned]:
    """A :class:`Sectioned` command class with these headings (title: option names)."""
    return type("SectionedCommand", (Sectioned,), {"sections": sections})
