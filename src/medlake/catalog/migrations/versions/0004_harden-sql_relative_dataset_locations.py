"""dataset locations relative to the lake root

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:00:00.000000

Catalogs before this revision kept each dataset's absolute URI, so a copied or moved
workspace kept reading the tables of the folder it came from. A dataset named
``<layer>.<table>`` always lives at ``<layer>/<table>`` under the lake root
(``medlake.lake.tables.table_location``), so the relative location is rebuilt from the name,
whatever the old URI said. The downgrade cannot know the old root: it writes the relative
location into ``uri``, which older code would read relative to its working directory.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_datasets = sa.table(
    "datasets",
    sa.column("name", sa.String),
    sa.column("layer", sa.String),
    sa.column("uri", sa.Text),
    sa.column("location", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=True))
    connection = op.get_bind()
    for name, layer in connection.execute(sa.select(_datasets.c.name, _datasets.c.layer)).all():
        table = name.split(".", 1)[1] if "." in name else name
        connection.execute(
            _datasets.update().where(_datasets.c.name == name).values(location=f"{layer}/{table}")
        )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("location", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("uri")


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uri", sa.Text(), nullable=True))
    connection = op.get_bind()
    connection.execute(_datasets.update().values(uri=_datasets.c.location))
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("uri", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("location")
