"""Thin shim so ``python cli.py ...`` works from a checkout."""

from leakscan.cli import main

if __name__ == "__main__":
    main()
