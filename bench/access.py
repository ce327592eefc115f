"""Benchmark of the access layer: what one request pays for authentication, authorisation and audit.

Usage::

    PYTHONPATH=src .venv/bin/python bench/access.py --work /tmp/access-bench --docs docs/benchmarks.md
    PYTHONPATH=src .venv/bin/python bench/access.py --catalog postgresql+psycopg://postgres@127.0.0.1:5432/test

Every served request verifies its bearer token (two catalog reads: revocation, the account)
and calls ``authorize`` (which commits one audit row to the outbox before it returns); a
request about one person adds the care-relationship and consent reads. Sign-in costs an
Argon2id hash (deliberately slow) or an RS384 signature check plus the ``jti`` insert. The
outbox is flushed to the lake in batches. Each operation runs ``--n`` times, one at a time,
on one thread; the figures are per-operation latencies (p50/p95/p99) and operations/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from medlake.access import audit, identity, keys, tokens
from medlake.access.grants import ASSERTION_TYPE, client_credentials_grant, password_grant
from medlake.access.policy import authorize
from medlake.catalog.models import MpiMember, MpiPerson
from medlake.catalog.store import utcnow
from medlake.workspace import init_workspace

SECTION = "## Access: authentication, authorisation, audit"
PASSWORD = "a benchmark passphrase"
TOKEN_URL = "http://127.0.0.1:8000/auth/token"


def timed(n: int, operation: Callable[[int], object]) -> dict[str, float]:
    seconds = []
    for i in range(n):
        start = time.perf_counter()
        operation(i)
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    pick = lambda q: seconds[min(len(seconds) - 1, int(q * len(seconds)))] * 1000  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "per_s": n / sum(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/access-bench"))
    parser.add_argument("--catalog", help="catalog URL (default: SQLite in the work folder)")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--docs", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    shutil.rmtree(args.work, ignore_errors=True)
    os.environ.pop(keys.CURRENT, None)
    ws = init_workspace(args.work, **({"catalog_url": args.catalog} if args.catalog else {}))
    keys.rotate(ws.home)
    identity.add_user(ws, "dr-a", ["clinician"], PASSWORD, tenant="hosp-a")
    now = utcnow()
    with ws.catalog.session() as s:
        s.add(MpiPerson(id="P-1", status="active", created_at=now, updated_at=now))
        s.flush()  # the member's foreign key needs the person first (PostgreSQL checks it)
        s.add(
            MpiMember(
                patient_id="hosp-a.1",
                institution="hosp-a",
                person_id="P-1",
                fingerprint="0" * 32,
                basis="bench",
                linked_at=now,
            )
        )
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": [{**RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "k1"}]}
    identity.add_client(ws, "ehr", jwks, tenant="hosp-a")
    token = password_grant(ws, "dr-a", PASSWORD).access_token
    principal = tokens.verify(ws, token)

    def assertion() -> str:
        claims = {
            "iss": "ehr",
            "sub": "ehr",
            "aud": TOKEN_URL,
            "exp": int(time.time()) + 240,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, private, algorithm="RS384", headers={"kid": "k1"})

    n, slow_n = args.n, max(10, args.n // 50)
    results = {
        "verify a bearer token": timed(n, lambda i: tokens.verify(ws, token)),
        "authorize (search, with its audit row)": timed(
            n, lambda i: authorize(ws, principal, "Observation", "search")
        ),
        "authorize about one person (care + consent + audit)": timed(
            n, lambda i: authorize(ws, principal, "Observation", "search", patient="P-1")
        ),
        "verify + authorize (what one request pays)": timed(
            n, lambda i: authorize(ws, tokens.verify(ws, token), "Patient", "read")
        ),
        "sign in: password grant (Argon2id)": timed(slow_n, lambda i: password_grant(ws, "dr-a", PASSWORD)),
        "sign in: client_credentials (RS384 + jti)": timed(
            slow_n,
            lambda i: client_credentials_grant(ws, ASSERTION_TYPE, assertion(), "system/*.rs", TOKEN_URL),
        ),
    }
    pending = 3 * n  # the three authorize rows; verify and the grants write none
    start = time.perf_counter()
    flushed = audit.flush(ws, limit=10_000)
    flush_rate = flushed / (time.perf_counter() - start)
    backend = "PostgreSQL" if args.catalog else "SQLite"
    begin, end = (
        f"<!-- bench/access.py {backend}: start (generated) -->",
        f"<!-- bench/access.py {backend}: end -->",
    )
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [
        begin,
        "",
        f"Command: `PYTHONPATH=src .venv/bin/python bench/access.py --n {n}"
        + (" --catalog postgresql+psycopg://…" if args.catalog else "")
        + "`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared with "
        f"other engineers' jobs; load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end), "
        f"Python {platform.python_version()}; catalog on {backend}; run {started}.",
        "",
        "| operation | runs | p50 ms | p95 ms | p99 ms | per second |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {n if 'sign in' not in name else slow_n:,} | {r['p50']:.2f} | {r['p95']:.2f} | "
            f"{r['p99']:.2f} | {r['per_s']:,.0f} |"
            for name, r in results.items()
        ),
        "",
        f"Outbox flush to the lake's `audit/events`: {flushed:,} events (of {pending:,} written) at "
        f"**{flush_rate:,.0f} events/s** in one batch.",
        "",
        end,
    ]
    text = "\n".join(block)
    print(text, flush=True)
    if args.docs:
        current = args.docs.read_text()
        if begin in current:
            current = current[: current.index(begin)] + text + current[current.index(end) + len(end) :]
        elif SECTION in current:
            current = current.rstrip("\n") + "\n\n" + text + "\n"
        else:
            current = (
                current.rstrip("\n")
                + f"\n\n{SECTION}\n\n"
                + (
                    "`bench/access.py` (see its docstring): what each served request pays in "
                    "`medlake.access`, one thread, one operation at a time. The audit write is inside "
                    "every `authorize` figure.\n\n"
                )
                + text
                + "\n"
            )
        args.docs.write_text(current)


if __name__ == "__main__":
    main()
