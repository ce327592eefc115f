"""medlake: a regional health data center on a lakehouse.

The public Python API for analysts is :func:`open_workspace`; see ``docs/architecture.md``.
"""

from medlake.workspace import Workspace, open_workspace

__all__ = ["Workspace", "open_workspace"]
__version__ = "0.1.0"
