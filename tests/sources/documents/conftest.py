"""Fixtures for notes and DICOM: real PDFs made with pypdf, real DICOM files shipped in pydicom's wheel."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a real text layer (Helvetica), as a word processor's export has."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    operators = "BT /F1 12 Tf 72 770 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    content = ContentStream(None, None)
    content.set_data(operators.encode("latin-1"))
    page.replace_contents(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def bundled_dicom_files() -> list[Path]:
    """The DICOM test files inside pydicom's wheel.

    Globbed directly rather than through ``pydicom.data.get_testdata_files``, which in
    pydicom 3 also lists files it would download on demand: tests must not use the network.
    """
    from pydicom.data import DATA_ROOT

    files = sorted(Path(DATA_ROOT, "test_files").glob("*.dcm"))
    if len(files) < 10:
        pytest.skip(f"pydicom's bundled test files are not installed under {DATA_ROOT}")
    return files


@pytest.fixture
def dicom_folder(tmp_path: Path) -> Path:
    """A PACS-export-like folder: pydicom's files under a few sub-folders, plus one stray text file."""
    folder = tmp_path / "pacs-export"
    for index, file in enumerate(bundled_dicom_files()):
        target = folder / f"box{index % 3}" / file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, target)
    (folder / "box0" / "README.txt").write_text("exported by the PACS on 2024-05-01\n")
    return folder
