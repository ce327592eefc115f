"""The lake: Delta Lake tables addressed by URI, organised in layers.

Layers (``raw`` → ``integrated`` → ``warehouse`` → ``marts``) are folders under the lake
root; every table is a Delta table whose transaction log is the platform's edit log.
"""

from medlake.lake.store import Lake
from medlake.lake.tables import Layer

__all__ = ["Lake", "Layer"]
