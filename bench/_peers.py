"""The peers: where their venvs live, what exact version each runs, and how to (re)create them.

Each peer gets its own venv under ``bench/peers/<name>/venv`` (gitignored): they pin
dependencies that conflict with the project's and with each other's (cumulus-etl pulls
pyspark and its own fhirclient; fhir4ds any DuckDB). Their code is never committed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEERS_DIR = BENCH / "peers"


@dataclass(frozen=True)
class Peer:
    name: str
    requirement: str  # exact pin, so the figures are reproducible
    runner: str  # the measured child script, beside this module
    import_name: str

    @property
    def venv(self) -> Path:
        return PEERS_DIR / self.name / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


PEERS = {
    peer.name: peer
    for peer in (
        Peer("fhir4ds", "fhir4ds==0.5.1", "_fhir4ds_runner.py", "fhir4ds"),
        Peer("cumulus-etl", "cumulus-etl==4.3.6", "_cumulus_runner.py", "cumulus_etl"),
    )
}

#: Why Pathling is not among them; printed with the results and written to the doc.
PATHLING_NOTE = (
    "Pathling (pathling on PyPI) runs on Spark: it needs Java 21 (this machine has OpenJDK 17) "
    "and downloads its library JARs from Maven Central at start-up, which this machine cannot "
    "reach (only PyPI, npm and Debian). It was therefore not run."
)


def ensure_venv(peer: Peer) -> None:
    """Create the peer's venv and install its pinned release, unless that version is already there.

    With ``uv`` on the PATH (``pip install uv``) it installs the release; otherwise pip does.
    """
    if peer.python.exists() and installed_version(peer) == peer.requirement.split("==")[1]:
        return
    subprocess.run([sys.executable, "-m", "venv", str(peer.venv)], check=True)
    uv = shutil.which("uv")
    if uv:  # pip's resolver did not finish cumulus-etl's unpinned dependencies in 10 minutes; uv does in one
        command = [uv, "pip", "install", "--quiet", "--python", str(peer.python), peer.requirement]
        subprocess.run(command, check=True)
    else:
        subprocess.run([str(peer.python), "-m", "pip", "install", "--quiet", peer.requirement], check=True)


def installed_version(peer: Peer) -> str | None:
    """The distribution version in the peer's venv, or None when it is not installed."""
    if not peer.python.exists():
        return None
    name = peer.requirement.split("==")[0]
    done = subprocess.run(
        [str(peer.python), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def package_versions(peer: Peer, names: tuple[str, ...]) -> dict[str, str]:
    """Versions of the packages that matter for reading a peer's figures (its engine, its parser)."""
    code = (
        "import importlib.metadata as m, json\n"
        f"out = {{}}\nfor n in {list(names)!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run([str(peer.python), "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)
