"""The MLLP listener's memory under greedy senders, and a good sender's ACK time meanwhile.

``--senders`` connections each send ``--frame-mb`` MB of one frame and never end it (the
report that bounded the listener: 20 senders of 15 MB took it from 0.4 to 3 GB). The listener
buffers at most ``mllp_max_buffered_bytes`` per connection, so its memory grows by at most
senders × that; this prints the listener process's RSS before and at the peak, and how long a
good message, sent on its own connection while the frames stream in, waits for its ACK.

    python bench/mllp_bounds.py --senders 20 --frame-mb 15
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import tempfile
import threading
import time
from pathlib import Path

from medlake.sources.hl7v2 import serve
from medlake.workspace import init_workspace

GOOD = (
    b"MSH|^~\\&|LAB|NORTH|MEDLAKE|REGION|20240308083000+0000||ADT^A04^ADT_A01|B-1|P|2.5.1\r"
    b"EVN|A04|20240308083000+0000\r"
    b"PID|1||B100^^^NORTH^MR||DOE^JANE||19800214|F\r"
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--frame-mb", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        workspace = init_workspace(Path(home) / "ws", ingest_workers=1)
        loop = asyncio.new_event_loop()
        state: dict = {}
        ready = threading.Event()

        async def run() -> None:
            state["stop"] = asyncio.Event()

            def on_ready(_host: str, port: int) -> None:
                state["port"] = port
                ready.set()

            await serve(workspace, "hosp-a", port=0, stop=state["stop"], on_ready=on_ready)

        thread = threading.Thread(target=lambda: loop.run_until_complete(run()), daemon=True)
        thread.start()
        ready.wait(60)
        port = state["port"]
        with socket.create_connection(("127.0.0.1", port)) as warm:  # first commit: engines, tables
            warm.sendall(b"\x0b" + GOOD + b"\x1c\r")
            warm.recv(65536)
        before = rss_mb()
        peak = before
        block = b"OBX|" + b"x" * (1024 * 1024 - 4)

        def greedy() -> None:
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"\x0b")
                for _ in range(args.frame_mb):
                    sock.sendall(block)
                time.sleep(2)  # hold the connection, frame unended, while the peak is read

        senders = [threading.Thread(target=greedy) for _ in range(args.senders)]
        for sender in senders:
            sender.start()
        time.sleep(0.5)
        with socket.create_connection(("127.0.0.1", port)) as good:
            started = time.perf_counter()
            good.sendall(b"\x0b" + GOOD.replace(b"B-1", b"B-2") + b"\x1c\r")
            good.recv(65536)
            ack_seconds = time.perf_counter() - started
        while any(s.is_alive() for s in senders):
            peak = max(peak, rss_mb())
            time.sleep(0.05)
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(60)
    limit = workspace.settings.mllp_max_buffered_bytes / 1024 / 1024
    print(
        f"{args.senders} senders × {args.frame_mb} MB unended frames; mllp_max_buffered_bytes {limit:.0f} MiB"
    )
    print(f"RSS before {before:.0f} MB, peak {peak:.0f} MB (growth {peak - before:.0f} MB)")
    print(f"process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"a good message's ACK meanwhile: {ack_seconds:.2f} s")


if __name__ == "__main__":
    main()
