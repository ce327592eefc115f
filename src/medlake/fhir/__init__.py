"""FHIR R4 on the way in: reading files, validating resources, hashing, references."""
