"""Streaming a MediaWiki XML export (``pages-articles.xml[.bz2]``), one page at a time.

``mwxml`` reads the export incrementally (an XML pull parser under the hood), so a dump of any
size passes through in constant memory; the compressed file is decompressed as a stream. Only
the page's last revision is kept (a full-history export lists every revision). Titles are
normalised with the namespaces the dump's own ``<siteinfo>`` declares, so a localised wiki
(``分类:`` for categories) reads the same way.
"""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import mwparserfromhell
import mwxml

from medlake.errors import InputError
from medlake.knowledge.titles import Namespaces, Title


class DumpError(InputError):
    """The file is not a MediaWiki XML export."""


@dataclass(frozen=True)
class WikiPage:
    namespace: int
    #: normalised title without the namespace prefix
    title: str
    #: the page this one redirects to, else None
    redirect: Title | None
    text: str


def open_dump(path: Path) -> BinaryIO:
    """The export as a byte stream: bzip2 and gzip are recognised by their magic bytes."""
    with open(path, "rb") as probe:
        magic = probe.read(3)
    if magic == b"BZh":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


class DumpReader:
    """Pages of an export, in file order; :attr:`namespaces` come from its ``<siteinfo>`` (known once
    iteration has started)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.namespaces = Namespaces()
        if not self.path.is_file():
            raise DumpError(f"no MediaWiki export at {self.path}")

    def __iter__(self) -> Iterator[WikiPage]:
        with open_dump(self.path) as stream:
            try:
                dump = mwxml.Dump.from_file(stream)
            except Exception as exc:  # mwxml raises bare errors for non-XML input
                raise DumpError(f"{self.path} is not a MediaWiki XML export: {exc}") from exc
            self.namespaces = Namespaces.from_siteinfo(dump.site_info.namespaces if dump.site_info else None)
            for page in dump:
                text = ""
                for revision in page:  # the last revision is the current text
                    text = revision.text or ""
                title = self.namespaces.split(page.title or "")
                if title is None:
                    continue
                yield WikiPage(page.namespace, title.text, self._redirect(page.redirect, text), text)

    def _redirect(self, declared: str | None, text: str) -> Title | None:
        """The redirect target: ``<redirect title=…>`` when the export has it, else ``#REDIRECT [[…]]``."""
        target = declared
        if target is None and text.lstrip()[:9].upper() == "#REDIRECT":
            links = mwparserfromhell.parse(text).filter_wikilinks(recursive=False)
            target = str(links[0].title) if links else None
        return None if target is None else self.namespaces.split(target)
