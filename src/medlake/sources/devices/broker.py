"""Connecting to an MQTT broker with paho-mqtt 2.x, the way an at-least-once consumer must.

Why paho-mqtt rather than aiomqtt: the ingest pipeline is synchronous (Delta commits,
catalog transactions), so an asyncio client would only add a loop to bridge; paho runs its
network loop in a thread of its own and, since 2.0, exposes manual acknowledgements
(``manual_ack=True`` + ``Client.ack``), which is exactly what "PUBACK only after the commit"
needs. aiomqtt is itself a wrapper around paho.

Why MQTT 5: with manual acks every message of a micro-batch stays unacknowledged until the
batch is committed. Under MQTT 3.1.1 the broker caps unacknowledged deliveries at its own
``max_inflight_messages`` (20 in Mosquitto), which would cap micro-batches at 20 readings;
MQTT 5 lets the client announce its ``Receive Maximum``. MQTT 5 also gives the session an
explicit expiry (``Session Expiry Interval``) instead of 3.1.1's "forever or nothing".
"""

from __future__ import annotations

import hashlib
import ssl
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from medlake.errors import InputError, Unreachable
from medlake.secrets import redact

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
#: The largest Receive Maximum MQTT 5 allows.
MAX_RECEIVE = 65_535


@dataclass(frozen=True)
class Broker:
    """Where to connect; ``url`` keeps credentials, so print :attr:`safe_url` instead."""

    url: str
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @property
    def safe_url(self) -> str:
        return redact(self.url)

    @property
    def address(self) -> str:
        """``mqtt://host:port`` without credentials: what records and the catalog name as the source."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker(url: str) -> Broker:
    """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://…`` (TLS with the system's CAs)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise InputError(f"broker URL {redact(url)!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise InputError(f"broker URL {redact(url)!r} names no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise InputError(f"broker URL {redact(url)!r} has an invalid port") from None
    return Broker(
        url=url,
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def default_client_id(institution: str, topics: list[str]) -> str:
    """A stable client id: the broker keeps the persistent session (and unacked messages) under it."""
    digest = hashlib.sha256("\0".join(sorted(topics)).encode()).hexdigest()[:10]
    return f"medlake-{institution}-{digest}"


def new_client(broker: Broker, client_id: str, *, manual_ack: bool) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack
    )
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    return client


def connect_properties(receive_maximum: int, session_expiry: int) -> Properties:
    properties = Properties(PacketTypes.CONNECT)
    properties.ReceiveMaximum = max(1, min(receive_maximum, MAX_RECEIVE))
    properties.SessionExpiryInterval = session_expiry
    return properties


def discard_session(broker_url: str, client_id: str, timeout: float = 10.0) -> None:
    """Make the broker forget a consumer's persistent session and the messages queued for it.

    For retiring a stream (or cleaning up after tests): connecting with ``clean_start`` and
    a zero session expiry ends the session as soon as this connection closes.
    """
    broker = parse_broker(broker_url)
    client = new_client(broker, client_id, manual_ack=False)
    client.connect(broker.host, broker.port, clean_start=True, properties=connect_properties(1, 0))
    client.loop_start()
    try:
        deadline = time.monotonic() + timeout
        while not client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not client.is_connected():
            raise Unreachable(f"could not connect to MQTT broker {broker.address} within {timeout:g} s")
    finally:
        client.disconnect()
        client.loop_stop()


def reason_text(reason_code: object) -> str:
    """paho's reason codes print as names ('Not authorized'); keep them short and secret-free."""
    return str(reason_code)
