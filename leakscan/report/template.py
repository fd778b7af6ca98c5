"""The Jinja2 environment of the HTML report: the template file shipped in the package,
autoescaping on, and the filters that print names and numbers the way reports do."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from functools import cache
from typing import Any

import jinja2

from ..names import printable, printable_passage
from .marks import language_of

__all__ = ["render"]


def _percent(value: float) -> str:
    """A share as a percentage with one decimal, cut rather than rounded: never overstated.

    >>> _percent(0.9987), _percent(0.0004), _percent(1.0), _percent(0.99999)
    ('99.8%', '0.0%', '100%', '99.9%')
    """
    if value >= 1:
        return "100%"
    return f"{int(value * 1000) / 10:.1f}%"


def _size(value: int | None) -> str:
    """A byte count for people.

    >>> _size(219238), _size(12)
    ('214.1 KiB', '12 bytes')
    """
    if value is None:
        return ""
    if value < 1024:
        return f"{value} bytes"
    amount = float(value)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        amount /= 1024
        if amount < 1024 or unit == "TiB":
            break
    return f"{amount:.1f} {unit}"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("leakscan.report", "templates"),
        autoescape=True,  # every string from the evidence is escaped unless marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["name"] = lambda value: printable(str(value))
    environment.filters["percent"] = _percent
    environment.filters["size"] = _size
    environment.filters["score"] = lambda value: f"{value:.2f}"
    environment.filters["evidence"] = lambda value: f"{value:.1f}"
    environment.filters["file_url"] = lambda value: pathlib.Path(str(value)).as_uri()
    environment.filters["passage"] = lambda value: printable_passage(str(value))
    environment.filters["is_arabic"] = lambda value: language_of(str(value)) == "ur"
    return environment


def render(context: dict[str, Any]) -> Iterator[str]:
    """The report in pieces, as the template produces them (nothing held whole in memory)."""
    template = _environment().get_template("report.html.j2")
    yield from template.generate(**context)
