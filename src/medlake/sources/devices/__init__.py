"""Bedside devices: vital signs over MQTT into the raw layer, at least once and never twice.

* :mod:`.stream` — the consumer behind ``medlake stream mqtt`` (:class:`MqttStream`).
* :mod:`.readings` — one message (FHIR Observation or compact JSON) → one Observation.
* :mod:`.registry` — which device is at which patient (FHIR ``Device.patient``).
* :mod:`.source` — the ``mqtt`` kind for ``medlake sync`` (a bounded drain of the session).
* :mod:`.synth` — synthetic monitors with deteriorating patients, for demos and benchmarks.
"""

from medlake.sources.devices.readings import Message, ReadingError, observation_id, to_observation
from medlake.sources.devices.registry import DeviceRegistry, RegisteredDevice
from medlake.sources.devices.stream import MqttStream, StreamOptions, StreamTotals, stop_on_signals

__all__ = [
    "DeviceRegistry",
    "Message",
    "MqttStream",
    "ReadingError",
    "RegisteredDevice",
    "StreamOptions",
    "StreamTotals",
    "observation_id",
    "stop_on_signals",
    "to_observation",
]
