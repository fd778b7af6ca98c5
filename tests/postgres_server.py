"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, a temporary directory,
a Unix socket in it and no network, trust authentication; gone at the end of the session.

``initdb`` refuses to run as root (CI runs as root): then the cluster runs as the
``postgres`` user the Debian package creates, in a directory handed over to it. As any
other user it runs as that user. The tests never touch a system cluster (the package's
``main`` cluster, port 5432): only the socket in this directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Superuser of the throwaway cluster, whatever OS user runs it.
SUPERUSER = "leakscan"
#: A role that logs in with a password only (scram-sha-256), and its password.
PASSWORD_USER = "leakscan_pw"
PASSWORD = "right-horse-battery"
_START_SECONDS = 60


class ServerUnavailable(Exception):
    """Why no throwaway server could be started (the tests skip with this reason)."""


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway cluster, reached through the Unix socket in ``socket_dir``."""

    socket_dir: Path
    bin_dir: Path

    def url(self, database: str = "postgres") -> str:
        """A libpq URL of a database of this cluster, through the socket."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, sql: str, url: str | None = None) -> str:
        """Run SQL with the cluster's own psql (not leakscan's code) in the database at
        ``url`` (default: ``postgres``); its unaligned output."""
        done = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url or self.url(),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()


def _bin_dir() -> Path:
    """The newest installed server's binaries (Debian keeps them per major version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not found:
        raise ServerUnavailable(
            "no /usr/lib/postgresql/*/bin/initdb (install the Debian package postgresql)"
        )
    return Path(found[-1]).parent


def _runner() -> tuple[list[str], str | None]:
    """The command prefix that runs the server's programs, and the user to hand files to."""
    if os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServerUnavailable(
            "running as root, and there is no postgres user to run the server as"
        ) from exc
    runuser = shutil.which("runuser") or shutil.which("setpriv")
    if runuser is None:
        raise ServerUnavailable("running as root, and neither runuser nor setpriv is there")
    if runuser.endswith("runuser"):
        return [runuser, "-u", "postgres", "--"], "postgres"
    return [runuser, "--reuid=postgres", "--regid=postgres", "--init-groups", "--"], "postgres"


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_START_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerUnavailable(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()
        if log is not None and log.exists():
            output += log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise ServerUnavailable(f"{what} failed: {output[-1] if output else done.returncode}")


@contextlib.contextmanager
def throwaway_server(settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
    """Start a cluster in a new temporary directory; stop it and remove it all on the way out.
    ``settings``: postgresql.conf values over the defaults below (benchmarks)."""
    bin_dir = _bin_dir()
    prefix, owner = _runner()
    # /tmp, not pytest's 0700 tree, which the postgres user could not enter; a short path,
    # since a socket's path must fit in 107 bytes.
    top = Path(tempfile.mkdtemp(prefix="leakscan-pg-"))
    data = top / "data"
    started = False
    try:
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.chown(top, entry.pw_uid, entry.pw_gid)
        _run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            "initdb",
        )
        conf_values = {
            "listen_addresses": "''",  # no TCP at all: only the socket below
            "unix_socket_directories": f"'{top}'",
            "fsync": "off",  # a throwaway cluster: durability buys nothing here
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
            "max_connections": "60",
            **(settings or {}),
        }
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in conf_values.items())
        # One role must give its password (the tests of a refused login); all others are trusted.
        hba = data / "pg_hba.conf"
        hba.write_text(
            f"local all {PASSWORD_USER} scram-sha-256\n" + hba.read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        _run(
            [
                *prefix,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(top / "server.log"),
                "-w",
                "-t",
                str(_START_SECONDS),
                "start",
            ],
            "pg_ctl start",
            top / "server.log",
        )
        started = True
        server = PostgresServer(top, bin_dir)
        server.psql(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'")
        yield server
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=_START_SECONDS,
                check=False,
            )
        shutil.rmtree(top, ignore_errors=True)
