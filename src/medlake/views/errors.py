"""Errors of the view engine (a branch of :class:`medlake.errors.MedlakeError`).

::

    ViewError
    ├── ViewDefinitionError   the ViewDefinition is invalid: found before any data is read
    └── ViewEvaluationError   the data broke a rule of the view while it ran (e.g. a column
                              not marked ``collection`` produced several values)
"""

from __future__ import annotations

from medlake.errors import MedlakeError


class ViewError(MedlakeError):
    """Base of every error raised by ``medlake.views``."""


class ViewDefinitionError(ViewError, ValueError):
    """A ViewDefinition (or a FHIRPath inside it) is invalid or uses something unsupported."""


class ViewEvaluationError(ViewError, RuntimeError):
    """Running a valid view over data failed because the data violates the view's rules."""
