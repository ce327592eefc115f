"""``medlake stream mqtt`` lands device readings; ``medlake synth devices`` plays the monitors."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from medlake import secrets
from medlake.cli.ingesting import print_batch_reports
from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, errors, fail, print_json, workspace_or_exit

stream_app = typer.Typer(
    help="Long-running consumers that land streamed data in the raw layer.", no_args_is_help=True
)


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    """Add ``medlake stream`` (with ``mqtt``) to the main app; devices add no ``ingest`` command."""
    app.add_typer(stream_app, name="stream")


@stream_app.command("mqtt")
def stream_mqtt(
    institution: Annotated[
        str, typer.Option("--institution", "-i", help="the institution the devices belong to")
    ],
    broker: Annotated[
        str,
        typer.Option(
            help="broker URL: mqtt\\[s]://\\[user:${SECRET}@]host[:port]; ${NAME} comes from secrets"
        ),
    ] = "mqtt://127.0.0.1:1883",
    topic: Annotated[
        list[str],
        typer.Option("--topic", "-t", help="topic filter (repeatable); a '+' level names the device"),
    ] = ["devices/+/vitals"],  # noqa: B006 - typer needs a list default for a repeatable option
    batch_size: Annotated[
        int, typer.Option(help="readings per micro-batch (one Delta commit) at most")
    ] = 2000,
    inflight: Annotated[
        int, typer.Option(help="unacknowledged readings the broker may send ahead (MQTT 5 Receive Maximum)")
    ] = 10_000,
    max_latency: Annotated[
        float, typer.Option(help="seconds from a micro-batch's first reading to its commit")
    ] = 1.0,
    client_id: Annotated[
        str | None,
        typer.Option(
            help="MQTT client id, the name of the persistent session (default: from institution+topics)"
        ),
    ] = None,
    registry: Annotated[
        Path | None,
        typer.Option(
            help="FHIR Device NDJSON/Bundle to resolve patients (default: the lake's Device resources)"
        ),
    ] = None,
    session_expiry: Annotated[
        int, typer.Option(help="seconds the broker keeps unacknowledged readings while the stream is down")
    ] = 7 * 24 * 3600,
    max_messages: Annotated[int | None, typer.Option(help="stop after committing this many readings")] = None,
    idle_exit: Annotated[
        float | None, typer.Option(help="stop after this many seconds without a reading (drain and exit)")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="stop after this many seconds")] = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Subscribe (QoS 1, persistent session) and land device readings in micro-batches.

    Readings are acknowledged only once committed; SIGTERM or Ctrl-C commits the current
    micro-batch, acknowledges it and disconnects. Bad payloads and unknown devices go to
    the quarantine. Runs until stopped unless --max-messages, --idle-exit or --duration.
    """
    from medlake.sources.devices.stream import MqttStream, StreamOptions, stop_on_signals

    ws = workspace_or_exit(home)
    options = StreamOptions(
        topics=topic,
        batch_size=batch_size,
        inflight=inflight,
        max_latency=max_latency,
        client_id=client_id,
        session_expiry=session_expiry,
        registry_file=registry,
        max_messages=max_messages,
        idle_timeout=idle_exit,
        max_duration=duration,
    )
    stream = MqttStream(
        ws,
        secrets.resolve(broker, ws.home),
        institution,
        options,
        on_event=lambda text: errors.print(text, markup=False, highlight=False),
    )
    with stop_on_signals(stream.stop):
        totals = stream.run()
    if json_output:
        print_json(totals.as_dict())
        return
    if totals.reports:
        print_batch_reports(list(totals.reports), False)
    console.print(
        f"{totals.batches} micro-batches: {totals.received} readings received, {totals.stored} stored, "
        f"{totals.quarantined} quarantined, {totals.duplicates} duplicates",
        markup=False,
    )


def synth_devices(
    broker: Annotated[str, typer.Option(help="broker URL to publish to")] = "mqtt://127.0.0.1:1883",
    patients: Annotated[int, typer.Option(help="patients, one bedside monitor each")] = 10,
    rate: Annotated[float, typer.Option(help="readings per second, all monitors together")] = 10.0,
    duration: Annotated[float | None, typer.Option(help="seconds to publish (default: until Ctrl-C)")] = None,
    count: Annotated[int | None, typer.Option(help="readings to publish, then stop")] = None,
    deteriorate: Annotated[
        float, typer.Option(help="fraction of patients whose vital signs drift towards NEWS2 alarms")
    ] = 0.2,
    ramp: Annotated[
        float | None,
        typer.Option(help="seconds a deteriorating patient takes to get fully ill (default: duration)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed of baselines, deteriorating patients and noise")] = 1,
    topic_prefix: Annotated[str, typer.Option(help="topics are <prefix>/<device>/vitals")] = "devices",
    payload_format: Annotated[
        str, typer.Option("--format", help="compact (small JSON readings) or fhir (Observations)")
    ] = "compact",
    registry_out: Annotated[
        Path,
        typer.Option(
            help="where to write the FHIR Device registry (NDJSON) the stream resolves patients with"
        ),
    ] = Path("devices.ndjson"),
    patient_ids: Annotated[
        Path | None, typer.Option(help="a file of existing patient ids, one a line (instead of --patients)")
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Publish vital-sign streams (HR, RR, SpO2, temperature, systolic BP, ACVPU), some deteriorating."""
    from medlake.sources.devices.stream import stop_on_signals
    from medlake.synth.devices import bedsides, publish_vitals, write_registry

    if patient_ids is not None and not patient_ids.is_file():
        raise fail(f"no such file: {patient_ids}")
    ids = (
        [line.strip() for line in patient_ids.read_text().splitlines() if line.strip()]
        if patient_ids
        else None
    )
    beds = bedsides(ids if ids is not None else patients, deteriorate, seed)
    write_registry(beds, registry_out)
    stop = threading.Event()
    if not json_output:
        errors.print(
            f"{len(beds)} monitors ({sum(b.deteriorating for b in beds)} deteriorating); "
            f"registry: {registry_out}",
            markup=False,
        )
    with stop_on_signals(stop.set):
        summary = publish_vitals(
            broker,
            beds,
            rate,
            duration=duration,
            count=count,
            topic_prefix=topic_prefix,
            payload_format=payload_format,
            seed=seed,
            ramp=ramp,
            stop=stop,
        )
    if json_output:
        print_json({**summary.as_dict(), "registry": str(registry_out), "monitors": len(beds)})
        return
    console.print(
        f"published {summary.published} readings from {summary.topics} monitors in {summary.seconds:.1f} s "
        f"({summary.rate:.0f}/s), run {summary.run_id}",
        markup=False,
    )
