"""The README's library example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_python_example_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    for leftover in ("/tmp/leakscan-readme.sqlite", "/tmp/leakscan-readme.sqlite.key"):
        Path(leftover).unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "8 files: 8 added" in done.stdout
    assert "letter_to_sana.docx: excerpt of sources/informant-handling-directive.txt" in done.stdout
    assert "broken.pdf: not scanned" in done.stdout
    key_file = Path("/tmp/leakscan-readme.sqlite.key")  # made beside the new index, owner-only
    assert key_file.stat().st_mode & 0o777 == 0o600
