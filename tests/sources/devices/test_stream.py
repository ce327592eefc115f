"""The device stream against the real Mosquitto: readings land, reconcile, and survive restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from medlake.cli import MedlakeGroup
from medlake.fhir.validation import validate
from medlake.lake.tables import QUARANTINE, Layer
from medlake.sources.base import SourceConfig
from medlake.sources.devices.source import MqttDevices
from medlake.sources.devices.stream import MqttStream, StreamOptions
from medlake.synth.devices import Bedside, publish_vitals
from medlake.workspace import Workspace
from tests.sources.devices.conftest import INSTITUTION

pytestmark = pytest.mark.mqtt
PROJECT = Path(__file__).resolve().parents[3]


def start(
    ws: Workspace, broker: str, options: StreamOptions, **kwargs
) -> tuple[MqttStream, threading.Thread]:
    stream = MqttStream(ws, broker, INSTITUTION, options, **kwargs)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            stream.run()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.failure = failure  # type: ignore[attr-defined]
    thread.start()
    assert stream.wait_connected(10), "the stream did not connect"
    return stream, thread


def publish(broker: str, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


def reading(bed: Bedside, msg_id: str, value: float = 80) -> bytes:
    return orjson.dumps(
        {
            "msg_id": msg_id,
            "device": bed.serial,
            "loinc": "8867-4",
            "value": value,
            "unit": "/min",
            "time": "2024-05-01T10:00:00Z",
        }
    )


def observations(ws: Workspace) -> list[dict]:
    rows = ws.table("raw.resources", ["resource_type", "resource"]).to_pylist()
    return [orjson.loads(r["resource"]) for r in rows if r["resource_type"] == "Observation"]


def quarantine(ws: Workspace) -> list[dict]:
    data = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
    return [] if data is None else data.to_pylist()


def options(topic_prefix: str, client_ids: list[str], **overrides) -> StreamOptions:
    client_ids.append(f"{topic_prefix}-consumer")
    # idle_timeout ends a consumer once the broker has been quiet that long; on a loaded 2-core
    # machine a publisher can pause for over a second, so it is generous
    settings = {"batch_size": 50, "max_latency": 0.3, "idle_timeout": 4.0, "client_id": client_ids[-1]}
    return StreamOptions(topics=[f"{topic_prefix}/+/vitals"], **(settings | overrides))


def test_readings_land_validated_and_reconciled(
    workspace, broker, registered, beds, topic_prefix, client_ids
):
    stream, thread = start(workspace, broker, options(topic_prefix, client_ids))
    compact = publish_vitals(broker, beds, rate=400, count=140, topic_prefix=topic_prefix, seed=1)
    fhir = publish_vitals(broker, beds, rate=400, count=28, topic_prefix=topic_prefix, payload_format="fhir")
    thread.join(30)
    assert not thread.is_alive() and not thread.failure  # type: ignore[attr-defined]
    sent = compact.published + fhir.published
    totals = stream.totals
    assert totals.received == sent == totals.stored
    assert totals.quarantined == totals.duplicates == 0
    for report in totals.reports:
        assert report.received == report.stored + report.quarantined + report.duplicates
    stored = observations(workspace)
    assert len(stored) == sent == len({o["id"] for o in stored})
    patients = {f"Patient/{b.patient_id}" for b in beds}
    for observation in stored:
        validate(observation)
        assert observation["subject"]["reference"] in patients
    assert {o["code"]["coding"][0]["code"] for o in stored} >= {"8867-4", "9279-1", "59408-5", "67775-7"}


def test_the_same_message_twice_is_stored_once(workspace, broker, registered, beds, topic_prefix, client_ids):
    stream, thread = start(workspace, broker, options(topic_prefix, client_ids))
    topic = f"{topic_prefix}/{beds[0].device_id}/vitals"
    publish(broker, [(topic, reading(beds[0], "m-1")), (topic, reading(beds[0], "m-2"))])
    time.sleep(0.6)  # the first micro-batch is committed; the redelivery comes in a later one
    publish(broker, [(topic, reading(beds[0], "m-1"))])
    thread.join(30)
    assert stream.totals.received == 3
    assert stream.totals.stored == 2 and stream.totals.duplicates == 1
    assert len(observations(workspace)) == 2


def test_restart_redelivers_unacknowledged_readings_and_stores_nothing_twice(
    workspace, broker, registered, beds, topic_prefix, client_ids
):
    """A consumer that dies between commit and ack: the broker redelivers, the lake adds nothing."""

    def crash_after_commit(report, messages) -> None:
        raise RuntimeError("killed between commit and acknowledgement")

    settings = options(topic_prefix, client_ids, batch_size=500, max_latency=1.0)
    _, thread = start(workspace, broker, settings, on_commit=crash_after_commit)
    published = publish_vitals(broker, beds, rate=500, count=60, topic_prefix=topic_prefix)
    thread.join(30)
    [failure] = thread.failure  # type: ignore[attr-defined]
    assert "between commit and acknowledgement" in str(failure)
    committed = len(observations(workspace))
    assert 0 < committed <= published.published

    again, thread = start(workspace, broker, settings)
    thread.join(30)
    assert again.totals.received >= committed, "every unacknowledged reading is redelivered"
    assert again.totals.duplicates >= committed
    stored = observations(workspace)
    assert len(stored) == published.published == len({o["id"] for o in stored})


def test_bad_payloads_and_unknown_devices_are_quarantined_and_the_stream_goes_on(
    workspace, broker, registered, beds, topic_prefix, client_ids
):
    stream, thread = start(workspace, broker, options(topic_prefix, client_ids))
    known = f"{topic_prefix}/{beds[1].device_id}/vitals"
    publish(
        broker,
        [
            (known, b"HR=80;SPO2=97"),
            (
                f"{topic_prefix}/ghost-7/vitals",
                orjson.dumps(
                    {
                        "msg_id": 1,
                        "loinc": "8867-4",
                        "value": 70,
                        "unit": "/min",
                        "time": "2024-05-01T10:00:00Z",
                    }
                ),
            ),
            (known, reading(beds[1], "fine")),
        ],
    )
    thread.join(30)
    assert stream.totals.received == 3 and stream.totals.stored == 1 and stream.totals.quarantined == 2
    rejected = {r["raw"]: r for r in quarantine(workspace)}
    assert rejected["HR=80;SPO2=97"]["reason"].startswith("payload is not JSON")
    [ghost] = [r for raw, r in rejected.items() if raw.startswith("{")]
    assert "unknown device 'ghost-7'" in ghost["reason"]
    assert ghost["stage"] == "convert" and ghost["source_file"].endswith("/ghost-7/vitals")
    assert len(observations(workspace)) == 1


CONSUMER = """
import sys
from medlake.workspace import open_workspace
from medlake.sources.devices.stream import MqttStream, StreamOptions, stop_on_signals

home, topic, client_id = sys.argv[1:4]
options = StreamOptions(topics=[topic], batch_size=40, max_latency=0.5, client_id=client_id,
                        idle_timeout=float(sys.argv[4]) if len(sys.argv) > 4 else None)
stream = MqttStream(open_workspace(home), "mqtt://127.0.0.1:1883", "icu", options,
                    on_event=lambda text: print(text, file=sys.stderr, flush=True))
with stop_on_signals(stream.stop):
    totals = stream.run()
print(totals.received, totals.stored, totals.duplicates, flush=True)
"""


def consumer(ws: Workspace, topic: str, client_id: str, *idle: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", CONSUMER, str(ws.home), topic, client_id, *idle],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_sigterm_commits_the_current_batch_and_loses_nothing(
    workspace, broker, registered, beds, topic_prefix, client_ids
):
    topic, client_id = f"{topic_prefix}/+/vitals", f"{topic_prefix}-consumer"
    client_ids.append(client_id)
    first = consumer(workspace, topic, client_id)
    assert first.stderr is not None
    assert "subscribed" in first.stderr.readline()
    stop = threading.Event()
    publisher = threading.Thread(
        target=lambda: publish_vitals(broker, beds, rate=150, count=300, topic_prefix=topic_prefix, stop=stop)
    )
    publisher.start()
    for line in first.stderr:  # SIGTERM lands while readings keep coming
        if "batch" in line:
            break
    time.sleep(0.2)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    received_first = int(out.split()[0])
    assert 0 < received_first < 300, "the stop came in the middle of the stream"
    assert len(observations(workspace)) == received_first, "the last micro-batch was committed on SIGTERM"
    publisher.join(30)

    second = consumer(workspace, topic, client_id, "4")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    stored = observations(workspace)
    assert len(stored) == 300 == len({o["id"] for o in stored})


def test_sync_source_drains_the_persistent_session(
    workspace, broker, registered, beds, topic_prefix, client_ids
):
    source = SourceConfig(
        id=f"{topic_prefix}-src",
        institution=INSTITUTION,
        kind="mqtt",
        location=broker,
        options={"topic": f"{topic_prefix}/+/vitals", "idle": 2.0, "max_latency": 0.2},
    )
    client_ids.append(f"medlake-source-{source.id}")
    assert MqttDevices().sync(workspace, source) == [], "the first sync creates the session"
    published = publish_vitals(broker, beds, rate=500, count=45, topic_prefix=topic_prefix)
    reports = MqttDevices().sync(workspace, source)  # the readings waited in the broker meanwhile
    assert sum(r.stored for r in reports) == published.published == len(observations(workspace))


def test_cli_stream_mqtt_and_synth_devices(
    workspace, broker, registered, beds, topic_prefix, client_ids, tmp_path
):
    import json

    import typer
    from typer.testing import CliRunner

    from medlake.cli import devices

    app, ingest_app = typer.Typer(cls=MedlakeGroup), typer.Typer()
    app.add_typer(ingest_app, name="ingest")
    devices.register(app, ingest_app)
    runner = CliRunner()
    client_ids.append(f"{topic_prefix}-cli")

    def publish_later() -> None:
        time.sleep(1.0)  # once the stream below holds its session
        publish_vitals(broker, beds, rate=300, count=36, topic_prefix=topic_prefix)

    publisher = threading.Thread(target=publish_later)
    publisher.start()
    result = runner.invoke(
        app,
        [
            "stream",
            "mqtt",
            "-i",
            INSTITUTION,
            "--broker",
            broker,
            "--topic",
            f"{topic_prefix}/+/vitals",
            "--client-id",
            f"{topic_prefix}-cli",
            "--idle-exit",
            "2",
            "--max-latency",
            "0.3",
            "--home",
            str(workspace.home),
            "--json",
        ],
    )
    publisher.join(30)
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)
    assert totals["received"] == totals["stored"] == 36 == len(observations(workspace))
    result = runner.invoke(
        app, ["stream", "mqtt", "-i", INSTITUTION, "--broker", "http://x", "--home", str(workspace.home)]
    )
    assert result.exit_code == 1 and "scheme must be mqtt:// or mqtts://" in result.output

    synth = typer.Typer()
    synth.command("devices")(devices.synth_devices)
    registry = tmp_path / "registry" / "devices.ndjson"
    result = runner.invoke(
        synth,
        [
            "--patients",
            "3",
            "--rate",
            "500",
            "--count",
            "20",
            "--topic-prefix",
            f"{topic_prefix}-synth",
            "--registry-out",
            str(registry),
            "--format",
            "fhir",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["published"] == 20
    assert [json.loads(line)["resourceType"] for line in registry.read_text().splitlines()] == ["Device"] * 3


def test_a_backlog_beyond_the_brokers_client_queue_is_not_lost(
    workspace, broker, registered, beds, topic_prefix, client_ids
):
    """Mosquitto drops what exceeds its per-client queue (1000 by default) above the in-flight window;
    the stream's large Receive Maximum keeps a burst in flight instead, however small the batches."""
    stream, thread = start(
        workspace, broker, options(topic_prefix, client_ids, batch_size=200, inflight=5000)
    )
    published = publish_vitals(broker, beds, rate=5000, count=2500, topic_prefix=topic_prefix)
    thread.join(60)
    assert stream.totals.received == published.published == 2500 == stream.totals.stored
    assert all(r.received <= 200 for r in stream.totals.reports)


def test_a_device_registered_while_the_stream_runs_is_picked_up(workspace, broker, beds, topic_prefix):
    from medlake.ingest import ingest_path
    from medlake.sources.devices.readings import Message
    from medlake.synth.devices import write_registry

    stream = MqttStream(
        workspace, broker, INSTITUTION, StreamOptions(topics=[f"{topic_prefix}/+/vitals"], registry_refresh=0)
    )
    topic = f"{topic_prefix}/{beds[0].device_id}/vitals"
    before = stream.ingest([Message(topic, reading(beds[0], "early"))])
    assert before.quarantined == 1, "not registered yet"
    ingest_path(workspace, write_registry(beds[:1], workspace.home / "devices.ndjson"), INSTITUTION)
    after = stream.ingest([Message(topic, reading(beds[0], "later"))])
    assert after.stored == 1
