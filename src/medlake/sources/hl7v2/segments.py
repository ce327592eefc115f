"""Reading fields out of python-hl7's parse tree by HL7 position (``PID-3.4.2``).

python-hl7 represents a field as nested lists whose depth depends on which separators
happen to occur in it (``"abc"`` is one string, ``"a^b"`` a repetition of components,
``"a~b"`` two repetitions). Every converter would otherwise have to handle each shape, so
:class:`Segment` and :class:`Composite` give one uniform view: a field is a list of
repetitions, a repetition a list of components, a component a list of subcomponents,
all 1-based as in the standard, every leaf unescaped, and the HL7 null (``""``) read as
empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medlake.sources.hl7v2.escapes import Delimiters, unescape

HL7_NULL = '""'
Leaves = list[list[str]]  # components → subcomponents, raw (still escaped)


class Composite:
    """One repetition of a field: components and subcomponents, 1-based, unescaped on read."""

    __slots__ = ("_components", "_delimiters")

    def __init__(self, components: Leaves, delimiters: Delimiters) -> None:
        self._components = components
        self._delimiters = delimiters

    def c(self, component: int, subcomponent: int = 1) -> str:
        """Component ``component`` (its ``subcomponent``), unescaped; '' when absent."""
        if component > len(self._components):
            return ""
        subs = self._components[component - 1]
        if subcomponent > len(subs):
            return ""
        value = subs[subcomponent - 1]
        if value == HL7_NULL:
            return ""
        return unescape(value, self._delimiters).strip()

    @property
    def empty(self) -> bool:
        return all(not s or s == HL7_NULL for subs in self._components for s in subs)

    def joined(self) -> str:
        """The repetition as text with its own component and subcomponent characters restored.

        For text data types (ST, TX, FT) a literal ``^`` that the sender did not escape has
        been split off as a component by the parser; this puts the text back together."""
        d = self._delimiters
        parts = [d.subcomponent.join(_trimmed([_leaf(s, d) for s in subs])) for subs in self._components]
        return d.component.join(_trimmed(parts)).strip()

    def text(self, separator: str = " ") -> str:
        """Every non-empty leaf, unescaped, joined: the fallback when no structure applies."""
        leaves = [self.c(i + 1, j + 1) for i, subs in enumerate(self._components) for j in range(len(subs))]
        return separator.join(leaf for leaf in leaves if leaf)


class Segment:
    """One segment of a parsed message, with its 1-based position in the message."""

    __slots__ = ("_delimiters", "_fields", "_reps", "name", "position")

    def __init__(self, name: str, position: int, fields: Sequence[Any], delimiters: Delimiters) -> None:
        self.name = name
        self.position = position
        self._fields = fields
        self._delimiters = delimiters
        self._reps: dict[int, list[Composite]] = {}  # converters read some fields several times

    @property
    def label(self) -> str:
        return f"{self.name} (segment {self.position})"

    def reps(self, field: int) -> list[Composite]:
        """The non-empty repetitions of field ``field``."""
        cached = self._reps.get(field)
        if cached is not None:
            return cached
        out = []
        if field < len(self._fields):
            for components in _repetitions(self._fields[field]):
                composite = Composite(components, self._delimiters)
                if not composite.empty:
                    out.append(composite)
        self._reps[field] = out
        return out

    def first(self, field: int) -> Composite:
        reps = self.reps(field)
        return reps[0] if reps else Composite([], self._delimiters)

    def value(self, field: int, component: int = 1, subcomponent: int = 1) -> str:
        return self.first(field).c(component, subcomponent)


def _leaf(value: str, delimiters: Delimiters) -> str:
    return "" if value == HL7_NULL else unescape(value, delimiters)


def _trimmed(parts: list[str]) -> list[str]:
    """``parts`` without its trailing empty entries (empty trailing components are not data)."""
    end = len(parts)
    while end and not parts[end - 1]:
        end -= 1
    return parts[:end]


def _repetitions(field: Any) -> list[Leaves]:
    """python-hl7's Field (a str, or a list of str/Repetition) as repetitions of components."""
    if isinstance(field, str):
        return [[[field]]]
    reps: list[Leaves] = []
    for repetition in field:
        if isinstance(repetition, str):
            reps.append([[repetition]])
            continue
        components: Leaves = []
        for component in repetition:
            if isinstance(component, str):
                components.append([component])
            else:
                components.append([str(s) for s in component])
        reps.append(components)
    return reps
