"""Same text, other format: PDFs made by LibreOffice, DOCX, TXT, English and Urdu."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakscan import ErrorRecord, Finding, Index, Scanner, build
from tests import factories
from tests.factories import NASKH, NASTALIQ, DocSpec
from tests.texts import prose, rewrap, urdu_prose

KEY = b"f" * 32
ENGLISH = prose(41, 600)
URDU_NASKH = urdu_prose(42, 350)
URDU_NASTALIQ = urdu_prose(43, 350)
URDU_PLAIN = urdu_prose(44, 350)


def paragraphs(text: str) -> list[str]:
    """Paragraphs of about 60 words, as a writer would make them."""
    words = text.split(" ")
    return [" ".join(words[i : i + 60]) for i in range(0, len(words), 60)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not factories.soffice_available():
        pytest.skip("LibreOffice (soffice) is not installed: cannot make test PDFs")
    root = tmp_path_factory.mktemp("formats")
    archive, export = root / "archive", root / "export"
    archive.mkdir()
    export.mkdir()
    factories.make_pdfs(
        [
            (archive / "memo.pdf", DocSpec(tuple(paragraphs(ENGLISH)))),
            (archive / "naskh.pdf", DocSpec(tuple(paragraphs(URDU_NASKH)), rtl=True, font=NASKH)),
            (
                archive / "nastaliq.pdf",
                DocSpec(tuple(paragraphs(URDU_NASTALIQ)), rtl=True, font=NASTALIQ),
            ),
            (export / "plain-as.pdf", DocSpec(tuple(paragraphs(URDU_PLAIN)), rtl=True, font=NASKH)),
        ]
    )
    (archive / "plain.txt").write_text(URDU_PLAIN, encoding="utf-8")
    for n in range(3):
        (archive / f"other{n}.txt").write_text(prose(45 + n, 300), encoding="utf-8")
        (archive / f"urdu-other{n}.txt").write_text(urdu_prose(48 + n, 300), encoding="utf-8")
    (export / "memo-rewrapped.txt").write_text(rewrap(ENGLISH), encoding="utf-8")
    factories.make_docx(export / "memo.docx", paragraphs(ENGLISH))
    (export / "naskh-typed.txt").write_text(URDU_NASKH, encoding="utf-8")
    (export / "nastaliq-typed.txt").write_text(URDU_NASTALIQ, encoding="utf-8")
    factories.make_encrypted_pdf(export / "locked.pdf", paragraphs(ENGLISH)[:2])
    return root


@pytest.fixture(scope="module")
def results(workspace: Path) -> dict[str, list[object]]:
    with Index.create(workspace / "index.sqlite", key=KEY) as index:
        report = build(index, [workspace / "archive"])
        assert report.errors == [], report.errors
        found: dict[str, list[object]] = {}
        for record in Scanner(index).scan([workspace / "export"]):
            name = getattr(record, "suspect", None)
            if name:
                found.setdefault(Path(name).name, []).append(record)
        return found


@pytest.mark.parametrize(
    ("suspect", "source"),
    [
        ("memo-rewrapped.txt", "memo.pdf"),
        ("memo.docx", "memo.pdf"),
        ("naskh-typed.txt", "naskh.pdf"),
        ("nastaliq-typed.txt", "nastaliq.pdf"),
        ("plain-as.pdf", "plain.txt"),
    ],
)
def test_text_is_found_across_formats(
    results: dict[str, list[object]], suspect: str, source: str
) -> None:
    findings = [r for r in results[suspect] if isinstance(r, Finding)]
    assert [f.source for f in findings] == [source]
    assert findings[0].score >= 0.75


def test_naskh_pdf_copy_is_an_exact_copy_of_its_text(results: dict[str, list[object]]) -> None:
    [finding] = results["naskh-typed.txt"]
    assert isinstance(finding, Finding) and finding.kind == "exact-copy"


def test_encrypted_pdf_is_an_error_record(results: dict[str, list[object]]) -> None:
    [record] = results["locked.pdf"]
    assert isinstance(record, ErrorRecord) and "password" in record.error
