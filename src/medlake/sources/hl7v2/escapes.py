"""HL7 v2 escape sequences (chapter 2, "Use of escape sequences in text fields").

python-hl7 ships ``unescape``, but it replaces the highlighting sequences ``\\H\\`` and
``\\N\\`` with an underscore and decodes ``\\Xhh..\\`` one byte at a time as Latin-1,
which garbles any multi-byte UTF-8 character. Values stored in the lake must read exactly
as the sender meant them, so this small, strict version is used instead:

* ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\`` → the message's own field, component, subcomponent,
  repetition and escape characters (whatever MSH-1/MSH-2 declare);
* ``\\Xhh…\\`` → those bytes decoded in the message's character set;
* ``\\.br\\`` and ``\\.sp\\`` → a line break; the other formatting commands
  (``\\.fi\\ \\.nf\\ \\.in…\\ \\.ti…\\ \\.sk…\\ \\.ce\\``) and ``\\H\\ \\N\\`` → removed (FHIR
  strings carry no formatting);
* anything else, including an escape character with no closing partner, is kept
  literally, so no text is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass

_FORMATTING = (".fi", ".nf", ".in", ".ti", ".sk", ".ce")
_LINE_BREAKS = (".br", ".sp")


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators of one message, from MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    charset: str = "utf-8"

    @classmethod
    def from_msh(cls, field: str, encoding: str, charset: str = "utf-8") -> Delimiters:
        padded = encoding + "^~\\&"[len(encoding) :]  # missing trailing characters take the defaults
        return cls(field, padded[0], padded[1], padded[2], padded[3], charset)


def unescape(value: str, delimiters: Delimiters) -> str:
    """``value`` with its escape sequences resolved (see the module docstring)."""
    escape = delimiters.escape
    if escape not in value:
        return value
    out: list[str] = []
    position = 0
    while position < len(value):
        start = value.find(escape, position)
        if start < 0:
            out.append(value[position:])
            break
        end = value.find(escape, start + 1)
        if end < 0:  # an unpaired escape character is data, not a sequence
            out.append(value[position:])
            break
        out.append(value[position:start])
        out.append(_resolve(value[start + 1 : end], value[start : end + 1], delimiters))
        position = end + 1
    return "".join(out)


def _resolve(sequence: str, literal: str, d: Delimiters) -> str:
    simple = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition, "E": d.escape}
    if sequence in simple:
        return simple[sequence]
    if sequence in ("H", "N"):
        return ""
    if sequence.startswith(_LINE_BREAKS):
        return "\n" * _count(sequence[3:])
    if sequence.startswith(_FORMATTING):
        return ""
    if sequence.startswith("X") and len(sequence) > 1 and len(sequence) % 2 == 1:
        try:
            return bytes.fromhex(sequence[1:]).decode(d.charset)
        except (ValueError, LookupError):
            return literal
    return literal


def _count(suffix: str) -> int:
    """``\\.sp3\\`` means three line breaks; no number means one."""
    return int(suffix) if suffix.strip().isdigit() else 1


def escape(value: str, delimiters: Delimiters) -> str:
    """``value`` made safe to place in one field component (the reverse of :func:`unescape`).

    Line breaks become ``\\.br\\``; the escape character goes first so the sequences added for
    the other delimiters are not themselves escaped again."""
    d = delimiters
    out = value.replace(d.escape, f"{d.escape}E{d.escape}")
    for char, code in ((d.field, "F"), (d.component, "S"), (d.subcomponent, "T"), (d.repetition, "R")):
        out = out.replace(char, f"{d.escape}{code}{d.escape}")
    return out.replace("\r\n", "\n").replace("\r", "\n").replace("\n", f"{d.escape}.br{d.escape}")
