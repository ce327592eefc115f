"""docs/settings.md lists every setting as the model declares it (regenerate it, do not edit it)."""

from __future__ import annotations

from pathlib import Path

from medlake.config import settings_reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_the_settings_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == settings_reference(), (
        "docs/settings.md is out of date: run `medlake config reference --output docs/settings.md`"
    )
