"""A live MLLP listener: every message answered, and answered AA only once it is stored.

Senders (interface engines, ADT and lab systems) connect over TCP and send MLLP-framed
messages (``0x0B message 0x1C 0x0D``), each waiting for its ACK. The server (python-hl7's
asyncio ``start_hl7_server``) hands every frame to one committer task, which gathers the
frames waiting — briefly (``linger``, 20 ms) holding for one message per connected sender,
since those all arrive just after the previous commit's ACKs — up to ``max_batch``, as
one micro-batch: converts them, ingests them as one delivery through the common pipeline
(validation, de-duplication, quarantine, one Delta commit per table) in a worker thread,
and only when that returns — the data committed to the lake — sends each sender its ACK.
While one micro-batch commits the next gathers, so concurrent senders share commits and
a lone sender never waits for the timer. Nothing is ever acknowledged before it is
durable: a crash between commit and ACK makes the sender resend, and the content-hash
de-duplication makes the resend store nothing twice.

ACK codes per message: AA stored (or already stored); AE read but content wrong —
whole message quarantined, or some of its resources quarantined (MSA-3/ERR say which
and why); AR not readable, or of a type/version not processed, or not stored for a reason
unrelated to the message (the lake could not be written, the listener is stopping):
the sender should resend it later. SIGTERM/SIGINT stop accepting, let every message
already received commit and be answered, then close.

**Bounds.** A listener on a hospital network meets idle, broken and hostile peers. It holds
at most ``mllp_max_connections`` connections (one more is closed at once, so the senders
already connected keep being answered); a connection that sends nothing, or does not read
its ACK, for ``mllp_idle_timeout`` seconds is closed; and a connection buffers at most
``mllp_max_buffered_bytes`` of one frame: past that the frame is answered AR at once and the
rest of it is read and dropped, never kept. Each refusal is one log line, never a traceback.
Memory is therefore bounded by connections × buffered bytes, whatever the peers send.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow.dataset as pads

from medlake.errors import SourceError
from medlake.fhir.reading import Record
from medlake.ingest import BatchReport, Delivery, check_institution, ingest_deliveries
from medlake.lake.tables import QUARANTINE, Layer
from medlake.sources.hl7v2.ack import build_ack
from medlake.sources.hl7v2.convert import DEFAULT_TIMEZONE, MessageConversion, convert_chunk
from medlake.sources.hl7v2.files import SOURCE_KIND, check_timezone
from medlake.sources.hl7v2.framing import END_BLOCK, START_BLOCK, Chunk, split_messages
from medlake.workspace import Workspace

log = logging.getLogger(__name__)
FRAME_END = END_BLOCK + b"\r"
DEFAULT_PORT = 2575
#: Bytes read from a socket at once (asyncio's own buffer stays within twice this).
READ_SIZE = 64 * 1024
_STOP = object()


class _TooLarge(Exception):
    """The frame being read passed the connection's buffer limit (it is being dropped)."""


class _FrameReader:
    """MLLP frames off one connection, with at most ``max_bytes`` of a frame ever buffered.

    A frame past the limit raises :class:`_TooLarge` once; its remaining bytes are then read
    and dropped up to its end block, and the frames after it are read as usual. Reading waits
    at most ``idle`` seconds for the peer (``TimeoutError``).
    """

    def __init__(self, reader: asyncio.StreamReader, max_bytes: int, idle: float) -> None:
        self.reader, self.max_bytes, self.idle = reader, max_bytes, idle
        self.buffer = bytearray()
        self.searched = 0  # the buffer holds no frame end before this offset
        self.dropping = False

    async def next_frame(self) -> bytes:
        """The next frame's content (no start or end block); ``IncompleteReadError`` at the end."""
        while True:
            end = self.buffer.find(FRAME_END, self.searched)
            if end != -1:
                data = bytes(self.buffer[:end])
                del self.buffer[: end + len(FRAME_END)]
                self.searched = 0
                if self.dropping:  # the end of a frame refused already
                    self.dropping = False
                    continue
                if end > self.max_bytes:  # arrived whole within one read: refused all the same
                    raise _TooLarge
                frame = data.lstrip(b" \t\r\n\x00")
                return frame.removeprefix(START_BLOCK)  # a frame without one is still read: lenient
            if self.dropping or len(self.buffer) > self.max_bytes:
                del self.buffer[:-1]  # keep a byte: the end block may straddle two reads
                self.searched = 0
                if not self.dropping:
                    self.dropping = True
                    raise _TooLarge
            else:
                self.searched = max(0, len(self.buffer) - 1)
            async with asyncio.timeout(self.idle):
                chunk = await self.reader.read(READ_SIZE)
            if not chunk:
                partial = b"" if self.dropping else bytes(self.buffer)
                raise asyncio.IncompleteReadError(partial, None)
            self.buffer += chunk

    def pending(self) -> bytes:
        """What was received of a frame not yet ended (nothing of one being dropped)."""
        return b"" if self.dropping else bytes(self.buffer)


@dataclass
class ListenerStats:
    """What the listener answered since it started (messages) and what it committed (resources)."""

    received: int = 0
    accepted: int = 0  # AA
    errors: int = 0  # AE
    rejected: int = 0  # AR
    commits: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    #: the latest batch reports (a listener runs for months: only so many are kept)
    reports: deque[BatchReport] = field(default_factory=lambda: deque(maxlen=1000))

    def add(self, report: BatchReport) -> None:
        self.commits += 1
        self.stored += report.stored
        self.quarantined += report.quarantined
        self.duplicates += report.duplicates
        self.reports.append(report)

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "reports"}


@dataclass
class _Pending:
    frame: bytes  # the frame's content, without the MLLP start and end blocks
    source: str
    answer: asyncio.Future[bytes]
    complete: bool = True  # False: the connection closed before the end block


class Hl7Listener:
    """The MLLP server of one institution; ``start`` binds, ``stop`` drains and closes."""

    def __init__(
        self,
        workspace: Workspace,
        institution: str,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        tz: str = DEFAULT_TIMEZONE,
        max_batch: int = 500,
        max_message_bytes: int | None = None,
        max_connections: int | None = None,
        idle_timeout: float | None = None,
        linger: float = 0.02,
        on_commit: Callable[[BatchReport, list[bytes]], None] | None = None,
    ) -> None:
        """``max_message_bytes``, ``max_connections`` and ``idle_timeout`` default to the settings
        ``mllp_max_buffered_bytes``, ``mllp_max_connections`` and ``mllp_idle_timeout``."""
        check_institution(institution)
        check_timezone(tz)
        settings = workspace.settings
        max_message_bytes = max_message_bytes or settings.mllp_max_buffered_bytes
        self.max_connections = max_connections or settings.mllp_max_connections
        self.idle_timeout = idle_timeout or settings.mllp_idle_timeout
        self.refused = 0  # connections closed at once, over the limit
        # conversion and validation run inline in the commit thread: a process pool forked per
        # micro-batch would cost more than the batch itself
        self.workspace = Workspace(workspace.settings.model_copy(update={"ingest_workers": 1}))
        self.institution, self.host, self.port, self.tz = institution, host, port, tz
        self.max_batch, self.max_message_bytes, self.on_commit = max_batch, max_message_bytes, on_commit
        self.linger = linger  # seconds a micro-batch waits for the other connected senders
        self.stats = ListenerStats()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._committer: asyncio.Task[None] | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._closing = False
        self._answering = 0  # connections holding an answer not yet written
        self._sequence = 0

    @property
    def uri(self) -> str:
        return f"mllp://{self.host}:{self.port}"

    async def start(self) -> tuple[str, int]:
        """Bind (port 0 picks a free one) and start answering; returns the bound address."""
        try:
            self._server = await asyncio.start_server(
                self._serve_connection, self.host, self.port, limit=READ_SIZE, backlog=1024
            )
        except OSError as exc:  # the port is taken, the address is not this machine's
            raise SourceError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        self.host, self.port = self._server.sockets[0].getsockname()[:2]
        self._committer = asyncio.create_task(self._commit_loop())
        log.info("listening for HL7 v2 over MLLP on %s for %s", self.uri, self.institution)
        return self.host, self.port

    async def stop(self) -> None:
        """Stop accepting, answer everything already received, then close every connection."""
        if self._server is None or self._closing:
            return
        self._closing = True
        self._server.close()
        self._queue.put_nowait(_STOP)
        if self._committer is not None:
            await self._committer
        for _ in range(500):  # let every answered connection write its ACK before closing it
            if not self._answering:
                break
            await asyncio.sleep(0.01)
        for writer in list(self._connections):
            writer.close()
        for writer in list(self._connections):
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await self._server.wait_closed()

    # ---- connections -------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source = f"mllp://{peer[0]}:{peer[1]}" if peer else self.uri
        if len(self._connections) >= self.max_connections:
            self.refused += 1
            log.warning(
                "refused a connection from %s: %d connections open (mllp_max_connections)",
                source,
                len(self._connections),
            )
            writer.close()
            return
        self._connections.add(writer)
        frames = _FrameReader(reader, self.max_message_bytes, self.idle_timeout)
        try:
            while not self._closing:
                try:
                    frame = await frames.next_frame()
                except asyncio.IncompleteReadError as exc:
                    await self._keep_partial(exc.partial, source)
                    break
                except TimeoutError:
                    log.warning(
                        "closed %s: nothing received for %gs (mllp_idle_timeout)", source, self.idle_timeout
                    )
                    await self._keep_partial(frames.pending(), source)
                    break
                except _TooLarge:
                    log.warning(
                        "refused a frame from %s: larger than %d bytes (mllp_max_buffered_bytes); "
                        "the rest of it is dropped",
                        source,
                        self.max_message_bytes,
                    )
                    await self._answer(writer, self._too_large())
                    continue
                self._answering += 1
                try:
                    await self._answer(writer, await self._submit(frame, source))
                finally:
                    self._answering -= 1
        except TimeoutError:  # the ACK could not be written: the peer stopped reading
            log.warning(
                "closed %s: it has not read its ACK for %gs (mllp_idle_timeout)", source, self.idle_timeout
            )
        except ConnectionError:
            pass  # the sender hung up; whatever it sent and we committed stays committed
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _keep_partial(self, partial: bytes, source: str) -> None:
        """A frame the sender never ended (it went away or fell silent): quarantined, never lost."""
        partial = partial.lstrip(b" \t\r\n\x00").removeprefix(START_BLOCK)
        if partial.strip():
            await self._submit(partial, source, complete=False)

    async def _answer(self, writer: asyncio.StreamWriter, ack: bytes) -> None:
        writer.write(START_BLOCK + ack + FRAME_END)
        async with asyncio.timeout(self.idle_timeout):
            await writer.drain()

    def _too_large(self) -> bytes:
        self.stats.received += 1
        self.stats.rejected += 1
        reason = f"message larger than {self.max_message_bytes} bytes; not stored"
        return build_ack(None, "AR", reason=reason, error_code="207", institution=self.institution)

    async def _submit(self, frame: bytes, source: str, *, complete: bool = True) -> bytes:
        loop = asyncio.get_running_loop()
        if self._closing:  # after the last micro-batch was queued: not stored, say so
            self.stats.received += 1
            self.stats.rejected += 1
            reason = "receiver is shutting down; resend later"
            return build_ack(None, "AR", reason=reason, error_code="207", institution=self.institution)
        pending = _Pending(frame, source, loop.create_future(), complete)
        self._queue.put_nowait(pending)
        return await pending.answer

    # ---- committing ----------------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        stopping = False
        while not stopping:
            item = await self._queue.get()
            if item is _STOP:
                break
            batch: list[_Pending] = [item]  # type: ignore[list-item]
            stopping = await self._gather(batch)
            try:
                acks = await asyncio.to_thread(self._commit, batch)
            except Exception as exc:  # the lake or catalog failed: nothing of this batch is stored
                log.exception("HL7 micro-batch of %d message(s) could not be stored", len(batch))
                reason = f"not stored: {type(exc).__name__}: {exc}; resend later"
                acks = [
                    build_ack(None, "AR", reason=reason, error_code="207", institution=self.institution)
                    for _ in batch
                ]
                self.stats.received += len(batch)
                self.stats.rejected += len(batch)
            for pending, ack in zip(batch, acks, strict=True):
                if not pending.answer.done():
                    pending.answer.set_result(ack)

    async def _gather(self, batch: list[_Pending]) -> bool:
        """Add what is waiting to ``batch``; True if the stop marker was met.

        Senders wait for each ACK, so right after a commit they all send their next message
        within milliseconds. Waiting up to ``linger`` for one message per connected sender
        (never longer, never past ``max_batch``) makes the next commit carry them all,
        instead of committing the first arrival alone and the rest a commit later: a commit
        costs about the same for one message or hundreds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger
        while len(batch) < self.max_batch:
            if self._queue.empty():
                remaining = deadline - loop.time()
                if len(batch) >= len(self._connections) or remaining <= 0:
                    return False
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout=remaining)
                except TimeoutError:
                    return False
            else:
                item = self._queue.get_nowait()
            if item is _STOP:
                return True
            batch.append(item)  # type: ignore[arg-type]
        return False

    def _commit(self, batch: list[_Pending]) -> list[bytes]:
        """Convert, ingest as one delivery, and return each frame's ACK (runs in a worker thread)."""
        converted: list[tuple[int, list[MessageConversion]]] = []
        records: list[Record] = []
        digest = hashlib.sha256(f"hl7v2-mllp\x1f{self.tz}".encode())
        for pending in batch:
            self._sequence += 1
            line = self._sequence
            body = pending.frame
            if not pending.complete:
                chunks = [Chunk(1, body, error="truncated: the connection closed before the MLLP end block")]
            else:
                chunks = split_messages(body) or [Chunk(1, body, error="the MLLP frame holds no HL7 segment")]
            conversions = [convert_chunk(chunk, self.tz) for chunk in chunks]
            for conversion in conversions:
                records.extend(conversion.records(pending.source, line))
            converted.append((line, conversions))
            digest.update(hashlib.sha256(body).digest())
        delivery = Delivery(self.institution, SOURCE_KIND, self.uri, digest.hexdigest(), lambda: records)
        details = {"listener": self.uri, "institution": self.institution, "messages": len(batch)}
        [report] = ingest_deliveries(self.workspace, [delivery], details=details)
        self.stats.add(report)
        expected = sum(1 for r in records if r.error is not None)
        late = self._pipeline_rejections(report.batch_id) if report.quarantined > expected else {}
        acks = [self._ack(conversions, late.get(line, [])) for line, conversions in converted]
        if self.on_commit is not None:
            self.on_commit(report, [p.frame for p in batch])
        return acks

    def _ack(self, conversions: list[MessageConversion], late: list[str]) -> bytes:
        """One ACK per frame (a frame normally holds one message; a batch frame gets the worst code)."""
        worst = max(conversions, key=lambda c: ("AA", "AE", "AR").index(c.ack_code))
        code, reason, error_code = worst.ack_code, worst.reason, worst.error_code
        if late and code == "AA":
            code, reason, error_code = "AE", "; ".join(late), "102"
        self.stats.received += 1
        if code == "AA":
            self.stats.accepted += 1
        elif code == "AE":
            self.stats.errors += 1
        else:
            self.stats.rejected += 1
        header = next((c.header for c in conversions if c.header is not None), None)
        return build_ack(header, code, reason=reason, error_code=error_code, institution=self.institution)

    def _pipeline_rejections(self, batch_id: str) -> dict[int, list[str]]:
        """Resources the pipeline's validation quarantined, by line: rare (a converter defect)."""
        dataset = self.workspace.lake.dataset(self.workspace.lake.uri(Layer.RAW, QUARANTINE))
        if dataset is None:
            return {}
        rows = dataset.to_table(
            columns=["line", "stage", "reason"],
            filter=(pads.field("batch_id") == batch_id)
            & pads.field("stage").isin(["validation", "structure"]),
        ).to_pylist()
        found: dict[int, list[str]] = {}
        for row in rows:
            found.setdefault(row["line"], []).append(f"{row['stage']}: {row['reason']}")
        return found


async def serve(
    workspace: Workspace,
    institution: str,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    tz: str = DEFAULT_TIMEZONE,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str, int], None] | None = None,
    **options: object,
) -> ListenerStats:
    """Run a listener until ``stop`` is set or SIGTERM/SIGINT arrives; then drain and close."""
    listener = Hl7Listener(workspace, institution, host=host, port=port, tz=tz, **options)  # type: ignore[arg-type]
    bound_host, bound_port = await listener.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    if on_ready is not None:
        on_ready(bound_host, bound_port)
    try:
        await stop.wait()
    finally:
        await listener.stop()
        for sig in handled:
            loop.remove_signal_handler(sig)
    return listener.stats
