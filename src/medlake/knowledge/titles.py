"""Page titles as MediaWiki normalises them, so a link finds the page it names.

MediaWiki (``MediaWikiTitleCodec::splitTitleString``) turns the text of a link into a title by
decoding character references and percent escapes, treating underscores as spaces, collapsing
runs of white space, dropping the section anchor after ``#``, splitting off a namespace prefix
(matched case-insensitively against the namespace names of the wiki, read from the dump's
``<siteinfo>``), and upper-casing the first letter in namespaces whose ``case`` is
``first-letter`` (Wikipedia's default). A link with an interwiki prefix names no page here.
Two links reach the same page exactly when their normalised titles are equal, which is what
:func:`Namespaces.split` gives.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

MAIN, TEMPLATE, CATEGORY, FILE = 0, 10, 14, 6
_SPACES = re.compile(r"[\s_]+")
#: Interwiki prefixes are not in the export (they live in the wiki's interwiki table): a language
#: code ("fr:", "zh-yue:") or a Wikimedia project prefix before the first colon links elsewhere.
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
INTERWIKI = frozenset(
    (
        "simple",
        "commons",
        "meta",
        "species",
        "wikt",
        "wiktionary",
        "wikisource",
        "wikiquote",
        "wikibooks",
        "wikinews",
        "wikivoyage",
        "wikiversity",
        "wikidata",
        "d",
        "w",
        "m",
        "mw",
        "q",
        "s",
        "b",
        "n",
        "v",
        "voy",
    )
)

#: The namespaces of a stock MediaWiki (used when a dump has no siteinfo).
DEFAULT_NAMESPACES: dict[int, tuple[str, ...]] = {
    -2: ("Media",),
    -1: ("Special",),
    0: ("",),
    1: ("Talk",),
    2: ("User",),
    3: ("User talk",),
    4: ("Project",),
    5: ("Project talk",),
    6: ("File", "Image"),
    7: ("File talk", "Image talk"),
    8: ("MediaWiki",),
    9: ("MediaWiki talk",),
    10: ("Template",),
    11: ("Template talk",),
    12: ("Help",),
    13: ("Help talk",),
    14: ("Category",),
    15: ("Category talk",),
}


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class Title:
    """A normalised title: namespace number and the text without its prefix."""

    namespace: int
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Namespaces:
    """The wiki's namespaces: names (with aliases) and which ones capitalise their first letter."""

    names: dict[int, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_NAMESPACES))
    case_sensitive: set[int] = field(default_factory=set)

    @classmethod
    def from_siteinfo(cls, namespaces: Iterable | None) -> Namespaces:
        """From ``mwtypes.Namespace`` objects (``id``, ``name``, ``canonical``, ``aliases``, ``case``)."""
        if not namespaces:
            return cls()
        names: dict[int, tuple[str, ...]] = {}
        sensitive: set[int] = set()
        for ns in namespaces:
            known = [ns.name or "", ns.canonical or "", *(ns.aliases or ())]
            known += DEFAULT_NAMESPACES.get(ns.id, ())
            names[ns.id] = tuple(dict.fromkeys(_squash(n) for n in known if n is not None))
            if ns.case == "case-sensitive":
                sensitive.add(ns.id)
        return cls(names, sensitive)

    def __post_init__(self) -> None:
        self._by_prefix = {
            name.casefold(): number for number, names in self.names.items() for name in names if name
        }

    def split(self, text: str, default: int = MAIN) -> Title | None:
        """The title a link's target (or a page's ``<title>``) names; None if it names no page.

        ``default`` is the namespace a bare name lives in: 0 for links, 10 for a template call.
        """
        if "&" in text:
            text = html.unescape(text)
        if "%" in text:
            text = unquote(text)
        text = text.split("#", 1)[0]
        text = _squash(text)
        namespace = default
        if text.startswith(":"):  # [[:Category:X]] links to the category page; {{:Foo}} uses page Foo
            text, namespace = _squash(text[1:]), MAIN
        if ":" in text:
            prefix, rest = text.split(":", 1)
            number = self._by_prefix.get(_squash(prefix).casefold())
            if number is not None:
                namespace, text = number, _squash(rest)
            elif namespace == MAIN and (_LANGUAGE.match(prefix) or prefix.casefold() in INTERWIKI):
                return None  # [[fr:Accident vasculaire cérébral]], [[wikt:stroke]]
        if not text or any(c in text for c in "[]{}|<>"):
            return None
        if namespace not in self.case_sensitive:
            text = text[0].upper() + text[1:]
        return Title(namespace, text)

    def article(self, text: str) -> str | None:
        """The main-namespace title a link names, or None for any other namespace."""
        title = self.split(text)
        return title.text if title is not None and title.namespace == MAIN else None

    def template(self, name: str) -> str | None:
        """The template a ``{{name|…}}`` call uses (``subst:``/``safesubst:``/``msgnw:`` dropped)."""
        name = _squash(name)
        for modifier in ("subst:", "safesubst:", "msgnw:", "msg:", "raw:"):
            if name.casefold().startswith(modifier):
                name = name[len(modifier) :]
        title = self.split(name, default=TEMPLATE)
        return title.text if title is not None and title.namespace == TEMPLATE else None
