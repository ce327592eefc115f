"""Extract the FHIR R4 search parameters of the served resource types into one JSON file.

The serving index (``medlake.serving``) indexes what the specification defines, not a
hand-written list: this script reads the spec's ``SearchParameter-*.json`` resources from the
npm package ``hl7.fhir.r4.examples@4.0.1`` (fetched with ``npm pack`` unless a tarball is
given) and writes ``src/medlake/serving/search_parameters.json``:

    {"package": ..., "types": {"Observation": {"code": {"type": "token",
        "expression": "Observation.code", "target": [], "url": ..., "description": ...}, ...}}}

Only the part of a shared expression that belongs to the type is kept (the definition of
``patient`` is one ``A.patient | B.subject.where(resolve() is Patient) | …`` for 32 types).
Parameters of type ``composite`` and ``special``, and those without an expression, are left
out: the index cannot evaluate them, and the CapabilityStatement must not claim them.

    python scripts/extract_search_parameters.py [--tarball hl7.fhir.r4.examples-4.0.1.tgz]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "hl7.fhir.r4.examples@4.0.1"
OUTPUT = Path(__file__).resolve().parents[1] / "src" / "medlake" / "serving" / "search_parameters.json"
SERVED_TYPES = (
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "MedicationRequest",
    "Procedure",
    "Immunization",
    "DiagnosticReport",
    "DocumentReference",
    "ImagingStudy",
    "Claim",
    "Organization",
    "Practitioner",
    "Device",
)
INDEXABLE = {"token", "string", "date", "reference", "quantity", "uri", "number"}
#: Base types whose parameters apply to every resource type (with their prefix replaced).
ANY_RESOURCE = ("Resource", "DomainResource")


def split_union(expression: str) -> list[str]:
    """The top-level ``|`` alternatives of a FHIRPath expression (not those inside () or quotes)."""
    parts, depth, quote, start = [], 0, False, 0
    for i, ch in enumerate(expression):
        if ch == "'" and (i == 0 or expression[i - 1] != "\\"):
            quote = not quote
        elif quote:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


def root_of(part: str) -> str:
    """The type name an alternative starts from: ``(Observation.value as Quantity)`` → Observation."""
    return part.lstrip("(").split(".", 1)[0].split(" ", 1)[0]


def for_type(definition: dict, resource_type: str) -> str | None:
    """The expression of ``definition`` for ``resource_type``, or None if it does not apply."""
    expression = definition.get("expression")
    if not expression:
        return None
    bases = definition.get("base", [])
    if resource_type in bases:
        mine = [p for p in split_union(expression) if root_of(p) == resource_type]
        return " | ".join(mine) or None
    for base in ANY_RESOURCE:
        if base in bases:
            return " | ".join(
                resource_type + p.lstrip("(")[len(base) :] if p.startswith(base) else p
                for p in split_union(expression)
            )
    return None


def extract(package_dir: Path) -> dict:
    definitions = [json.loads(p.read_text()) for p in sorted(package_dir.glob("SearchParameter-*.json"))]
    # the package also holds three example SearchParameters (``example``, ``example-reference``,
    # ``example-extension``) that are not part of the specification's search
    definitions = [d for d in definitions if not d["id"].startswith("example")]
    types: dict[str, dict[str, dict]] = {t: {} for t in SERVED_TYPES}
    for definition in definitions:
        if definition.get("type") not in INDEXABLE:
            continue
        for resource_type in SERVED_TYPES:
            expression = for_type(definition, resource_type)
            if expression is None:
                continue
            types[resource_type][definition["code"]] = {
                "type": definition["type"],
                "expression": expression,
                "target": sorted(definition.get("target", [])),
                "url": definition["url"],
                "description": definition.get("description", "").split("\n")[0][:200],
            }
    return {
        "package": PACKAGE,
        "generated_by": "scripts/extract_search_parameters.py",
        "types": {t: dict(sorted(p.items())) for t, p in types.items()},
    }


def package_folder(tarball: Path | None, work: Path) -> Path:
    if tarball is None:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=work, check=True, capture_output=True)
        tarball = next(work.glob("*.tgz"))
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers() if Path(m.name).name.startswith("SearchParameter-")]
        archive.extractall(work, members=members, filter="data")
    return work / "package"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tarball", type=Path, help="the npm package's .tgz (default: npm pack it)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        extracted = extract(package_folder(args.tarball, Path(work)))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(extracted, indent=1, sort_keys=False) + "\n")
    counts = {t: len(p) for t, p in extracted["types"].items()}
    print(f"{sum(counts.values())} search parameters for {len(counts)} types → {args.output}")


if __name__ == "__main__":
    main()
