"""The ``leakscan`` command: parses arguments, calls the library, renders results.

Exit codes of ``scan`` follow clamscan: 0 no findings, 1 findings, 2 usage
or fatal error (no index, wrong key, unreadable target, an output that
cannot be written, or nothing that could be examined at all), 130 when
interrupted (Ctrl-C: what was found so far is written, with a summary
marked interrupted). ``index build`` exits 1 when some documents could not
be indexed (it names them), 2 on a fatal error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

import click

from ._version import __version__
from .cli_common import (
    CONTEXT,
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    fail,
    index_option,
    key_file_option,
    sectioned,
    verbosity,
)
from .cli_report import REPORT_FORMATS, report_command, report_options, scan_writer
from .errors import ExtractionError, LeakscanError
from .index import Index
from .records import Record, Summary

if TYPE_CHECKING:
    from .ocr import OcrSettings

__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_INTERRUPTED", "cli", "main"]


_ocr_option = click.option(
    "--ocr/--no-ocr",
    "ocr",
    default=None,
    help="Read pictures (JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC) and scanned PDF pages by OCR "
    "(tesseract; English and Urdu) [default: on when tesseract's models are installed; "
    "pictures are then skipped with the reason].",
)


def _ocr_settings(ocr: bool | None) -> OcrSettings:
    """OCR on unless --no-ocr; --ocr insists (exit 2 when it cannot be done), the default
    warns once when OCR is not available (each picture is then skipped with the reason)."""
    from .ocr import OcrSettings, unavailable_reason

    settings = OcrSettings(enabled=ocr is not False)
    reason = unavailable_reason(settings) if settings.enabled else None
    if reason is not None:
        if ocr:
            fail(f"--ocr: {reason}")
        click.echo(f"leakscan: {reason}: pictures and scanned pages are skipped", err=True)
    return settings


@contextmanager
def _errors_exit_2() -> Iterator[None]:
    """Fatal leakscan errors become one line on stderr and exit code 2."""
    try:
        yield
    except LeakscanError as exc:
        fail(str(exc))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="leakscan")
@verbosity
def cli() -> None:
    """Find copies and excerpts of classified documents in seized-device exports.

    The index is found with --index, else the LEAKSCAN_INDEX environment
    variable, else fingerprints/index.sqlite in the current folder. Its key
    is in a key file kept apart from it: --key-file, else LEAKSCAN_KEY_FILE,
    else the index file's name + .key beside it.
    """


@cli.group("index", context_settings=CONTEXT)
def index_group() -> None:
    """Build, inspect, export and import the fingerprint index of a case archive."""


class _Progress:
    """A one-line counter on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.count = 0

    def __call__(self, name: str) -> None:
        self.count += 1
        if self.enabled:
            shown = name if len(name) <= 60 else "…" + name[-59:]
            click.echo(f"\r\x1b[Kindexed {self.count} files  {shown}", err=True, nl=False)

    def done(self) -> None:
        if self.enabled and self.count:
            click.echo("\r\x1b[K", err=True, nl=False)


@index_group.command("build", context_settings=CONTEXT)
@click.argument("archive_dirs", nargs=-1, required=True, type=click.Path(exists=True))
@index_option
@key_file_option
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="A name for each ARCHIVE_DIR, in order (default: the folder's name); findings "
    "carry it as source_label when the index holds several roots.",
)
@click.option(
    "--jobs",
    "-j",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes for extraction and fingerprinting.",
)
@click.option("--prune", is_flag=True, help="Drop indexed documents whose files are gone.")
@click.option(
    "--public", is_flag=True, help="These are public documents: their text never raises findings."
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(0),
    default=None,
    metavar="SECONDS",
    help="Give up (exit code 2) if another build of the index is still running after this long "
    "[default: wait until it has finished].",
)
@_ocr_option
@verbosity
def index_build(
    archive_dirs: tuple[str, ...],
    index_location: str,
    labels: tuple[str, ...],
    jobs: int,
    prune: bool,
    public: bool,
    lock_timeout: float | None,
    ocr: bool | None,
    key_file: str | None,
) -> None:
    """Fingerprint every document below ARCHIVE_DIRS (incrementally).

    It reads plain text (any encoding), PDF, DOCX, ODT, RTF, HTML, XLSX,
    PPTX, legacy .doc, .xls and .ppt, and e-mail (.eml, .msg, mbox), reads
    scans and photographed pages by OCR (image-only PDFs, TIFF, JPEG, PNG…),
    and opens archives (zip, tar, 7z, gzip, bzip2, xz) to index their
    members as archive.zip!member. Types are told from content, not names. Exit code 1
    when some documents could not be indexed (each is named), 2 on a fatal
    error.

    One build of an index runs at a time: a second one waits for the first.
    A build that fails or is killed leaves the index refused by scans until a
    build runs to the end (a failure before anything was committed leaves it
    as it was).

    A new index gets a new random key in its key file (mode 0600), unless the
    key file exists already: then its key is used. Keep the key file apart
    from the index and back it up: without it the index cannot be used.
    """
    from .build import build

    ocr_settings = _ocr_settings(ocr)

    def waiting(message: str) -> None:
        click.echo(f"leakscan: {message}", err=True)

    with (
        _errors_exit_2(),
        Index.create(
            index_location, key_file=key_file, lock_timeout=lock_timeout, on_wait=waiting
        ) as index,
    ):
        progress = _Progress(sys.stderr.isatty())
        report = build(
            index,
            archive_dirs,
            jobs=jobs,
            prune=prune,
            public=public,
            progress=progress,
            labels=labels or None,
            ocr=ocr_settings,
        )
        progress.done()
        for record in report.errors:
            click.echo(f"ERROR   {record.suspect}: {record.error}", err=True)
        for skipped in report.skipped:
            click.echo(f"SKIPPED {skipped.suspect}: {skipped.reason}", err=True)
        stats = index.stats()
        click.echo(f"{report.summary_line()}")
        click.echo(
            f"index {index.location}: {stats.documents} documents, "
            f"{stats.fingerprints} fingerprints, {stats.pictures} pictures "
            f"(index id {stats.index_id})"
        )
    if report.errors:
        click.echo(
            f"leakscan: {len(report.errors)} documents could not be indexed (named above)",
            err=True,
        )
        sys.exit(EXIT_FINDINGS)


@index_group.command("stats", context_settings=CONTEXT)
@index_option
@key_file_option
@verbosity
def index_stats(index_location: str, key_file: str | None) -> None:
    """Print what the index holds, its archive roots (label, documents, when last built)
    and the state of its last build, as JSON.

    Works without the key file (key_file is then null); key_in_index says whether
    the index still holds its key (see `index migrate-key`).
    """
    with (
        _errors_exit_2(),
        Index.open(
            index_location, key_file=key_file, readonly=True, allow_incomplete=True, need_key=False
        ) as index,
    ):
        from .match import common_cutoff

        cutoff = common_cutoff(index.content_count())
        stats = index.stats(boilerplate=10, cutoff=cutoff).to_dict()
        stats["common_cutoff"] = cutoff
        click.echo(json.dumps(stats, indent=2))


_SCAN_SECTIONS = {
    "Output": (
        "--format",
        "--output",
        "--report",
        "--csv-passages",
        "--inventory",
        "--no-progress",
    ),
    "Case (for the report)": ("--case", "--examiner", "--note", "--archive"),
    "Matching": ("--index", "--key-file", "--min-score", "--common-df", "--ocr"),
    "Limits": (
        "--max-file-size",
        "--timeout",
        "--worker-memory",
        "--max-archive-size",
        "--max-archive-ratio",
        "--max-ratio",
        "--max-members",
        "--max-depth",
        "--jobs",
    ),
    "Logging": ("--verbose", "--quiet", "--log"),
}


@cli.command("scan", cls=sectioned(_SCAN_SECTIONS), context_settings=CONTEXT)
@click.argument("targets", nargs=-1, required=True)
@index_option
@key_file_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(REPORT_FORMATS),
    default="text",
    show_default=True,
    help="text: for a person; jsonl: one JSON record per line (see the README); html: a "
    "self-contained report for an examiner; csv: one row per finding.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the report to FILE instead of standard output.",
)
@report_options
@click.option(
    "--no-progress",
    is_flag=True,
    help="No progress line on stderr (it is shown only when stderr is a terminal).",
)
@verbosity
@click.option(
    "--min-score",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Report only findings at least this confident.",
)
@click.option(
    "--jobs",
    "-j",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes reading items in parallel.",
)
@click.option(
    "--max-file-size",
    default=256,
    show_default=True,
    type=click.IntRange(1),
    help="Skip files larger than this many MiB.",
)
@click.option(
    "--common-df",
    type=click.IntRange(2),
    default=None,
    help="Ignore fingerprints held by this many archive documents "
    "(default: from the archive's size).",
)
@click.option(
    "--timeout",
    "timeout_seconds",
    default=300,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds one item may take before its worker is stopped (an error record).",
)
@click.option(
    "--worker-memory",
    default=None,
    type=click.IntRange(0),
    help="Memory cap of each worker process in MiB (0: none; default: a quarter of the "
    "machine's memory shared by the jobs, 1024-2048 MiB each).",
)
@click.option(
    "--max-archive-size",
    default=400,
    show_default=True,
    type=click.IntRange(1),
    help="Let one archive (nested ones included) expand to this many MiB, or to "
    "--max-archive-ratio times its own size if that is more.",
)
@click.option(
    "--max-archive-ratio",
    default=50,
    show_default=True,
    type=click.IntRange(1),
    help="Let one archive expand to this many times its own size (see --max-archive-size).",
)
@click.option(
    "--max-ratio",
    default=200,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse archive members that expand more than this many times their size.",
)
@click.option(
    "--max-members",
    default=100_000,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse archives (nested ones included) with more members.",
)
@click.option(
    "--max-depth",
    default=17,
    show_default=True,
    type=click.IntRange(1),
    help="Refuse archives nested deeper than this.",
)
@click.option(
    "--inventory",
    "inventory_path",
    type=click.Path(dir_okay=False),
    help="Also list every item examined, clean ones included (size, sha256 and its "
    "containers', MIME type, outcome, time) in FILE (JSONL), for `leakscan verify`.",
)
@_ocr_option
def scan_command(
    targets: tuple[str, ...],
    index_location: str,
    output_format: str,
    output: str | None,
    no_progress: bool,
    min_score: float,
    jobs: int,
    max_file_size: int,
    common_df: int | None,
    timeout_seconds: float,
    worker_memory: int | None,
    max_archive_size: int,
    max_archive_ratio: int,
    max_ratio: int,
    max_members: int,
    max_depth: int,
    inventory_path: str | None,
    ocr: bool | None,
    key_file: str | None,
    **report_args: Any,
) -> None:
    """Check files, folders, archives and chat exports (TARGETS) for text of the indexed archive.

    Pictures of pages (photos, screenshots, scans) are read by OCR, in English and Urdu.
    """
    from .exports.archives import ArchiveLimits
    from .match import MatchParams
    from .scan import Scanner, ScanOptions

    max_file_bytes = max_file_size << 20
    options = ScanOptions(
        min_score=min_score,
        jobs=jobs,
        max_file_bytes=max_file_bytes,
        params=MatchParams(common_contents=common_df),
        timeout_seconds=timeout_seconds,
        worker_memory_bytes=None if worker_memory is None else worker_memory << 20,
        archive_limits=ArchiveLimits(
            max_member_bytes=max_file_bytes,
            max_total_bytes=max_archive_size << 20,
            max_total_ratio=max_archive_ratio,
            max_ratio=max_ratio,
            max_members=max_members,
            max_depth=max_depth,
        ),
        ocr=_ocr_settings(ocr),
    )
    stream: TextIO = sys.stdout
    if output:
        try:
            stream = open(output, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            fail(f"cannot write the report to {output}: {exc.strerror or exc}")
    summary: Summary | None = None
    inventory = None
    try:
        with (
            _errors_exit_2(),
            Index.open(index_location, key_file=key_file, readonly=True) as index,
        ):
            if inventory_path:  # every item examined, beside the report (see leakscan.inventory)
                from .inventory import InventoryWriter

                inventory = InventoryWriter.create(
                    inventory_path, targets, index=index.describe(), limits=options.limits
                )
            show = _ScanProgress(sys.stderr.isatty() and not no_progress)
            records = Scanner(index, options).scan(
                targets, progress=show, inventory=inventory is not None
            )
            writer = scan_writer(
                output_format, stream, index, targets, {**report_args, "inventory": inventory_path}
            )

            def write(record: Record) -> None:
                nonlocal summary
                if inventory is not None and inventory.take(record):
                    return
                writer.write(record)
                if isinstance(record, Summary):
                    summary = record

            try:
                for record in records:
                    show.clear()
                    write(record)
            except KeyboardInterrupt:  # while writing: the scan still ends with its summary
                try:
                    for record in _interrupted(records):
                        write(record)
                except KeyboardInterrupt:
                    records.close()
            finally:
                show.close()
            writer.close()
    except OSError as exc:  # the report's disk filled up, a pipe closed
        fail(f"cannot write the report: {exc.strerror or exc}")
    finally:
        if output:
            stream.close()
        if inventory is not None:
            inventory.close()
    if summary is None or summary.interrupted:
        click.echo(
            "leakscan: interrupted: the scan is incomplete "
            "(items after the interruption were not read)",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    if summary.scanned == 0:
        fail(
            f"nothing could be examined: {summary.items} items, {summary.skipped} skipped, "
            f"{summary.errors} errors (see the report): this is not a clean result"
        )
    sys.exit(EXIT_FINDINGS if summary.findings or summary.leads else EXIT_CLEAN)


def _interrupted(records: Generator[Record, None, None]) -> Iterator[Record]:
    """The rest of an interrupted scan: the scanner stops its workers and yields its summary."""
    try:
        yield records.throw(KeyboardInterrupt())
    except StopIteration:
        return
    yield from records


class _ScanProgress:
    """Items, bytes, rate and the file being read, on one line of stderr (a terminal only)."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(unit=" items", file=sys.stderr, dynamic_ncols=True, leave=False)

    def __call__(self, summary: Summary, holder: str) -> None:
        if self.bar is None:
            return
        shown = holder if len(holder) <= 40 else "…" + holder[-39:]
        self.bar.set_postfix_str(
            f"{summary.bytes_scanned / 1e6:.0f} MB, {summary.findings} findings, {shown}",
            refresh=False,
        )
        first = self.bar.n == 0
        self.bar.update(summary.items - self.bar.n)
        if first:  # drawn at once, however fast the rest goes (then at tqdm's pace)
            self.bar.refresh()

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.clear()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@cli.command("watch", context_settings=CONTEXT)
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@index_option
@key_file_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Append finding, error and skipped records (JSONL) to FILE.",
)
@click.option(
    "--on-finding",
    metavar="CMD",
    help="Shell command run for each finding and lead, its record as JSON on its stdin.",
)
@click.option(
    "--jobs",
    "-j",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes reading files in parallel.",
)
@click.option("--new-only", is_flag=True, help="Do not scan what is already in the folders.")
@click.option(
    "--settle",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a file's size and mtime must stay unchanged before it is scanned.",
)
@click.option(
    "--min-score",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Report only findings at least this confident.",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False),
    help="What was scanned already (default: beside the index).",
)
@click.option(
    "--polling",
    is_flag=True,
    help="Poll the folders (network shares) instead of waiting for the OS to report changes.",
)
@_ocr_option
@verbosity
def watch_command(
    folders: tuple[str, ...],
    index_location: str,
    output: str | None,
    on_finding: str | None,
    jobs: int,
    new_only: bool,
    settle: float,
    min_score: float,
    state_path: str | None,
    polling: bool,
    ocr: bool | None,
    key_file: str | None,
) -> None:
    """Scan files as they arrive in FOLDERS, until interrupted (Ctrl-C or SIGTERM)."""
    import signal

    from .scan import ScanOptions
    from .watch import Watcher, WatchOptions

    options = WatchOptions(
        settle_seconds=settle,
        new_only=new_only,
        on_finding=on_finding,
        scan=ScanOptions(min_score=min_score, jobs=jobs, ocr=_ocr_settings(ocr)),
    )
    observer = None
    if polling:
        from watchdog.observers.polling import PollingObserver

        observer = PollingObserver()
    stream = open(output, "a", encoding="utf-8") if output else None  # noqa: SIM115
    try:
        with _errors_exit_2():
            watcher = Watcher(
                index_location,
                folders,
                key_file=key_file,
                options=options,
                output=stream,
                state_path=state_path,
                observer=observer,
                echo=click.echo,
                status=lambda line: click.echo(line, err=True),
            )
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: watcher.stop())
            click.echo(f"watching {', '.join(folders)} (Ctrl-C stops)", err=True)
            try:
                stats = watcher.run()
            finally:
                watcher.close()
            click.echo(
                f"stopped: {stats.scanned} scanned, {stats.already_seen} already seen, "
                f"{stats.findings} findings, {stats.leads} leads",
                err=True,
            )
    finally:
        if stream is not None:
            stream.close()


@cli.command("compare", context_settings=CONTEXT)
@click.argument("a", type=click.Path(exists=True, dir_okay=False))
@click.argument("b", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: for a person; json: every number and passage.",
)
@verbosity
def compare_command(a: str, b: str, output_format: str) -> None:
    """How similar two files are: simhash distance, containment both ways, shared passages."""
    from .compare import compare

    try:
        result = compare(a, b)
    except ExtractionError as exc:
        fail(str(exc))
        return
    if output_format == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"A: {a}\nB: {b}")
    click.echo(f"simhash distance: {result.simhash_distance} of 64 bits")
    click.echo(
        f"A found in B: {result.a_in_b:.0%}   B found in A: {result.b_in_a:.0%}   "
        f"shared words: {result.shared_tokens}"
    )
    for passage in result.passages:
        click.echo(
            f"  A {passage.a_start}-{passage.a_end} = B {passage.b_start}-{passage.b_end}"
            f" ({passage.tokens} words): {' '.join(passage.text.split())[:120]}"
        )


@cli.command("fingerprint", context_settings=CONTEXT)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@index_option
@key_file_option
@verbosity
def fingerprint_command(file: str, index_location: str, key_file: str | None) -> None:
    """Print a file's signature as JSON (keyed with the index's key, if the index exists)."""
    import os
    import secrets

    from .fingerprint import Fingerprinter
    from .intake import extract_file

    try:
        extracted, sha256 = extract_file(file)
    except ExtractionError as exc:
        fail(str(exc))
        return
    ephemeral = not os.path.exists(index_location)
    if ephemeral:
        fingerprinter = Fingerprinter(secrets.token_bytes(32))
    else:
        with (
            _errors_exit_2(),
            Index.open(
                index_location, key_file=key_file, readonly=True, allow_incomplete=True
            ) as index,
        ):
            fingerprinter = index.fingerprinter
    fp = fingerprinter.fingerprint(extracted.text)
    signature = {
        "file": file,
        "sha256": sha256,
        "mime": extracted.mime,
        "key_id": fingerprinter.key_id,
        "ephemeral_key": ephemeral,
        "scheme": fingerprinter.scheme.to_dict(),
        "tokens": fp.n_tokens,
        "shingles": fp.n_shingles,
        "simhash": f"{fp.simhash:016x}",
        "fingerprints": [
            {"hash": f"{h:016x}", "start": s, "end": e}
            for h, s, e in zip(
                fp.hashes.tolist(), fp.starts.tolist(), fp.ends.tolist(), strict=True
            )
        ],
    }
    click.echo(json.dumps(signature, indent=1))


# Commands kept in modules of their own.
from .cli_key import key_group, migrate_key_command  # noqa: E402
from .cli_portable import export_command, import_command  # noqa: E402
from .cli_verify import verify_command  # noqa: E402

cli.add_command(report_command)
cli.add_command(verify_command)
cli.add_command(key_group)
index_group.add_command(migrate_key_command)
index_group.add_command(export_command)
index_group.add_command(import_command)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="leakscan")


if __name__ == "__main__":
    main()
