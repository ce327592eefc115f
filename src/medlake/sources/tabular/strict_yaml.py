"""YAML for mapping files, without YAML 1.1's surprises.

PyYAML follows YAML 1.1, where ``NO`` is ``False``, ``007`` is the octal number 7 and
``2024-01-31`` a date object. In a mapping file those are local codes, ids and format
strings, and silently turning a code table key ``NO`` (Norway) into ``False`` would map
the wrong code. This loader resolves only what a mapping needs: ``true``/``false``,
decimal integers without leading zeros, plain decimals and ``null``; everything else
stays a string. A key written twice in one table is an error, not a silent overwrite.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from medlake.errors import InputError


class MappingSyntaxError(InputError):
    """A mapping file that is not valid YAML, or repeats a key."""


class _StrictLoader(yaml.SafeLoader):
    yaml_implicit_resolvers: dict = {}  # noqa: RUF012 (PyYAML's own class-level table, rebuilt below)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                mark = key_node.start_mark
                raise MappingSyntaxError(
                    f"line {mark.line + 1}: key {key!r} appears twice in the same table "
                    f"(first on line {seen[key].start_mark.line + 1})"
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


def load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise MappingSyntaxError(f"not valid YAML: {exc}") from None
