"""Alembic environment: the URL and connection come from medlake, never from an ini file."""

from __future__ import annotations

from alembic import context

from medlake.catalog.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "medlake runs migrations with a connection: use medlake.catalog.store.Catalog.migrate()"
    )
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
