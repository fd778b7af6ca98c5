"""Reports on the command line: the HTML and CSV options of ``scan`` and the ``report`` command.

``scan --report FILE.html`` writes the HTML report beside whatever
``--format`` prints; ``leakscan report FINDINGS.jsonl`` renders a saved
JSONL stream again. The run record (command line, host, user, times, the
targets with their sha256, the case details) rides in the summary record,
so a saved stream renders with the same header later.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from .cli_common import CONTEXT, fail, key_file_option, verbosity
from .errors import ConfigurationError, LeakscanError

if TYPE_CHECKING:
    from .index import Index
    from .records import Record, Summary
    from .report import ReportOptions, ReportWriter

__all__ = ["REPORT_FORMATS", "RunRecorder", "ScanReport", "report_command", "report_options"]

REPORT_FORMATS = ("text", "jsonl", "html", "csv")
F = TypeVar("F", bound=Callable[..., Any])


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _case_options(function: F) -> F:
    for option in reversed(
        (
            click.option("--case", metavar="TEXT", help="Case name or number, for the report."),
            click.option("--examiner", metavar="NAME", help="Who ran the examination."),
            click.option("--note", metavar="TEXT", help="A note for the report's header."),
            click.option(
                "--archive",
                "archive_dirs",
                multiple=True,
                type=click.Path(exists=True, file_okay=False),
                metavar="DIR",
                help="Where the case archive lies now, if it moved since it was indexed: "
                "the HTML report quotes sources from here (repeatable).",
            ),
            click.option(
                "--csv-passages",
                type=click.Path(dir_okay=False, writable=True),
                metavar="FILE",
                help="With --format csv: also write one row per passage to FILE.",
            ),
        )
    ):
        function = option(function)
    return function


def report_options(function: F) -> F:
    """The report options of ``scan``: ``--report`` and those it shares with ``report``."""
    function = _case_options(function)
    return click.option(
        "--report",
        "report_html",
        type=click.Path(dir_okay=False, writable=True),
        metavar="FILE.html",
        help="Also write the HTML report to FILE, whatever --format prints.",
    )(function)


def _open_output(path: str, *, newline: str | None = None) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8", newline=newline)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from exc


class RunRecorder:
    """The run record of one scan: started when made, finished with the summary."""

    def __init__(
        self,
        targets: Sequence[str],
        case: str | None = None,
        examiner: str | None = None,
        note: str | None = None,
        inventory: str | None = None,
    ) -> None:
        self.targets = list(targets)
        self.run: dict[str, Any] = {
            "command_line": shlex.join(["leakscan", *sys.argv[1:]]),
            "cwd": os.getcwd(),
            "host": socket.gethostname(),
            "user": _user(),
            "started_at": _now(),
        }
        for key, value in (("case", case), ("examiner", examiner), ("note", note)):
            if value:
                self.run[key] = value
        if inventory:  # the list of every item examined, for the report to link to
            self.run["inventory"] = os.path.abspath(inventory)
        from .walk import display_name

        #: A file target's locator → the sha256 the scan computed when it read it.
        self._hashes: dict[str, str | None] = {
            display_name(t): None for t in self.targets if os.path.isfile(t)
        }

    def seen(self, record: Record) -> None:
        """Keep the hash the scan took of a file target (so it need not be read again)."""
        sha256 = getattr(record, "suspect_sha256", None)
        suspect = getattr(record, "suspect", None)
        if not sha256 or not suspect or not self._hashes:
            return
        name = suspect.split("!", 1)[0].split("#", 1)[0]
        if name in self._hashes and self._hashes[name] is None:
            self._hashes[name] = sha256

    def finish(self, summary: Summary) -> None:
        """Put the run record into the summary: end time and the targets' hashes (a file
        target no record named is hashed now)."""
        from .walk import display_name

        summary.run = {
            **self.run,
            "finished_at": _now(),
            "targets": [_target(t, self._hashes.get(display_name(t))) for t in self.targets],
            **summary.run,
        }


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return None


def _target(path: str, sha256: str | None = None) -> dict[str, Any]:
    """A target as the report lists it: a file with its sha256 and size, or a folder."""
    from .walk import hash_evidence

    entry: dict[str, Any] = {"path": path, "absolute": os.path.abspath(path)}
    if os.path.isdir(path):
        return {**entry, "kind": "folder"}
    try:
        if sha256 is None:
            sha256, info = hash_evidence(path)
        else:
            info = os.stat(path)
    except OSError as exc:
        return {**entry, "kind": "unreadable", "error": exc.strerror or str(exc)}
    return {**entry, "kind": "file", "size": info.st_size, "sha256": sha256}


class ScanReport:
    """The writer ``scan`` uses: its format, the HTML beside it, the run record in the summary."""

    def __init__(
        self, writers: list[ReportWriter], run: RunRecorder | None, files: list[TextIO]
    ) -> None:
        self._writers = writers
        self._run = run
        self._files = files

    def write(self, record: Record) -> None:
        from .records import Summary

        if self._run is not None:
            if isinstance(record, Summary):
                self._run.finish(record)
            else:
                self._run.seen(record)
        for writer in self._writers:
            writer.write(record)

    def close(self) -> None:
        try:
            for writer in self._writers:
                writer.close()
        finally:
            self.release()

    def release(self) -> None:
        """Close the files this report opened (also when the scan ends early)."""
        files, self._files = self._files, []
        for file in files:
            file.close()


def scan_writer(
    output_format: str,
    stream: TextIO,
    index: Index,
    targets: Sequence[str],
    report_args: dict[str, Any],
) -> ScanReport:
    """The writers of one scan, from its ``--format`` and the options of :func:`report_options`.

    Files named by ``--report`` and ``--csv-passages`` are opened now, so a path
    that cannot be written stops the scan before it starts. The run record is
    kept unless only the text report is asked for (it would not show it, and
    hashing the targets costs a read of each).
    """
    from .report import HtmlWriter, writer_for

    options = _options(report_args, index)
    html_path = report_args.get("report_html")
    passages_path = report_args.get("csv_passages")
    if passages_path and output_format != "csv":
        raise ConfigurationError("--csv-passages needs --format csv")
    run = None
    if output_format != "text" or html_path:
        run = RunRecorder(
            targets, options.case, options.examiner, options.note, report_args.get("inventory")
        )
    files: list[TextIO] = []
    try:
        if passages_path:
            files.append(_open_output(passages_path, newline=""))
            options = _replace(options, csv_passages=files[-1])
        writers = [writer_for(output_format, stream, options)]
        if html_path:
            files.append(_open_output(html_path))
            writers.append(HtmlWriter(files[-1], options))
    except BaseException:
        for file in files:
            file.close()
        raise
    return ScanReport(writers, run, files)


def _replace(options: ReportOptions, **changes: Any) -> ReportOptions:
    from dataclasses import replace

    return replace(options, **changes)


def _options(report_args: dict[str, Any], index: Index | None) -> ReportOptions:
    from .report import ReportOptions

    return ReportOptions(
        case=report_args.get("case"),
        examiner=report_args.get("examiner"),
        note=report_args.get("note"),
        archive_dirs=tuple(report_args.get("archive_dirs") or ()),
        index=index,
    )


@click.command("report", context_settings=CONTEXT)
@click.argument("findings", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["html", "csv"]),
    default="html",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report to FILE instead of standard output.",
)
@click.option(
    "--index",
    "index_location",
    default=None,
    help="The index the findings came from: where its documents' archive folders are "
    "[default: fingerprints/index.sqlite, if it exists].",
)
@key_file_option
@click.option(
    "--details",
    default=1000,
    show_default=True,
    type=click.IntRange(0),
    help="HTML: show the passages of this many of the strongest findings (0: of all); "
    "the others are listed with their numbers.",
)
@_case_options
@verbosity
def report_command(
    findings: str,
    output_format: str,
    output: str | None,
    index_location: str | None,
    key_file: str | None,
    details: int,
    **report_args: Any,
) -> None:
    """Render saved findings (the JSONL of ``scan --format jsonl``) as HTML or CSV again.

    The file is read through once to check it before anything is written: a
    line that is not a record stops the command (exit code 2) with its number.
    """
    from .index import DEFAULT_INDEX, Index
    from .report import writer_for
    from .report.saved import read_records

    location = index_location
    if location is None and os.path.exists(DEFAULT_INDEX):
        location = DEFAULT_INDEX
    passages_path = report_args.get("csv_passages")
    index = None
    try:
        with _saved(findings) as saved:
            for _ in read_records(saved, findings):
                pass
            if passages_path and output_format != "csv":
                raise ConfigurationError("--csv-passages needs --format csv")
            if location is not None:
                # Reports name documents and never fingerprint: the key is not needed.
                index = Index.open(
                    location,
                    key_file=key_file,
                    readonly=True,
                    allow_incomplete=True,
                    need_key=False,
                )
            options = _replace(_options(report_args, index), detailed=details)
            newline = "" if output_format == "csv" else None
            with contextlib.ExitStack() as files:
                stream = (
                    files.enter_context(_open_output(output, newline=newline))
                    if output
                    else sys.stdout
                )
                if passages_path:
                    passages = files.enter_context(_open_output(passages_path, newline=""))
                    options = _replace(options, csv_passages=passages)
                writer = writer_for(output_format, stream, options)
                saved.seek(0)
                for record in read_records(saved, findings):
                    writer.write(record)
                writer.close()
    except LeakscanError as exc:
        fail(str(exc))
    finally:
        if index is not None:
            index.close()


@contextlib.contextmanager
def _saved(path: str) -> Iterator[TextIO]:
    """The saved stream, seekable: a file, or standard input copied to a temporary file."""
    if path != "-":
        try:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from exc
        with handle:
            yield handle
        return
    with tempfile.TemporaryFile("w+", encoding="utf-8") as copy:
        shutil.copyfileobj(sys.stdin, copy)
        copy.seek(0)
        yield copy
