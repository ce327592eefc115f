"""Device-stream benchmark: readings/s and publish→stored latency through the real broker and lake.

For each rate, a fresh workspace gets the monitors' Device registry, a consumer
(:class:`MqttStream`, in this process) subscribes, and the synthetic monitors publish for
``--seconds`` at that rate (QoS 1). Latency is measured per reading from the timestamp the
publisher puts in the payload to the moment the consumer's micro-batch is committed to
the Delta table (before the PUBACK). Needs Mosquitto on 127.0.0.1:1883.

    python bench/mqtt.py [--rates 200,1000,3000] [--seconds 8] [--batch-size 500] [--max-latency 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import orjson

from medlake.ingest import ingest_path
from medlake.sources.devices.broker import discard_session
from medlake.sources.devices.readings import Message
from medlake.sources.devices.stream import MqttStream, StreamOptions
from medlake.synth.devices import bedsides, publish_vitals, write_registry
from medlake.workspace import init_workspace

BROKER = "mqtt://127.0.0.1:1883"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(rate: int, seconds: float, args: argparse.Namespace, folder: Path) -> dict:
    workspace = init_workspace(folder / f"ws-{rate}", ingest_workers=1)
    beds = bedsides(args.patients, deteriorate=0.2)
    ingest_path(workspace, write_registry(beds, folder / f"devices-{rate}.ndjson"), "icu")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    latencies: list[float] = []
    commits: list[float] = []

    def committed(report, messages: list[Message]) -> None:
        now = time.time()
        commits.append(now)
        for message in messages:
            sent = datetime.fromisoformat(orjson.loads(message.payload)["time"]).timestamp()
            latencies.append(now - sent)

    options = StreamOptions(
        topics=[f"{prefix}/+/vitals"],
        batch_size=args.batch_size,
        inflight=args.inflight,
        max_latency=args.max_latency,
        client_id=f"{prefix}-consumer",
        idle_timeout=3.0,
    )
    stream = MqttStream(workspace, BROKER, "icu", options, on_commit=committed)
    consumer = threading.Thread(target=stream.run)
    consumer.start()
    if not stream.wait_connected(10):
        raise SystemExit(f"could not connect to {BROKER}")
    started = time.time()
    published = publish_vitals(BROKER, beds, rate, count=int(rate * seconds), topic_prefix=prefix)
    consumer.join()
    discard_session(BROKER, options.client_id)  # type: ignore[arg-type]
    totals = stream.totals
    elapsed = max(commits) - started if commits else float("nan")
    return {
        "rate": rate,
        "published": published.published,
        "publish_rate": published.rate,
        "stored": totals.stored,
        "batches": totals.batches,
        "throughput": totals.stored / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates", default="200,1000,3000", help="readings per second to try, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of publishing per rate")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=10_000)
    parser.add_argument("--max-latency", type=float, default=1.0)
    parser.add_argument("--patients", type=int, default=50)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="medlake-bench-mqtt-") as folder:
        for rate in (int(r) for r in args.rates.split(",")):
            rows.append(run(rate, args.seconds, args, Path(folder)))
            print(f"rate {rate}/s done", file=sys.stderr, flush=True)
    print(f"command: python bench/mqtt.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"batch size {args.batch_size}, inflight {args.inflight}, max latency {args.max_latency} s, "
        f"{args.patients} monitors, {args.seconds:g} s per rate, Mosquitto on loopback, 1 ingest worker\n"
    )
    print("| offered/s | published | published/s | stored | batches | stored/s | p50 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['rate']} | {r['published']} | {r['publish_rate']:.0f} | {r['stored']} | {r['batches']} | "
            f"{r['throughput']:.0f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
