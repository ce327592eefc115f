"""Sources: every way an institution's data reaches medlake, converted to FHIR on the way in.

Each kind of source is a subpackage (``fhir_files``, ``hl7v2``, ``tabular``, ``database``,
``devices``, ``documents``) that turns what it reads into :class:`~medlake.ingest.Delivery`
objects; the ingest pipeline does the rest (validation, de-duplication, quarantine,
reconciliation, crash safety) the same way for all of them. ``registry`` maps a kind
name to the class that ``medlake sync`` runs for a registered source.
"""
