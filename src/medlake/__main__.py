"""``python -m medlake`` is the ``medlake`` command."""

from medlake.cli import main

main()
