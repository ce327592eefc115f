"""The FastAPI application: the FHIR REST API over one workspace's serving index.

``create_app(ws)`` builds an app that holds no state of its own beyond the workspace's
settings: the index, the catalog (users, clients, audit) and the paging key all live in the
workspace, so several processes — or hosts sharing the workspace and a PostgreSQL index and
catalog — can serve behind one load balancer.
"""

from __future__ import annotations

from fastapi import FastAPI

from medlake.access import routes as access_routes
from medlake.server import fhir
from medlake.server.outcome import install_handlers
from medlake.serving import ServingIndex
from medlake.workspace import Workspace

MAX_QUERY_PARAMETERS = 100


def create_app(ws: Workspace, index: ServingIndex | None = None) -> FastAPI:
    app = FastAPI(
        title="medlake FHIR server",
        description="FHIR R4 read and search over the regional lakehouse (base URL /fhir); "
        "authenticate at /auth/token.",
        version="1",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    access_routes.mount(app, ws)
    app.state.index = index or ServingIndex(ws)
    app.include_router(fhir.router)
    install_handlers(app)
    return app
