"""leases: named locks held in the catalog

Revision ID: 0005_harden_concurrency
Revises: 0004
Create Date: 2026-12-07 23:00:00.000000

Two ingests of one institution's delivery at once (two processes, later two server workers or
hosts) must commit one after the other, each seeing what the other wrote. The lock lives in the
catalog, which every writer already shares: a row per lock, its holder and when it expires.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_harden_concurrency"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("writer", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
