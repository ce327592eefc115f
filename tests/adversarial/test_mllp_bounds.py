"""The MLLP listener against idle, greedy and hostile peers, over real sockets on 127.0.0.1.

It had no connection limit and no idle timeout: 20,000 idle connections exhausted its
descriptors and a good message waited 25 s for its ACK; 20 senders of 15 MB unterminated
frames took it from 0.4 to 3 GB. Now connections, idle time and buffered bytes are bounded;
a refusal is one log line (no traceback), and the senders already connected keep being answered.
"""

from __future__ import annotations

import logging
import socket
import time

from tests.sources.hl7v2.conftest import ack_fields, mllp_read, mllp_send, quarantine_rows
from tests.sources.hl7v2.test_listener import corpus_messages, listening

LOGGER = "medlake.sources.hl7v2.listener"


def _closed_by_peer(sock: socket.socket, wait: float = 10) -> bool:
    """True once the listener has closed ``sock`` (EOF or reset) within ``wait`` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _refusals(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_connections_over_the_limit_are_closed_and_a_connected_sender_is_answered(workspace, caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    first, second = corpus_messages("admit-then-update.hl7")
    with (
        listening(workspace, max_connections=4) as (port, result),
        socket.create_connection(("127.0.0.1", port), timeout=30) as good,
    ):
        assert ack_fields(mllp_send(good, first))["MSA"][1] == "AA"
        idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3)]
        crowd = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(40)]
        assert all(_closed_by_peer(sock) for sock in crowd), "over the limit: closed at once"
        assert not any(_closed_by_peer(sock, 0.2) for sock in idle), "within it: kept"
        started = time.monotonic()
        assert ack_fields(mllp_send(good, second))["MSA"][1] == "AA"
        assert time.monotonic() - started < 10, "answered at once, not after the crowd (25 s before)"
        for sock in idle + crowd:
            sock.close()
    refused = [r for r in _refusals(caplog) if "refused a connection" in r.getMessage()]
    assert len(refused) == 40 and all(r.exc_info is None for r in refused)
    assert "mllp_max_connections" in refused[0].getMessage()
    assert result["stats"].accepted == 2


def test_an_idle_connection_is_closed_and_its_slot_serves_the_next_sender(workspace, caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    message = corpus_messages("z-segments.hl7")[0]
    with listening(workspace, max_connections=1, idle_timeout=0.5) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as idle:
            assert _closed_by_peer(idle, 10), "closed after the idle timeout"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sender:
            assert ack_fields(mllp_send(sender, message))["MSA"][1] == "AA"
    [closed] = [r for r in _refusals(caplog) if "nothing received" in r.getMessage()]
    assert "mllp_idle_timeout" in closed.getMessage() and closed.exc_info is None


def test_a_sender_falling_silent_mid_message_is_cut_off_and_its_part_quarantined(workspace) -> None:
    message = corpus_messages("z-segments.hl7")[0]
    with (
        listening(workspace, idle_timeout=0.5) as (port, _),
        socket.create_connection(("127.0.0.1", port), timeout=30) as sock,
    ):
        sock.sendall(b"\x0b" + message[:80])
        assert _closed_by_peer(sock, 10)
    [row] = quarantine_rows(workspace)
    assert row["stage"] == "read" and "truncated" in row["reason"]
    assert row["raw"].encode() == message[:80]


def test_unterminated_frames_are_refused_at_the_buffer_limit_and_the_senders_go_on(workspace, caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    limit = 64 * 1024
    message = corpus_messages("z-segments.hl7")[0]
    with listening(workspace, max_message_bytes=limit) as (port, result):
        senders = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(20)]
        for sock in senders:  # 20 frames of 1 MiB and no end block yet, all at once
            sock.sendall(b"\x0b" + b"OBX|" + b"x" * (1024 * 1024))
        answers = [ack_fields(mllp_read(sock)) for sock in senders]  # refused before the frame ends
        for sock in senders:
            sock.sendall(b"y" * 100_000 + b"\x1c\r")  # the rest of the frame: dropped, not kept
        good = [ack_fields(mllp_send(sock, message)) for sock in senders]
        for sock in senders:
            sock.close()
    assert all(a["MSA"][1] == "AR" and f"larger than {limit} bytes" in a["MSA"][3] for a in answers)
    assert all(a["MSA"][1] == "AA" for a in good), "each connection goes on after its refused frame"
    refused = [r for r in _refusals(caplog) if "refused a frame" in r.getMessage()]
    assert len(refused) == 20 and all(r.exc_info is None for r in refused)
    stats = result["stats"]
    assert (stats.received, stats.rejected, stats.accepted) == (40, 20, 20)
    assert quarantine_rows(workspace) == [], "a refused frame is not stored: the sender resends it"
