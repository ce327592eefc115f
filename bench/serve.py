"""Benchmark of the FHIR server: index build rate, then read and search latency over real HTTP.

Usage::

    PYTHONPATH=src .venv/bin/python bench/serve.py --residents 100 --n 300 --docs docs/benchmarks.md

It synthesises a demo region, ingests, builds and links it, builds the serving index (timed:
resources/s), starts ``medlake serve`` in its own process (so the load generator does not share
its interpreter), signs a clinician in, and sends each request kind ``--n`` times from an
asyncio httpx client at each ``--concurrency``. Every figure includes what every request pays:
token verification, ``authorize`` with its audit row, the index query and the audit of what
was returned.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from statistics import quantiles

import httpx

from medlake.access import keys
from medlake.access.identity import add_user
from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.mpi import MasterPatientIndex
from medlake.serving import ServingIndex, parse_search
from medlake.synth import generate_region
from medlake.workspace import init_workspace

SECTION = "## FHIR server: read and search (`bench/serve.py`)"
BEGIN, END = "<!-- bench/serve.py: start (generated) -->", "<!-- bench/serve.py: end -->"
PASSWORD = "a benchmark passphrase"


class Everything:
    patients = None
    institutions = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], p: int) -> float:
    return quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


async def load(
    url: str, token: str, n: int, concurrency: int, request: Callable[[int], str]
) -> dict[str, float]:
    """``n`` GETs of ``request(i)`` by ``concurrency`` workers; latencies in ms and requests/s."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(n))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def worker() -> None:
            nonlocal failures
            for i in counter:
                start = time.perf_counter()
                try:
                    response = await client.get(request(i))
                    failures += response.status_code != 200
                except httpx.TransportError:
                    failures += 1
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "failed": failures,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "per_s": n / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--n", type=int, default=300, help="requests per kind and concurrency")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--work", type=Path, default=Path("/tmp/serve-bench"))
    parser.add_argument("--docs", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    shutil.rmtree(args.work, ignore_errors=True)
    region = args.work / "region"
    generate_region(region, args.residents, args.seed)
    ws = init_workspace(args.work / "ws", ingest_workers=1)
    for folder in sorted(p for p in region.iterdir() if p.is_dir() and p.name != "truth"):
        ingest_path(ws, folder, folder.name)
    build_all(ws)
    MasterPatientIndex(ws).run()
    index = ServingIndex(ws)
    started = time.perf_counter()
    report = index.refresh()
    build_seconds = time.perf_counter() - started
    indexed = sum(report.indexed.values())
    print(f"serving index: {indexed:,} resources in {build_seconds:.1f} s", flush=True)

    # what the requests ask for: the busiest institution's patients and their observation codes
    observations = index.search(parse_search("Observation", [("_count", "1000")]), Everything())
    by_institution: dict[str, list[tuple[str, str]]] = {}
    for found in observations.matches:
        resource = found.resource
        patient = resource.get("subject", {}).get("reference", "").split("/", 1)[-1]
        coding = resource.get("code", {}).get("coding", [{}])[0]
        if patient and coding.get("code"):
            pair = (patient, f"{coding.get('system', '')}|{coding['code']}")
            by_institution.setdefault(patient.split(".", 1)[0], []).append(pair)
    home = max(by_institution, key=lambda i: len(by_institution[i]))
    pairs = by_institution[home]
    patients = sorted({p for p, _ in pairs})
    keys.rotate(ws.home)
    add_user(ws, "bench-clinician", ["clinician"], PASSWORD, tenant=home)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_log = (args.work / "server.log").open("w")  # a file: a full pipe would stall the server
    server = subprocess.Popen(
        [sys.executable, "-m", "medlake", "serve", "--home", str(ws.home), "--port", str(port)],
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/fhir/metadata", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        token = httpx.post(
            f"{url}/auth/token",
            data={"grant_type": "password", "username": "bench-clinician", "password": PASSWORD},
        ).json()["access_token"]
        rng = random.Random(args.seed)
        kinds: dict[str, Callable[[int], str]] = {
            "Patient read": lambda i: f"/fhir/Patient/{rng.choice(patients)}",
            "Observation search by patient and code": lambda i: "/fhir/Observation?patient={}&code={}".format(
                *rng.choice(pairs)
            ),
            "Encounter search by date range (page of 20)": lambda i: (
                f"/fhir/Encounter?date=ge{2015 + i % 8}-01-01&date=lt{2016 + i % 8}-01-01&_count=20"
            ),
            "Patient search by family name prefix": lambda i: "/fhir/Patient?family=a&_count=20",
        }
        results = {}
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            for name, request in kinds.items():
                results[(name, concurrency)] = asyncio.run(load(url, token, args.n, concurrency, request))
                print(
                    name,
                    concurrency,
                    {k: round(v, 2) for k, v in results[(name, concurrency)].items()},
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [
        BEGIN,
        "",
        f"Command: `PYTHONPATH=src .venv/bin/python bench/serve.py --residents {args.residents} --n {args.n} "
        f"--concurrency {args.concurrency}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with other "
        f"engineers' jobs; load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end), "
        f"Python {platform.python_version()}; index and catalog on SQLite; server and load generator on the "
        f"same machine; run {when}.",
        "",
        f"Serving index build (`ServingIndex.refresh`, full): {indexed:,} resources "
        f"in {build_seconds:.1f} s, "
        f"**{indexed / build_seconds:,.0f} resources/s**.",
        "",
        "| request | clients | p50 ms | p95 ms | p99 ms | requests/s | failed |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {c} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['per_s']:,.1f} "
            f"| {r['failed']:.0f} |"
            for (name, c), r in results.items()
        ),
        "",
        END,
    ]
    text = "\n".join(block)
    print(text)
    if args.docs:
        current = args.docs.read_text()
        if BEGIN in current:
            current = current[: current.index(BEGIN)] + text + current[current.index(END) + len(END) :]
        else:
            current = current.rstrip("\n") + f"\n\n{SECTION}\n\n" + text + "\n"
        args.docs.write_text(current)


if __name__ == "__main__":
    main()
