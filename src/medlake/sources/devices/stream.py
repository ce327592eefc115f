"""The device stream: MQTT → micro-batches → the raw layer, at least once, nothing twice.

The guarantees and how they are kept:

* **Nothing acknowledged is lost.** Messages are subscribed with QoS 1 and acknowledged
  by hand (paho ``manual_ack``): the PUBACK for a message is sent only after the
  micro-batch holding it is committed to the lake. The session is persistent (fixed
  client id, ``clean_start=False``, a session expiry), so whatever was not acknowledged
  when the consumer stopped or crashed is redelivered by the broker when it comes back.
* **Nothing is stored twice.** A reading's Observation id is derived from (device,
  message id) and its content from the payload alone, so a redelivered message becomes
  a byte-identical resource that the pipeline counts as a duplicate; a micro-batch that
  is redelivered whole has the same fingerprint and is recognised as already ingested.
* **A clean stop loses nothing.** ``stop()`` (SIGTERM, SIGINT) ends the wait, commits the
  current micro-batch, acknowledges it, and only then disconnects.
* **Acks never reach the wrong message.** Packet ids are per connection: after a
  reconnect the broker redelivers unacknowledged messages under new ids, so messages
  received on an earlier connection are never acknowledged (they come again and are
  de-duplicated) rather than acknowledging whatever now carries their old id.

Bad payloads and readings from unknown devices go to the quarantine with the reason and
the payload; the stream goes on.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

from medlake.errors import InputError, Unreachable
from medlake.fhir.reading import Record
from medlake.ingest import BatchReport, Delivery, check_institution, ingest_deliveries
from medlake.sources.devices.broker import (
    MAX_RECEIVE,
    connect_properties,
    default_client_id,
    new_client,
    parse_broker,
    reason_text,
)
from medlake.sources.devices.readings import Message, reading_record
from medlake.sources.devices.registry import DeviceRegistry
from medlake.workspace import Workspace

log = logging.getLogger(__name__)
SOURCE_KIND = "mqtt"


@dataclass
class StreamOptions:
    """How to consume; the defaults suit a ward of monitors reporting every few seconds."""

    topics: list[str]
    batch_size: int = 2000
    max_latency: float = 1.0  # seconds from a batch's first message to its commit
    #: unacknowledged readings the broker may hand us (MQTT 5 Receive Maximum, ≥ batch size): the
    #: readings waiting while a batch commits sit here, not in the broker's bounded per-client queue
    inflight: int = 10_000
    client_id: str | None = None
    session_expiry: int = 7 * 24 * 3600  # how long the broker keeps unacked messages while we are away
    registry_file: Path | None = None
    registry_refresh: float = 30.0  # re-read the lake's Device resources at most this often
    max_messages: int | None = None  # stop after committing this many (bounded runs, tests)
    idle_timeout: float | None = None  # stop after this long without a message (a bounded drain)
    max_duration: float | None = None
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.topics:
            raise InputError("at least one topic filter is needed, e.g. 'devices/+/vitals'")
        if self.batch_size < 1:
            raise InputError(f"batch size must be at least 1, not {self.batch_size}")
        if not self.batch_size <= self.inflight <= MAX_RECEIVE:
            raise InputError(
                f"inflight must be between the batch size and {MAX_RECEIVE}, not {self.inflight}"
            )
        if self.max_latency <= 0:
            raise InputError(f"max latency must be positive, not {self.max_latency}")


@dataclass
class StreamTotals:
    batches: int = 0
    received: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    #: the latest reports (a long-running stream keeps only so many)
    reports: deque[BatchReport] = field(default_factory=lambda: deque(maxlen=1000))

    def add(self, report: BatchReport) -> None:
        self.batches += 1
        self.received += report.received
        self.stored += report.stored
        self.quarantined += report.quarantined
        self.duplicates += report.duplicates
        self.reports.append(report)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["reports"] = [r.as_dict() for r in self.reports]
        return data


@dataclass(frozen=True, slots=True)
class _Received:
    generation: int  # which connection delivered it: acks are only valid on that connection
    mid: int
    qos: int
    message: Message
    at: float  # monotonic time of receipt


CommitCallback = Callable[[BatchReport, list[Message]], None]


class MqttStream:
    """A consumer of device readings for one institution. ``run()`` blocks; ``stop()`` ends it cleanly."""

    def __init__(
        self,
        workspace: Workspace,
        broker_url: str,
        institution: str,
        options: StreamOptions,
        *,
        on_commit: CommitCallback | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        check_institution(institution)
        self.workspace = _single_process(workspace)
        self.broker = parse_broker(broker_url)
        self.institution = institution
        self.options = options
        self.client_id = options.client_id or default_client_id(institution, options.topics)
        self.on_commit = on_commit
        self.on_event = on_event or (lambda text: log.info("%s", text))
        self.totals = StreamTotals()
        self._queue: queue.SimpleQueue[_Received] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._generation = 0
        self._connect_error: str | None = None
        self._registry: DeviceRegistry | None = None
        self._registry_loaded = 0.0
        self._client = new_client(self.broker, self.client_id, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    @property
    def source_uri(self) -> str:
        return f"{self.broker.address}/{','.join(self.options.topics)}"

    # --- paho callbacks (network thread) -------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            self._connect_error = (
                f"broker {self.broker.address} refused the connection: {reason_text(reason_code)}"
            )
            self._connected.set()
            return
        client.subscribe([(topic, 1) for topic in self.options.topics])
        resumed = "resumed its session" if flags.session_present else "started a new session"
        self.on_event(
            f"connected to {self.broker.address} as {self.client_id} ({resumed}); "
            f"subscribed to {', '.join(self.options.topics)} with QoS 1"
        )
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self._generation += 1
        if not self._stop.is_set():
            self.on_event(
                f"disconnected from {self.broker.address} ({reason_text(reason_code)}); reconnecting"
            )

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:  # type: ignore[no-untyped-def]
        self._queue.put(
            _Received(
                self._generation, msg.mid, msg.qos, Message(msg.topic, bytes(msg.payload)), time.monotonic()
            )
        )

    # --- the consumer --------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the stream to commit what it holds, acknowledge it and disconnect (signal-safe)."""
        self._stop.set()

    def wait_connected(self, timeout: float) -> bool:
        """True once subscribed (for callers that must not publish before the session exists)."""
        return self._connected.wait(timeout) and self._connect_error is None

    def run(self) -> StreamTotals:
        self.registry()  # fail early on a bad registry file
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=30,
            clean_start=False,
            properties=connect_properties(self.options.inflight, self.options.session_expiry),
        )
        self._client.loop_start()
        try:
            if not self._connected.wait(self.options.connect_timeout):
                raise Unreachable(
                    f"could not connect to MQTT broker {self.broker.address} "
                    f"within {self.options.connect_timeout:g} s"
                )
            if self._connect_error:
                raise Unreachable(self._connect_error)
            self._consume()
        finally:
            self._stop.set()  # from here on a disconnect is ours, not a fault to report
            self._client.disconnect()
            self._client.loop_stop()
        return self.totals

    def _consume(self) -> None:
        options = self.options
        batch: list[_Received] = []
        started = last_message = time.monotonic()
        while True:
            now = time.monotonic()
            if self._stop.is_set():
                self._drain_into(batch)
                self._flush(batch)
                return
            if batch and (len(batch) >= self._batch_limit() or now - batch[0].at >= options.max_latency):
                # what arrived while the last batch was committing joins this one: under load
                # batches grow towards the limit instead of trickling out one stale reading at a time
                self._drain_into(batch)
                self._flush(batch)
                batch = []
                if self._done():
                    return
                continue
            if not batch and options.idle_timeout is not None and now - last_message >= options.idle_timeout:
                return
            if options.max_duration is not None and now - started >= options.max_duration:
                self._flush(batch)
                return
            wait = options.max_latency - (now - batch[0].at) if batch else 0.2
            try:
                batch.append(self._queue.get(timeout=max(0.0, min(wait, 0.2))))
                last_message = time.monotonic()
            except queue.Empty:
                pass

    def _batch_limit(self) -> int:
        if self.options.max_messages is None:
            return self.options.batch_size
        return max(1, min(self.options.batch_size, self.options.max_messages - self.totals.received))

    def _done(self) -> bool:
        return self.options.max_messages is not None and self.totals.received >= self.options.max_messages

    def _drain_into(self, batch: list[_Received]) -> None:
        """Add what has already arrived, up to the batch limit (on stop: committed, not redelivered)."""
        while len(batch) < self._batch_limit():
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _flush(self, batch: list[_Received]) -> None:
        if not batch:
            return
        messages = [item.message for item in batch]
        report = self.ingest(messages)
        self.totals.add(report)
        if self.on_commit is not None:
            self.on_commit(report, messages)
        with self._lock:  # no reconnect may slip between the generation check and the ack
            for item in batch:
                if item.generation == self._generation and item.qos > 0:
                    self._client.ack(item.mid, item.qos)
        self.on_event(
            f"batch {report.batch_id[:12]}: {report.received} received, {report.stored} stored, "
            f"{report.quarantined} quarantined, {report.duplicates} duplicates"
        )

    # --- conversion and ingestion ----------------------------------------------------------------
    def registry(self, *, refresh: bool = False) -> DeviceRegistry:
        if self._registry is None or refresh:
            if self.options.registry_file is not None:
                self._registry = DeviceRegistry.from_file(self.options.registry_file)
            else:
                self._registry = DeviceRegistry.from_lake(self.workspace, self.institution)
            self._registry_loaded = time.monotonic()
        return self._registry

    def records(self, messages: list[Message]) -> list[Record]:
        """The micro-batch as records, re-reading the registry once if it names an unknown device."""
        records = self._convert(messages, self.registry())
        stale = time.monotonic() - self._registry_loaded >= self.options.registry_refresh
        if stale and any(r.error and r.error.startswith("unknown device") for r in records):
            records = self._convert(messages, self.registry(refresh=True))
        return records

    def _convert(self, messages: list[Message], registry: DeviceRegistry) -> list[Record]:
        return [
            reading_record(
                message,
                line,
                self.broker.address,
                registry,
                _matching_filter(message.topic, self.options.topics),
            )
            for line, message in enumerate(messages, start=1)
        ]

    def ingest(self, messages: list[Message]) -> BatchReport:
        """Commit one micro-batch; converted once, so a resumed read gives the same records."""
        records = self.records(messages)
        digest = hashlib.sha256()
        for message in messages:
            digest.update(hashlib.sha256(message.topic.encode() + b"\0" + message.payload).digest())
        delivery = Delivery(
            institution=self.institution,
            source_kind=SOURCE_KIND,
            source_uri=self.source_uri,
            fingerprint=digest.hexdigest(),
            read=lambda: records,
        )
        details = {"source": self.source_uri, "institution": self.institution, "client_id": self.client_id}
        [report] = ingest_deliveries(self.workspace, [delivery], details=details)
        return report


def _matching_filter(topic: str, filters: list[str]) -> str | None:
    return next((f for f in filters if mqtt.topic_matches_sub(f, topic)), None)


def _single_process(workspace: Workspace) -> Workspace:
    """The workspace, examining in process: a worker pool forked per micro-batch costs more than it saves."""
    if workspace.settings.ingest_workers <= 1:
        return workspace
    return Workspace(workspace.settings.model_copy(update={"ingest_workers": 1}))


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call ``stop`` (e.g. :meth:`MqttStream.stop`: commit, ack, disconnect)
    instead of killing the process mid-batch. Main thread only, as Python's signals are."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: stop())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
