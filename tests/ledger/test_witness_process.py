"""A witness in its own process, against the hub's router served by uvicorn, catches a rewritten history."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from medlake.ledger import open_ledger
from medlake.ledger.cosigning import WitnessRegistry
from medlake.ledger.verify import verify
from tests.ledger.helpers import fill, frames, read_entry, rebuild_indexes, write_frames


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hub(workspace):
    port = _free_port()
    env = os.environ | {"MEDLAKE_HOME": str(workspace.home)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "medlake.ledger.http:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/ledger/keys", timeout=1)
            break
        except httpx.HTTPError:
            assert server.poll() is None, server.stdout.read().decode()
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the hub did not start")
    yield workspace, url
    server.terminate()
    server.wait(10)


def _witness(url: str, folder: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "medlake", "ledger", "witness", "--hub", url,
               "--key", str(folder / "key"), "--state", str(folder / "state.json"), "--once"]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_a_witness_process_cosigns_then_alarms_on_a_rewritten_history(hub, tmp_path) -> None:
    workspace, url = hub
    with open_ledger(workspace) as ledger:
        fill(ledger, 6)
    folder = tmp_path / "witness"

    unknown = _witness(url, folder)  # first run: creates its key, the hub does not know it yet
    assert unknown.returncode == 1 and "witnesses add" in unknown.stderr, unknown.stderr
    public_key = unknown.stderr.split("witnesses add NAME ")[1].split()[0]
    WitnessRegistry(workspace.home / "ledger").add("hosp-north", public_key)

    first = _witness(url, folder)
    assert first.returncode == 0, first.stderr
    head = httpx.get(f"{url}/ledger/head").json()
    assert head["head"]["tree_size"] == 6 and head["cosignatures"][0]["witness"] == "hosp-north"

    with open_ledger(workspace) as ledger:
        fill(ledger, 3, start=6)
    grown = _witness(url, folder)
    assert grown.returncode == 0 and "head of 9 entries new" in grown.stderr, grown.stderr
    assert json.loads((folder / "state.json").read_text())["head"]["tree_size"] == 9

    # an administrator with the signing key rewrites history: entry 2 replaced, everything re-signed
    root = workspace.home / "ledger"
    write_frames(root, [(f.head, f.entries) for f in frames(root)][:2])
    rebuild_indexes(root)
    with open_ledger(workspace) as ledger:
        for index in range(2, 10):
            ledger.append_batch([read_entry(900 + index)])
        assert ledger.size() == 10
    alarmed = _witness(url, folder)
    assert alarmed.returncode == 2, alarmed.stderr
    assert (
        "ALARM (rewrite)" in alarmed.stderr and "not an extension of the head of 9 entries" in alarmed.stderr
    )
    state = json.loads((folder / "state.json").read_text())
    assert state["head"]["tree_size"] == 9 and state["alarms"][-1]["offending_head"]["tree_size"] == 10
    with open_ledger(workspace) as ledger:  # and the witness's co-signature on the hub convicts the rewrite
        report = verify(ledger)
    assert not report.ok and any("rewritten after it was witnessed" in f.message for f in report.findings)
