"""The MLLP listener over real TCP on 127.0.0.1: ACK only after commit, AE/AR with reasons,
clean shutdown on SIGTERM, and a restarted listener stores nothing twice."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from medlake.sources.hl7v2 import ListenerStats, serve, split_messages
from medlake.workspace import Workspace
from tests.conftest import PROJECT
from tests.sources.hl7v2.conftest import CORPUS, ack_fields, mllp_read, mllp_send, quarantine_rows, raw_rows

INSTITUTION = "hosp-a"


def corpus_messages(name: str) -> list[bytes]:
    return [chunk.text for chunk in split_messages((CORPUS / name).read_bytes())]


def binary_ids(ws: Workspace) -> set[str]:
    return {r["resource_id"] for r in raw_rows(ws) if r["resource_type"] == "Binary"}


@contextmanager
def listening(ws: Workspace, **options) -> Iterator[tuple[int, dict]]:
    """A listener in a background thread (its own event loop); yields its port and, after exit, stats."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    def run() -> None:
        async def main() -> ListenerStats:
            state["stop"] = asyncio.Event()

            def on_ready(_host: str, port: int) -> None:
                state["port"] = port
                ready.set()

            return await serve(ws, INSTITUTION, port=0, stop=state["stop"], on_ready=on_ready, **options)

        try:
            state["stats"] = loop.run_until_complete(main())
        except BaseException as exc:  # surfaced in the test thread
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "listener did not start"
    if "error" in state:
        raise state["error"]
    result: dict = {}
    try:
        yield state["port"], result
    finally:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(30)
        loop.close()
        if "error" in state:
            raise state["error"]
        result["stats"] = state["stats"]


def test_ack_comes_only_after_the_message_is_in_the_raw_layer(workspace) -> None:
    messages = corpus_messages("batch.hl7") + corpus_messages("admit-then-update.hl7")
    with listening(workspace) as (port, _), socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for message in messages:
            ack = ack_fields(mllp_send(sock, message))
            control_id = message.split(b"\r")[0].split(b"|")[9].decode()
            assert ack["MSA"][1:3] == ["AA", control_id]
            assert ack["MSH"][9].startswith("ACK^")
            # the moment the ACK is back, another reader of the lake already sees the message
            assert hashlib.sha256(message).hexdigest() in binary_ids(workspace)


def test_content_errors_get_ae_and_unreadable_or_unsupported_messages_ar(workspace) -> None:
    cases = corpus_messages("invalid-dates.hl7") + corpus_messages("unprocessable.hl7")
    with (
        listening(workspace) as (port, result),
        socket.create_connection(("127.0.0.1", port), timeout=30) as sock,
    ):
        answers = [ack_fields(mllp_send(sock, message)) for message in cases]
        junk = ack_fields(mllp_send(sock, b"this is not HL7 at all\r"))
    codes = [a["MSA"][1] for a in answers]
    # invalid dates: Patient lost (AE), one Observation lost (AE), MSH-7 unusable (AE, whole message)
    # unprocessable: no header (AR), SIU^S12 not processed (AR), version 3.0 (AR), then a good one (AA)
    assert codes == ["AE", "AE", "AE", "AR", "AR", "AR", "AA"]
    assert "PID-7" in answers[0]["MSA"][3] and answers[0]["ERR"][3].startswith("102^")
    assert "OBX-14" in answers[1]["MSA"][3]
    assert answers[4]["ERR"][3].startswith("200^") and answers[5]["ERR"][3].startswith("203^")
    assert answers[4]["MSA"][2] == "NP-1", "the control id is echoed even when the message is refused"
    assert junk["MSA"][1] == "AR" and "MSH" in junk["MSA"][3]
    stats = result["stats"]
    assert (stats.received, stats.accepted, stats.errors, stats.rejected) == (8, 1, 3, 4)
    stored_patients = [r for r in raw_rows(workspace) if r["resource_type"] == "Patient"]
    assert len(stored_patients) == 2, "message 2 of invalid-dates and the good one"
    reasons = [q["reason"] for q in quarantine_rows(workspace)]
    assert any("PID-7" in r for r in reasons) and any("SIU^S12" in r for r in reasons)
    assert any(q["raw"] == "this is not HL7 at all\r" for q in quarantine_rows(workspace)), "nothing is lost"


def test_concurrent_senders_share_commits(workspace) -> None:
    messages = [
        m for name in ("batch.hl7", "admit-then-update.hl7", "z-segments.hl7") for m in corpus_messages(name)
    ]
    senders = 6

    def send_all(sock: socket.socket) -> list[bytes]:
        return [mllp_send(sock, m) for m in messages]

    with listening(workspace) as (port, result):
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(senders)]
        answers: list[list[bytes]] = [[] for _ in sockets]
        threads = [
            threading.Thread(target=lambda i=i, s=s: answers[i].extend(send_all(s)))
            for i, s in enumerate(sockets)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for sock in sockets:
            sock.close()
    assert all(ack_fields(a)["MSA"][1] == "AA" for per_sender in answers for a in per_sender)
    stats = result["stats"]
    assert stats.received == senders * len(messages)
    assert stats.commits < stats.received, "waiting messages are committed together"
    assert len(binary_ids(workspace)) == len(messages), "each distinct message stored once"


def test_frames_with_line_breaks_between_them_and_a_pipelined_sender(workspace) -> None:
    first, second = corpus_messages("admit-then-update.hl7")
    with listening(workspace) as (port, _), socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"\x0b" + first + b"\x1c\r\n\x0b" + second + b"\x1c\r")  # two frames at once
        acks = [ack_fields(mllp_read(sock)), ack_fields(mllp_read(sock))]
    assert [a["MSA"][1:3] for a in acks] == [["AA", "UPD-1"], ["AA", "UPD-2"]]


def test_sender_going_away_mid_message_is_quarantined(workspace) -> None:
    message = corpus_messages("z-segments.hl7")[0]
    with listening(workspace) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"\x0b" + message[:60])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:  # the listener still serves
            assert ack_fields(mllp_send(sock, message))["MSA"][1] == "AA"
    [row] = quarantine_rows(workspace)
    assert row["stage"] == "read" and "connection closed before the MLLP end block" in row["reason"]
    assert row["raw"].encode() == message[:60]


def test_oversized_message_is_refused_and_the_connection_goes_on(workspace) -> None:
    small = corpus_messages("z-segments.hl7")[0]
    large = small + b"NTE|1||" + b"x" * 5000 + b"\r"
    with (
        listening(workspace, max_message_bytes=2048) as (port, _),
        socket.create_connection(("127.0.0.1", port), timeout=30) as sock,
    ):
        refused = ack_fields(mllp_send(sock, large))
        accepted = ack_fields(mllp_send(sock, small))
    assert refused["MSA"][1] == "AR" and "larger than 2048 bytes" in refused["MSA"][3]
    assert accepted["MSA"][1] == "AA"


# ---- the real command, in its own process: SIGTERM, restart, resend ------------------------------

RUNNER = """
import typer
from medlake.cli import MedlakeGroup
from medlake.cli.hl7 import register
app, ingest = typer.Typer(cls=MedlakeGroup), typer.Typer()
app.add_typer(ingest, name="ingest")
register(app, ingest)
app()
"""


@contextmanager
def listener_process(home: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    options = ["--port", "0", "--institution", INSTITUTION, "--home", str(home), "--json"]
    command = [sys.executable, "-c", RUNNER, "listen", "hl7", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=PROJECT)
    try:
        port = None
        for line in process.stderr:  # type: ignore[union-attr]
            match = re.search(rb"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match[1])
                break
        assert port, f"listener did not start: {process.stderr.read().decode()}"  # type: ignore[union-attr]
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_drains_and_a_restarted_listener_stores_nothing_twice(workspace) -> None:
    messages = corpus_messages("batch.hl7") + corpus_messages("mllp-framed.hl7")[:2]
    with listener_process(workspace.home) as (process, port):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            first = [ack_fields(mllp_send(sock, m))["MSA"][1] for m in messages]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert first == ["AA"] * len(messages)
    assert process.returncode == 0, err.decode()
    summary = orjson.loads(out)
    assert (summary["received"], summary["accepted"]) == (len(messages), len(messages))
    rows_before = raw_rows(workspace)

    with listener_process(workspace.home) as (process, port):  # restart, and the sender resends everything
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            again = [ack_fields(mllp_send(sock, m))["MSA"][1] for m in messages]
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert again == ["AA"] * len(messages), "already stored is still stored: AA"
    summary = orjson.loads(out)
    assert summary["stored"] == 0 and summary["duplicates"] > 0
    assert len(raw_rows(workspace)) == len(rows_before)
    kept = {
        base64.b64decode(orjson.loads(r["resource"])["data"])
        for r in rows_before
        if r["resource_type"] == "Binary"
    }
    assert kept == set(messages)


def test_shutdown_with_no_traffic_is_clean(workspace) -> None:
    with listener_process(workspace.home) as (process, _port):
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    assert orjson.loads(out)["received"] == 0
