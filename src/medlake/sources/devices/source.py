"""Device streams as a ``medlake sync`` source: a bounded drain of the persistent MQTT session.

``medlake stream mqtt`` is the way to run a device stream: it stays connected and lands
readings within a second. Regions that cannot keep a process running can register the
broker as a source instead: the broker keeps the source's persistent session while no
consumer is connected, so each sync connects with the same client id, takes everything
queued since the last sync, commits and acknowledges it, and leaves once the queue has
been quiet for ``idle`` seconds (or after ``max_duration``).

Two things to know: messages are queued only once the session exists, so the first sync
(which creates it) starts the record; and the broker bounds the queue of an absent
client (Mosquitto's ``max_queued_messages``, 1000 by default, drops the surplus), so
either sync often enough or raise that limit on the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from medlake.errors import InputError
from medlake.ingest import BatchReport
from medlake.sources.base import SourceConfig, SourceKind
from medlake.sources.devices.broker import parse_broker
from medlake.sources.devices.stream import MqttStream, StreamOptions
from medlake.workspace import Workspace


def drain_options(source: SourceConfig) -> StreamOptions:
    """Options of a registered MQTT source (``options`` of ``medlake sources add``)."""
    opts = source.options
    topics = opts.get("topics") or ([opts["topic"]] if opts.get("topic") else [])
    if isinstance(topics, str):
        topics = [topics]
    if not topics:
        raise InputError(f"source {source.id}: options need 'topic' (e.g. devices/+/vitals) or 'topics'")
    registry = opts.get("registry")
    return StreamOptions(
        topics=list(topics),
        batch_size=_number(source, "batch_size", 2000, int),
        inflight=_number(source, "inflight", 10_000, int),
        max_latency=_number(source, "max_latency", 1.0, float),
        client_id=str(opts.get("client_id") or f"medlake-source-{source.id}"),
        session_expiry=_number(source, "session_expiry", 7 * 24 * 3600, int),
        registry_file=Path(registry) if registry else None,
        idle_timeout=_number(source, "idle", 2.0, float),
        max_duration=_number(source, "max_duration", 300.0, float),
    )


def _number(source: SourceConfig, name: str, default: float, kind: type[int] | type[float]) -> Any:
    value = source.options.get(name, default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"source {source.id}: option {name} must be a number, not {value!r}") from None


class MqttDevices(SourceKind):
    """Device readings queued for the source's persistent MQTT session since the last sync."""

    kind = "mqtt"
    description = "device readings from an MQTT broker (drains the persistent session; QoS 1)"
    location_is_path = False
    option_names = frozenset(
        {
            "topic",
            "topics",
            "batch_size",
            "inflight",
            "max_latency",
            "client_id",
            "session_expiry",
            "registry",
            "idle",
            "max_duration",
        }
    )

    def check(self, source: SourceConfig) -> None:
        """A broker URL and the options a drain needs (a topic; numbers where numbers go)."""
        parse_broker(source.location)
        drain_options(source)

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        def advance(report: BatchReport, messages: list) -> None:
            if progress is not None:
                progress(len(messages))

        stream = MqttStream(
            workspace, source.location, source.institution, drain_options(source), on_commit=advance
        )
        return list(stream.run().reports)
