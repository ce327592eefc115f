"""HL7 v2 throughput: messages per second for file ingest and over MLLP.

A stream of realistic messages is generated (by default 10,000: ADT^A01/A04/A08/A03 for a
pool of patients and visits, and ORU^R01 lab panels with 4-8 LOINC-coded results each in
UCUM units), then

1. written to files of 1,000 messages and ingested with ``ingest_hl7_path`` (the same code
   as ``medlake ingest hl7``), and
2. sent over MLLP to ``medlake listen hl7`` running in its own process, by ``--senders``
   concurrent connections, each waiting for every ACK before its next message (as real
   senders do); the ACK comes only after the message is committed.

    python bench/hl7v2.py [--messages 10000] [--senders 32] [--workers 2]

(Not ``bench/hl7.py``: other benchmarks put ``bench/`` on ``sys.path``, and a module named
``hl7`` there would shadow the python-hl7 library for the whole process.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hl7.mllp import open_hl7_connection

from medlake.sources.hl7v2 import ingest_hl7_path
from medlake.workspace import init_workspace

PROJECT = Path(__file__).resolve().parents[1]
LISTENER = """
import typer
from medlake.cli.hl7 import register
app, ingest = typer.Typer(), typer.Typer()
app.add_typer(ingest, name="ingest")
register(app, ingest)
app()
"""
PANELS = {
    "24331-1^Lipid panel^LN": [
        ("2093-3^Cholesterol [Moles/volume] in Serum or Plasma^LN", "mmol/L", 3.0, 7.5, "<5.2"),
        ("2571-8^Triglyceride [Moles/volume] in Serum or Plasma^LN", "mmol/L", 0.5, 3.0, "<1.7"),
        ("2085-9^HDL Cholesterol [Moles/volume] in Serum or Plasma^LN", "mmol/L", 0.7, 2.5, ">1.0"),
        ("13457-7^LDL Cholesterol [Moles/volume] in Serum or Plasma^LN", "mmol/L", 1.5, 5.0, "<3.0"),
    ],
    "58410-2^CBC panel - Blood by Automated count^LN": [
        ("718-7^Hemoglobin [Mass/volume] in Blood^LN", "g/dL", 9.0, 17.5, "12.0-16.0"),
        ("6690-2^Leukocytes [#/volume] in Blood by Automated count^LN", "10*3/uL", 2.0, 15.0, "4.0-11.0"),
        ("777-3^Platelets [#/volume] in Blood by Automated count^LN", "10*3/uL", 90, 450, "150-400"),
        ("4544-3^Hematocrit [Volume Fraction] of Blood by Automated count^LN", "%", 30, 52, "36-46"),
        ("789-8^Erythrocytes [#/volume] in Blood by Automated count^LN", "10*6/uL", 3.5, 6.0, "4.2-5.4"),
        ("785-6^MCH [Entitic mass] by Automated count^LN", "pg", 25, 35, "27-33"),
    ],
    "24323-8^Comprehensive metabolic panel^LN": [
        ("2345-7^Glucose [Moles/volume] in Serum or Plasma^LN", "mmol/L", 3.5, 14.0, "3.9-5.5"),
        ("2951-2^Sodium [Moles/volume] in Serum or Plasma^LN", "mmol/L", 128, 150, "135-145"),
        ("2823-3^Potassium [Moles/volume] in Serum or Plasma^LN", "mmol/L", 3.0, 6.0, "3.5-5.0"),
        ("2160-0^Creatinine [Mass/volume] in Serum or Plasma^LN", "mg/dL", 0.5, 3.0, "0.6-1.2"),
        ("3094-0^Urea nitrogen [Mass/volume] in Serum or Plasma^LN", "mg/dL", 5, 40, "7-20"),
        (
            "1742-6^Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma^LN",
            "U/L",
            5,
            120,
            "7-56",
        ),
        ("17861-6^Calcium [Mass/volume] in Serum or Plasma^LN", "mg/dL", 7.5, 11.0, "8.5-10.2"),
        ("2028-9^Carbon dioxide, total [Moles/volume] in Serum or Plasma^LN", "mmol/L", 18, 32, "23-29"),
    ],
}
FAMILIES = ["SMITH", "JONES", "TAYLOR", "BROWN", "WILSON", "EVANS", "THOMAS", "JOHNSON", "ROBERTS", "WALKER"]
GIVEN = [
    "OLIVIA",
    "AMELIA",
    "ISLA",
    "AVA",
    "NOAH",
    "OLIVER",
    "GEORGE",
    "ARTHUR",
    "LEO",
    "HARRY",
    "MIA",
    "ZOE",
]
HOSPITAL = "NORTHHOSP&1.2.826.0.1.3680043.2.1125&ISO"


def _timestamp(rng: random.Random) -> str:
    month, day, hour, minute = rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
    return f"2024{month:02d}{day:02d}{hour:02d}{minute:02d}00+0000"


def _patient(rng: random.Random, number: int) -> tuple[str, str, str, str]:
    birth = f"19{rng.randint(30, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    return f"MRN{number:07d}", f"{rng.choice(FAMILIES)}^{rng.choice(GIVEN)}", birth, rng.choice("MF")


def generate(count: int, seed: int = 7) -> list[bytes]:
    """``count`` messages: about 40% ADT (admits, registrations, updates, discharges), 60% ORU."""
    rng = random.Random(seed)
    patients = [_patient(rng, n) for n in range(max(1, count // 8))]
    out = []
    for n in range(count):
        mrn, name, birth, sex = rng.choice(patients)
        visit = f"V{mrn[3:]}-{rng.randint(1, 3)}"
        when = _timestamp(rng)
        pid = "|".join(
            [
                "PID|1|",
                f"{mrn}^^^{HOSPITAL}^MR~{rng.randint(10**9, 10**10)}^^^NHS^NH",
                "",
                name,
                "",
                birth,
                sex,
                "",
                "",
                f"{rng.randint(1, 200)} High Street^^Portsmouth^^PO{rng.randint(1, 9)} 1AA^GB^H",
                "",
                f"023 9200 {rng.randint(1000, 9999)}^PRN^PH",
            ]
        )
        doctor = f"{rng.randint(1000, 9999)}^Jones^Rita^^^Dr"
        ward = f"WARD{rng.randint(1, 20)}^{rng.randint(1, 30)}^A^NORTHHOSP"
        pv1 = (
            f"PV1|1|{rng.choice('IOE')}|{ward}||||{doctor}|||MED||||1|||||{visit}^^^NORTHHOSP^VN"
            + "|" * 25
            + when
        )
        if rng.random() < 0.4:
            trigger = rng.choice(["A01", "A04", "A08", "A08", "A03"])
            segments = [
                f"MSH|^~\\&|ADT|NORTHHOSP|MEDLAKE|REGION|{when}||ADT^{trigger}^ADT_A01|ADT{n:08d}|P|2.5.1",
                f"EVN|{trigger}|{when}",
                pid,
                "NK1|1|DOE^JAMIE|SPO^Spouse^HL70063|||023 9200 0000^PRN^PH",
                pv1,
                "AL1|1|DA|70618^Penicillin^RXNORM|SV",
            ]
        else:
            panel, tests = rng.choice(list(PANELS.items()))
            segments = [
                f"MSH|^~\\&|LAB|NORTHHOSP|MEDLAKE|REGION|{when}||ORU^R01^ORU_R01|LAB{n:08d}|P|2.5.1",
                pid,
                pv1,
                f"ORC|RE|PL{n:08d}|FL{n:08d}",
                f"OBR|1|PL{n:08d}|FL{n:08d}|{panel}|||{when}" + "|" * 15 + f"{when}|||F",
            ]
            for i, (code, unit, low, high, reference) in enumerate(
                tests[: rng.randint(4, len(tests))], start=1
            ):
                value = round(rng.uniform(low, high), 1)
                flag = rng.choice("NNNNHL")
                segments.append(f"OBX|{i}|NM|{code}||{value}|{unit}^^UCUM|{reference}|{flag}|||F|||{when}")
        out.append(("\r".join(segments) + "\r").encode())
    return out


def bench_files(messages: list[bytes], folder: Path, workers: int) -> tuple[float, int]:
    inbox = folder / "inbox"
    inbox.mkdir()
    for start in range(0, len(messages), 1000):
        (inbox / f"part-{start // 1000:04d}.hl7").write_bytes(b"".join(messages[start : start + 1000]))
    ws = init_workspace(folder / "ws-files", ingest_workers=workers)
    began = time.perf_counter()
    reports = ingest_hl7_path(ws, inbox, "bench")
    seconds = time.perf_counter() - began
    assert sum(r.quarantined for r in reports) == 0, [r for r in reports if r.quarantined]
    return seconds, sum(r.stored for r in reports)


async def _send(port: int, share: list[bytes], codes: Counter, acked: list[float]) -> None:
    reader, writer = await open_hl7_connection("127.0.0.1", port, limit=1 << 24)
    for message in share:
        writer.writeblock(message)
        await writer.drain()
        ack = await reader.readblock()
        codes[re.search(rb"\rMSA\|(\w\w)", ack)[1].decode()] += 1  # type: ignore[index]
        acked.append(time.perf_counter())
    writer.close()
    await writer.wait_closed()


def bench_mllp(messages: list[bytes], folder: Path, senders: int) -> tuple[float, Counter, str, str]:
    home = folder / "ws-mllp"
    init_workspace(home)
    options = ["--port", "0", "--institution", "bench", "--home", str(home), "--json"]
    command = [sys.executable, "-c", LISTENER, "listen", "hl7", *options]
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    port = None
    for line in process.stderr:  # type: ignore[union-attr]
        if match := re.search(rb"listening on [\d.]+:(\d+)", line):
            port = int(match[1])
            break
    assert port, "the listener did not start"
    codes: Counter = Counter()
    acked: list[float] = []
    shares = [messages[i::senders] for i in range(senders)]

    async def run() -> None:
        await asyncio.gather(*(_send(port, share, codes, acked) for share in shares))

    began = time.perf_counter()
    asyncio.run(run())
    seconds = time.perf_counter() - began
    process.terminate()
    out, _ = process.communicate(timeout=60)
    return seconds, codes, out.decode(), _trend(sorted(acked), began)


def _trend(acked: list[float], began: float) -> str:
    """Messages/s over the first and the last tenth of the run: commits cost more as the lake grows."""
    tenth = max(1, len(acked) // 10)
    first = tenth / (acked[tenth - 1] - began)
    last = tenth / (acked[-1] - acked[-tenth - 1]) if len(acked) > tenth else first
    return f"first tenth {first:.0f}/s, last tenth {last:.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=32, help="concurrent MLLP connections")
    parser.add_argument("--workers", type=int, default=2, help="ingest worker processes for the file run")
    args = parser.parse_args()
    messages = generate(args.messages)
    size = sum(len(m) for m in messages)
    options = f"--messages {args.messages} --senders {args.senders} --workers {args.workers}"
    print(f"command: python bench/hl7v2.py {options}")
    print(f"{len(messages)} messages, {size / len(messages):.0f} bytes on average, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        seconds, stored = bench_files(messages, Path(tmp), args.workers)
        rate = len(messages) / seconds
        detail = f"{seconds:.1f} s; {stored} resources, {stored / seconds:.0f}/s"
        print(f"file ingest:  {rate:8.0f} messages/s  ({detail})")
        seconds, codes, summary, trend = bench_mllp(messages, Path(tmp), args.senders)
        rate = len(messages) / seconds
        detail = f"{seconds:.1f} s; {args.senders} senders; {trend}; ACKs {dict(codes)}"
        print(f"MLLP listen:  {rate:8.0f} messages/s  ({detail})")
        print(f"listener summary: {' '.join(summary.split())}")


if __name__ == "__main__":
    main()
