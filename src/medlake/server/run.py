"""Running the server: uvicorn over :func:`medlake.server.create_app`, with TLS when given a key pair."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from medlake.errors import InputError, MissingInput
from medlake.server.app import create_app
from medlake.workspace import Workspace


def serve(
    ws: Workspace,
    host: str = "127.0.0.1",
    port: int = 8000,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    workers_log_level: str = "info",
) -> None:
    """Serve until interrupted. Plain HTTP is for loopback; give a certificate for anything else."""
    if (tls_cert is None) != (tls_key is None):
        raise InputError("TLS needs both --tls-cert and --tls-key")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise MissingInput(f"no such file: {path}")
    uvicorn.run(
        create_app(ws),
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level=workers_log_level,
        proxy_headers=True,
        server_header=False,
    )
