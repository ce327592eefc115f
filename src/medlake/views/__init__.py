"""SQL-on-FHIR v2 ViewDefinitions compiled to SQL, and medlake's library of views.

>>> compiled = compile_view({"resource": "Patient", "select": [{"column": [{"name": "id", "path": "id"}]}]})
>>> compiled.columns[0].sql_type
'VARCHAR'
"""

from medlake.views.compiler import CompiledView, ViewColumn, compile_view
from medlake.views.errors import ViewDefinitionError, ViewError, ViewEvaluationError
from medlake.views.runner import resources_table, run_view

__all__ = [
    "CompiledView",
    "ViewColumn",
    "ViewDefinitionError",
    "ViewError",
    "ViewEvaluationError",
    "compile_view",
    "resources_table",
    "run_view",
]
