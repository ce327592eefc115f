"""``medlake serving-index`` and ``medlake serve`` as a user runs them: real processes, real ports, TLS."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medlake.workspace import init_workspace
from tests.serving.conftest import _free_port


def medlake(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medlake", *args], capture_output=True, text=True, timeout=600
    )


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, key_file


def wait_for(url: str, server: subprocess.Popen, **options: object) -> httpx.Response:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"medlake serve exited: {server.stderr.read() if server.stderr else ''}")
        try:
            return httpx.get(url, timeout=5, **options)  # type: ignore[arg-type]
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer")


def test_serving_index_on_an_empty_workspace(tmp_path: Path) -> None:
    home = init_workspace(tmp_path / "ws").home
    result = medlake("serving-index", "--home", str(home), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["indexed"] == {} and report["failures"] == {}
    assert (home / "serving.db").exists()


def test_serve_over_tls(tmp_path: Path) -> None:
    home = init_workspace(tmp_path / "ws").home
    cert, key = self_signed(tmp_path)
    port = _free_port()
    command = [sys.executable, "-m", "medlake", "serve", "--home", str(home), "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--tls-cert", str(cert), "--tls-key", str(key)], stderr=subprocess.PIPE, text=True
    )
    try:
        answer = wait_for(f"https://localhost:{port}/fhir/metadata", server, verify=str(cert))
        assert answer.status_code == 200 and answer.json()["resourceType"] == "CapabilityStatement"
        refused = httpx.get(f"https://localhost:{port}/fhir/Patient", verify=str(cert))
        assert refused.status_code == 401 and refused.json()["resourceType"] == "OperationOutcome"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_tls_needs_both_files(tmp_path: Path) -> None:
    home = init_workspace(tmp_path / "ws").home
    cert, _ = self_signed(tmp_path)
    result = medlake("serve", "--home", str(home), "--tls-cert", str(cert))
    assert result.returncode == 1 and "TLS needs both --tls-cert and --tls-key" in result.stderr
