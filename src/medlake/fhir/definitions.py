"""What validation takes from the FHIR R4 (4.0.1) definitions: primitive formats and required codes.

The model classes ingest validates with (``fhirclient``) know an element's JSON type but not its
FHIR type (an ``id`` and a ``code`` are both ``str`` there) nor its terminology binding. Both come
from the specification's own definitions, which the npm package ``hl7.fhir.r4.examples`` 4.0.1
(CC0) carries whole: the ``StructureDefinition`` of each primitive type gives its regular
expression (and ``string`` its maximum length), and the ``StructureDefinition`` of each resource
and data type gives, for every ``code`` element bound with strength *required*, the value set
whose codes alone are valid; the package's ``ValueSet`` and ``CodeSystem`` resources enumerate
them. Value sets drawn from a terminology the package does not hold (MIME types, ISO 4217
currencies: 13 elements in R4) cannot be enumerated; they are listed as such and not enforced.

The extract is shipped with the package (``r4_definitions.json``, 70 KB) so validating needs no
network; ``python -m medlake.fhir.definitions`` writes it again from the npm package, and
``tests/fhir/test_definitions.py`` checks the shipped file is exactly that extract (given the
unpacked package in ``MEDLAKE_R4_PACKAGE``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = "hl7.fhir.r4.examples@4.0.1"
SHIPPED = Path(__file__).with_name("r4_definitions.json")
_REGEX = "http://hl7.org/fhir/StructureDefinition/regex"


@cache
def definitions() -> dict:
    """The shipped extract: ``patterns``, ``max_length``, ``required`` (element path → value set
    URL), ``value_sets`` (URL → codes) and ``not_enumerable`` (element path → value set URL)."""
    return json.loads(SHIPPED.read_text())


def type_pattern(fhir_type: str) -> str | None:
    """The regular expression R4 gives a primitive type's values (to match whole), if any."""
    return definitions()["patterns"].get(fhir_type)


def max_length(fhir_type: str) -> int | None:
    return definitions()["max_length"].get(fhir_type)


@cache
def required_codes(path: str) -> tuple[str, frozenset[str]] | None:
    """``(value set URL, its codes)`` when the element at ``path`` (``Observation.status``) is a
    code with a required binding whose codes are known; None otherwise."""
    found = definitions()
    url = found["required"].get(path)
    if url is None:
        return None
    return url, frozenset(found["value_sets"][url])


# Writing the extract from the package ---------------------------------------------------------


def extract(package: Path) -> dict:
    """The extract, from an unpacked ``hl7.fhir.r4.examples`` package folder."""
    patterns: dict[str, str] = {}
    lengths: dict[str, int] = {}
    bindings: dict[str, str] = {}
    for definition in _resources(package, "StructureDefinition"):
        if definition.get("derivation") != "specialization":
            continue  # profiles constrain; the base definitions hold the bindings
        kind = definition.get("kind")
        elements = definition.get("snapshot", {}).get("element", [])
        if kind == "primitive-type":
            for element in elements:
                if element["path"] != f"{definition['id']}.value":
                    continue
                for extension in (x for t in element.get("type", []) for x in t.get("extension", [])):
                    if extension.get("url") == _REGEX:
                        patterns[definition["id"]] = extension["valueString"]
                if "maxLength" in element:
                    lengths[definition["id"]] = element["maxLength"]
        elif kind in ("resource", "complex-type"):
            for element in elements:
                binding = element.get("binding") or {}
                codes = [t.get("code") for t in element.get("type", [])]
                if binding.get("strength") == "required" and codes == ["code"] and binding.get("valueSet"):
                    bindings[element["path"]] = binding["valueSet"].split("|")[0]
    value_sets = {v["url"]: v for v in _resources(package, "ValueSet")}
    code_systems = {c["url"]: c for c in _resources(package, "CodeSystem")}
    required: dict[str, str] = {}
    enumerated: dict[str, list[str]] = {}
    not_enumerable: dict[str, str] = {}
    for path, url in sorted(bindings.items()):
        try:
            codes = _expand(url, value_sets, code_systems)
        except LookupError:
            not_enumerable[path] = url
            continue
        required[path] = url
        enumerated[url] = sorted(codes)
    return {
        "source": PACKAGE,
        "patterns": dict(sorted(patterns.items())),
        "max_length": dict(sorted(lengths.items())),
        "required": required,
        "value_sets": dict(sorted(enumerated.items())),
        "not_enumerable": not_enumerable,
    }


def _resources(package: Path, resource_type: str) -> Iterator[dict]:
    for file in sorted(package.glob(f"{resource_type}-*.json")):
        resource = json.loads(file.read_text(encoding="utf-8"))
        if resource.get("resourceType") == resource_type:
            yield resource


def _expand(url: str, value_sets: dict[str, dict], code_systems: dict[str, dict]) -> set[str]:
    """Every code of a value set; LookupError when it draws on a terminology not enumerated here."""
    value_set = value_sets.get(url.split("|")[0])
    if value_set is None:
        raise LookupError(url)
    compose = value_set.get("compose") or {}
    if compose.get("exclude"):
        raise LookupError(f"{url} excludes codes")
    codes: set[str] = set()
    for include in compose.get("include", []):
        for imported in include.get("valueSet", []):
            codes |= _expand(imported, value_sets, code_systems)
        system = include.get("system")
        if system is None:
            continue
        if include.get("filter"):
            raise LookupError(f"{url} filters {system}")
        if "concept" in include:
            codes |= {concept["code"] for concept in include["concept"]}
            continue
        code_system = code_systems.get(system)
        if code_system is None or code_system.get("content") != "complete":
            raise LookupError(f"{url} draws on {system}")
        codes |= set(_concepts(code_system))
    return codes


def _concepts(owner: dict) -> Iterator[str]:
    for concept in owner.get("concept", []):
        yield concept["code"]
        yield from _concepts(concept)


def fetch(folder: Path) -> Path:
    """The npm package, unpacked under ``folder`` (``npm pack`` from the npm registry)."""
    subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=folder, check=True, capture_output=True)
    [tarball] = folder.glob("*.tgz")
    with tarfile.open(tarball) as archive:
        archive.extractall(folder, filter="data")
    return folder / "package"


def render(extract_: dict) -> str:
    return json.dumps(extract_, indent=0, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the R4 definitions extract validation ships.")
    parser.add_argument(
        "--package", type=Path, help="an unpacked hl7.fhir.r4.examples folder (default: fetch)"
    )
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        package = args.package or fetch(Path(tmp))
        args.out.write_text(render(extract(package)), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
