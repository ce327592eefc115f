"""Building the layers after raw: integrated (current, namespaced FHIR) and warehouse (views).

``medlake build`` runs :func:`medlake.build.run.build_all`: every table it writes is
replaced in one Delta transaction, computed only from committed inputs, so a killed
build followed by a re-run ends exactly where a clean build ends.
"""
