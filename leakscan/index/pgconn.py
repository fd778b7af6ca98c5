"""Connections to a PostgreSQL index: libpq URLs, passwords kept out of messages, and
psycopg's errors turned into one line a person can act on.

Everything psycopg raises while connecting or talking to the server leaves
leakscan as a :class:`LeakscanIndexError` (``raise … from``), never a
traceback, and never with the URL's password in it.
"""

from __future__ import annotations

import functools
import os
import socket
import struct
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg.adapt import Dumper
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import Format

from ..errors import ConfigurationError, IndexNotFoundError, LeakscanIndexError

__all__ = [
    "SCHEMES",
    "Int8Array",
    "connect",
    "is_postgres",
    "mapped",
    "pg_cause",
    "redact",
]

#: URL schemes libpq reads, both of which select the PostgreSQL backend.
SCHEMES = ("postgresql://", "postgres://")
_HIDDEN = "***"
_CONNECT_TIMEOUT = "10"  # seconds: a server that does not answer is an error, not a hang


class Int8Array:
    """A ``bigint[]`` parameter, sent in binary at numpy's speed: psycopg's own list
    dumper looks at every element first (measured: 0.33 ms for the 96 fingerprints of a
    page, more than the statement's round trip)."""

    def __init__(self, values: Iterable[int] | np.ndarray):
        given = values if isinstance(values, np.ndarray) else list(values)
        self.values = np.asarray(given, dtype=np.int64)


class _Int8ArrayDumper(Dumper):
    format = Format.BINARY
    oid = 1016  # bigint[] (_int8)

    def dump(self, obj: Int8Array) -> bytes:
        values = obj.values
        if not len(values):  # no dimensions
            return struct.pack(">iii", 0, 0, 20)
        items = np.empty(len(values), dtype=[("size", ">i4"), ("value", ">i8")])
        items["size"], items["value"] = 8, values
        # one dimension, no NULLs, elements bigint (oid 20); its length, lower bound 1
        return struct.pack(">iiiii", 1, 0, 20, len(values), 1) + items.tobytes()


def is_postgres(location: str) -> bool:
    """Whether an index location names a PostgreSQL database.

    >>> is_postgres("postgresql:///leaks?host=/run/pg"), is_postgres("index.sqlite")
    (True, False)
    """
    return location.startswith(SCHEMES)


def _password(url: str) -> str:
    """The password a URL carries (in its user part or its query), or ""."""
    try:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        return parts.password or query.get("password", "")
    except ValueError:
        return ""


def redact(url: str) -> str:
    """The URL as it may be shown: any password replaced by ``***``.

    >>> redact("postgresql://ana:s3cret@db.example/leaks?password=x&sslmode=require")
    'postgresql://ana:***@db.example/leaks?password=***&sslmode=require'
    """
    if not is_postgres(url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://" + _HIDDEN
    netloc = parts.netloc
    user, at, hosts = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.split(':', 1)[0]}:{_HIDDEN}@{hosts}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "password" for name, _ in query):
        shown = [(n, _HIDDEN if n == "password" else v) for n, v in query]
        return urlunsplit(
            parts._replace(netloc=netloc, query=urlencode(shown, safe="*/", quote_via=quote))
        )
    return urlunsplit(parts._replace(netloc=netloc))


def _one_line(exc: BaseException, url: str) -> str:
    """The error's own words on one line, without the password."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = " ".join(str(primary or exc).split()) or type(exc).__name__
    secret = _password(url)
    return text.replace(secret, _HIDDEN) if secret else text


def pg_cause(exc: BaseException, url: str) -> str:
    """One line saying what went wrong, in words for the person at the keyboard."""
    text = _one_line(exc, url)
    state = getattr(exc, "sqlstate", None) or ""
    lowered = text.lower()
    if state.startswith("53") and state != "53300":
        return f"the database server's disk or memory is full ({text})"
    if state == "53300":
        return f"the database server accepts no more connections ({text})"
    if state in ("57P01", "57P02", "57P03") or "terminating connection" in lowered:
        return f"the database server closed the connection ({text})"
    if isinstance(exc, psycopg.OperationalError) and (
        "connection is closed" in lowered
        or "server closed the connection" in lowered
        or "consuming input failed" in lowered
        or "connection is lost" in lowered
        or "sending query" in lowered
    ):
        return f"the connection to the database server was lost ({text})"
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return (
            f"the database server refused the user name or password ({text}); "
            "give them in the URL, PGPASSWORD or ~/.pgpass"
        )
    if "is the server running" in lowered or "connection refused" in lowered:
        return f"no database server answers there ({text})"
    if state.startswith("40"):
        return f"another process keeps the index locked ({text})"
    if state == "42501":
        return f"the database user may not do this ({text})"
    if state == "25006":
        return f"the index was opened read-only ({text})"
    return text


P = ParamSpec("P")
R = TypeVar("R")


class _Backend(Protocol):
    url: str
    conninfo: str

    def rollback(self) -> bool: ...


B = TypeVar("B", bound=_Backend)


def mapped(
    doing: str,
) -> Callable[[Callable[Concatenate[B, P], R]], Callable[Concatenate[B, P], R]]:
    """psycopg errors leave as one-line :class:`LeakscanIndexError`; the transaction that
    met one is rolled back (after a lost connection, the server has already)."""

    def decorate(method: Callable[Concatenate[B, P], R]) -> Callable[Concatenate[B, P], R]:
        @functools.wraps(method)
        def wrapper(self: B, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(self, *args, **kwargs)
            except psycopg.Error as exc:
                self.rollback()
                raise LeakscanIndexError(
                    f"cannot {doing} index {self.url}: {pg_cause(exc, self.conninfo)}"
                ) from exc
            except UnicodeEncodeError as exc:  # a name carrying undecodable bytes
                self.rollback()
                raise LeakscanIndexError(
                    f"cannot {doing} index {self.url}: a name is not valid Unicode ({exc.reason})"
                ) from exc

        return wrapper

    return decorate


def connect(
    url: str, *, autocommit: bool, role: str, readonly: bool = False
) -> psycopg.Connection[Any]:
    """A connection to the index's database; ``role`` names what it is for in
    ``pg_stat_activity`` (with this host and pid), which a waiting build quotes."""
    shown = redact(url)
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise ConfigurationError(
            f"{shown} is not a PostgreSQL URL libpq can read: {_one_line(exc, url)}"
        ) from exc
    extra = {
        name: value
        for name, value in {
            "connect_timeout": _CONNECT_TIMEOUT,
            "application_name": f"leakscan {role} pid {os.getpid()} on {socket.gethostname()}"[:63],
            # this side notices a dead server within about a minute
            "keepalives_idle": "30",
            "keepalives_interval": "10",
            "keepalives_count": "3",
        }.items()
        if name not in given
    }
    try:
        connection = psycopg.connect(make_conninfo(url, **extra), autocommit=autocommit)
    except psycopg.Error as exc:
        cause = pg_cause(exc, url)
        if "does not exist" in cause and "database" in cause:
            raise IndexNotFoundError(
                f"no index at {shown}: {cause}; create the database (createdb), then "
                "run 'leakscan index build ARCHIVE_DIR --index URL'"
            ) from exc
        raise LeakscanIndexError(f"cannot open index {shown}: {cause}") from exc
    connection.adapters.register_dumper(Int8Array, _Int8ArrayDumper)
    try:
        if readonly:
            connection.execute("SET default_transaction_read_only = on")
    except psycopg.Error as exc:
        connection.close()
        raise LeakscanIndexError(f"cannot open index {shown}: {pg_cause(exc, url)}") from exc
    return connection
