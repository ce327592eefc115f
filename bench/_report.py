"""The benchmark's markdown: figures, ratios, output agreement, machine; and its place in the docs.

The generated block sits between two markers in ``docs/benchmarks.md`` so a re-run replaces
only its own figures; the prose around it and the other sections (HL7, SQL import, MQTT,
Linkage) are left as they are.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from _compare import COMPARED, emptied_columns
from _peers import PEERS, package_versions

START = "<!-- bench/ingest.py: start (generated; edit the script, not this block) -->"
END = "<!-- bench/ingest.py: end -->"
MB = 1024 * 1024
#: Packages whose versions explain medlake's figures, and the peers'.
MEDLAKE_PACKAGES = ("medlake", "duckdb", "deltalake", "pyarrow", "fhirclient", "orjson", "psutil")
PEER_PACKAGES = {
    "fhir4ds": ("fhir4ds", "duckdb", "pandas"),
    "cumulus-etl": ("cumulus-etl", "cumulus-fhir-support", "pyarrow", "fhirclient"),
}


@dataclass
class SystemRun:
    size: int
    system: str
    resources: int
    synth_seconds: float
    ingest_seconds: float
    build_seconds: float | None
    peak_rss: int
    cpu_seconds: float | None
    load_before: float
    started: str
    rows: dict[str, int | None]
    expected: dict[str, dict[str, int]]
    fill: dict | None = None

    @classmethod
    def from_record(cls, size: int, synth: dict, expected: dict, record: dict) -> SystemRun:
        phases = record["phases"]
        return cls(
            size=size,
            system=record["system"],
            resources=record["resources"],
            synth_seconds=synth["seconds"],
            ingest_seconds=phases["ingest"],
            build_seconds=phases.get("build"),
            peak_rss=record["peak_rss"],
            cpu_seconds=record.get("cpu"),
            load_before=record.get("load_before", float("nan")),
            started=record.get("started", "?"),
            rows=record["rows"],
            expected=expected,
            fill=record.get("fill"),
        )

    @property
    def pipeline_seconds(self) -> float:
        return self.ingest_seconds + (self.build_seconds or 0.0)

    @property
    def throughput(self) -> float:
        return self.resources / self.pipeline_seconds

    @property
    def end_to_end_seconds(self) -> float:
        return self.synth_seconds + self.pipeline_seconds


def render(runs: list[SystemRun], machine: list[str], command: str, pathling: str) -> str:
    lines = [
        START,
        "",
        f"Command: `{command}`",
        "",
        "| system | size | resources | synth s | ingest s | build s | ingest+build s | resources/s "
        "| synth→build s | CPU s | peak RSS MB | load before | started |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        build = f"{r.build_seconds:.1f}" if r.build_seconds is not None else "— (in ETL)"
        cpu = f"{r.cpu_seconds:.1f}" if r.cpu_seconds is not None else "?"
        lines.append(
            f"| {r.system} | {r.size:,} | {r.resources:,} | {r.synth_seconds:.1f} | {r.ingest_seconds:.1f} "
            f"| {build} | **{r.pipeline_seconds:.1f}** | **{r.throughput:,.0f}** "
            f"| {r.end_to_end_seconds:.1f} | {cpu} | {r.peak_rss / MB:,.0f} "
            f"| {r.load_before:.1f} | {r.started} |"
        )
    lines += ["", "Ratios (peer ÷ medlake; above 1 means medlake is faster / smaller):", ""]
    lines += [
        "| size | peer | time ratio (ingest+build) | CPU-time ratio | peak RSS ratio |",
        "|---:|---|---:|---:|---:|",
    ]
    by_size: dict[int, dict[str, SystemRun]] = {}
    for r in runs:
        by_size.setdefault(r.size, {})[r.system] = r
    for size, systems in by_size.items():
        medlake = systems.get("medlake")
        for name, peer in systems.items():
            if name == "medlake" or medlake is None:
                continue
            cpu = (
                f"{peer.cpu_seconds / medlake.cpu_seconds:.2f}"
                if peer.cpu_seconds and medlake.cpu_seconds
                else "?"
            )
            lines.append(
                f"| {size:,} | {name} | {peer.pipeline_seconds / medlake.pipeline_seconds:.2f} | {cpu} "
                f"| {peer.peak_rss / medlake.peak_rss:.2f} |"
            )
    lines += ["", *agreement(by_size), *coverage(by_size)]
    lines += ["", f"Not run: {pathling}", "", "Machine:", "", *machine, "", END]
    return "\n".join(lines)


def agreement(by_size: dict[int, dict[str, SystemRun]]) -> list[str]:
    """Rows per resource type: each system's output beside what the input implies."""
    out = [
        "Output rows per resource type (input: every line / current versions per institution / "
        "distinct ids over the region):",
        "",
    ]
    for size, systems in by_size.items():
        names = list(systems)
        out += [f"{size:,} resources:", ""]
        out.append("| type | input lines / current / ids | " + " | ".join(names) + " |")
        out.append("|---|---:|" + "---:|" * len(names))
        expected = next(iter(systems.values())).expected
        for resource_type in COMPARED:
            e = expected.get(resource_type, {"lines": 0, "current": 0, "ids": 0})
            cells = []
            for name in names:
                value = systems[name].rows.get(resource_type)
                if value is None:
                    cells.append("—")
                else:
                    mark = (
                        ""
                        if value == e["current"]
                        else (
                            " (= lines)"
                            if value == e["lines"]
                            else " (= ids)"
                            if value == e["ids"]
                            else " (≠)"
                        )
                    )
                    cells.append(f"{value:,}{mark}")
            line = f"| {resource_type} | {e['lines']:,} / {e['current']:,} / {e['ids']:,} | " + " | ".join(
                cells
            )
            out.append(line + " |")
        out.append("")
    return out


def coverage(by_size: dict[int, dict[str, SystemRun]]) -> list[str]:
    """Columns a peer leaves (mostly) empty where medlake fills them, at the largest size run."""
    size = max(by_size)
    medlake = by_size[size].get("medlake")
    out: list[str] = []
    for name, peer in by_size[size].items():
        if name == "medlake" or medlake is None or medlake.fill is None or peer.fill is None:
            continue
        emptied = emptied_columns(medlake.fill, peer.fill)
        out += [
            f"Columns that {name} fills for clearly fewer rows than medlake ({size:,} resources; "
            "share of rows with a value, medlake → peer):",
            "",
            ", ".join(f"`{v}.{c}` {ours:.0%} → {theirs:.0%}" for v, c, ours, theirs in emptied) or "none",
            "",
        ]
    return out


def machine_facts(peers: list[str]) -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.strip().splitlines()
    facts = [
        f"- CPU: {cpu}; `nproc` = {os.cpu_count()}; "
        f"Python {platform.python_version()} ({platform.platform()})",
        "- `free -g`: " + " / ".join(" ".join(line.split()) for line in memory[:2]),
        "- medlake venv: " + ", ".join(f"{n}=={_version(n)}" for n in MEDLAKE_PACKAGES if _version(n)),
    ]
    for name in peers:
        versions = package_versions(PEERS[name], PEER_PACKAGES.get(name, (name,)))
        facts.append(f"- {name} venv: " + ", ".join(f"{n}=={v}" for n, v in versions.items()))
    return facts


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def write_section(path: Path, block: str) -> None:
    """Replace the generated block in ``path``; a file that does not exist yet is created
    holding the block alone, but an existing file must have the markers (its other text is
    someone's writing, and the block's place in it is theirs to choose)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block + "\n")
        return
    text = path.read_text()
    if START not in text or END not in text:
        raise ValueError(
            f"{path} has no generated block to replace; expected the markers {START!r} … {END!r}"
        )
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + block + tail)
