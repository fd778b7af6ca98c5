"""``python -m leakscan``: the same command as ``leakscan``."""

from .cli import main

main()
