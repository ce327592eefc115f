"""The FHIR server: a FastAPI app over the serving index (``app``), run by ``medlake serve`` (``run``)."""

from __future__ import annotations

from medlake.server.app import create_app

__all__ = ["create_app"]
