"""The CapabilityStatement: generated from what the server actually serves, so it cannot drift.

Types, interactions, search parameters (with their R4 definition URLs) and ``_include`` values
all come from the same definitions the index evaluates; nothing here is listed by hand.
"""

from __future__ import annotations

from importlib.metadata import version

from medlake.serving import search_parameters, served_types
from medlake.serving.definitions import source_package

#: The result parameters every search takes (FHIR R4 §3.1.1.5), as this server implements them.
RESULT_PARAMETERS = [
    ("_count", "number", "page size (at most 1000)"),
    ("_sort", "string", "comma-separated parameters, - for descending"),
    ("_include", "string", "Type:reference-parameter[:TargetType]"),
    ("_summary", "token", "count: the total only"),
]


def capability_statement(base: str, released: str) -> dict:
    resources = []
    for resource_type in served_types():
        parameters = search_parameters(resource_type)
        resources.append(
            {
                "type": resource_type,
                "profile": f"http://hl7.org/fhir/StructureDefinition/{resource_type}",
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "versioning": "no-version",
                "readHistory": False,
                "updateCreate": False,
                "searchInclude": sorted(
                    f"{resource_type}:{c}" for c, p in parameters.items() if p.type == "reference"
                ),
                "searchParam": [
                    {"name": code, "definition": p.url, "type": p.type, "documentation": p.description}
                    for code, p in parameters.items()
                ],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released,
        "publisher": "medlake",
        "kind": "instance",
        "software": {"name": "medlake", "version": version("medlake")},
        "implementation": {"description": "medlake FHIR R4 server over the regional lakehouse", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": f"search parameters as defined by {source_package()}",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "OAuth 2.0 bearer tokens from /auth/token "
                    "(see /.well-known/smart-configuration)",
                },
                "resource": resources,
                "searchParam": [
                    {"name": name, "type": kind, "documentation": doc}
                    for name, kind, doc in RESULT_PARAMETERS
                ],
            }
        ],
    }
