"""Every error medlake raises for its users, under one base: :class:`MedlakeError`.

Catch ``MedlakeError`` to handle anything a user can fix (a setting, a file, a mapping, a
step not run yet); anything else that escapes medlake is a bug and keeps its traceback. The
``medlake`` command catches ``MedlakeError`` once and prints it as one ``error: …`` line.

Some classes are also ``ValueError``, ``KeyError`` or ``OSError``, where callers have always
caught those. The tree (the categories live here; the others beside the code that raises
them, named in brackets)::

    MedlakeError
    ├── WorkspaceError               no workspace there, or a table name that does not exist
    ├── EngineError                  an engine medlake has no backend for
    │   └── QueryError               the engine refused a query a user wrote
    │       ├── QueryRefused (PermissionError)  [medlake.engine.base] not a read-only query of the lake
    │       └── UnknownTable (LookupError)      [medlake.engine.base] a table the engine does not have
    ├── LakeError (OSError)          the lake's storage cannot be reached or written
    ├── NotReady (ValueError)        a step's input is not built yet: run the step named first
    │   └── GraphError               [medlake.knowledge.search] the knowledge graph's tables disagree
    ├── NotFound (KeyError)          an id no person, review item or record has
    │   ├── UnknownPersonError       [medlake.person.record]
    │   ├── UnknownTermError         [medlake.knowledge.graph] a term the knowledge graph does not have
    │   └── UnknownResourceType      [medlake.serving.query] a FHIR resource type the server does not serve
    ├── DecisionError (ValueError)   a steward's decision the index cannot apply
    ├── Busy (TimeoutError)          another writer holds a lock in the catalog past the wait
    │   └── LeaseLost                [medlake.catalog.leases] the lock expired while its holder worked
    ├── StoreError                   [medlake.person.store] the person serving store is missing or unusable
    ├── ServingIndexError            [medlake.serving.schema] the FHIR serving index has no usable home
    ├── SourceError                  a source that stopped part-way, or could not start
    │   ├── Unreachable (ConnectionError)  a server a source talks to does not answer
    │   └── SqlImportError           [medlake.sources.database.importer]
    ├── InputError (ValueError)      something sent or configured that cannot be read as it is
    │   ├── InstitutionError         an institution id outside the id alphabet
    │   ├── MissingInput (FileNotFoundError)  a file or folder that is not there
    │   ├── SettingsError            a key medlake.toml may not hold, or a setting's value out of range
    │   ├── MissingSecret (KeyError) [medlake.secrets]
    │   ├── LiteralSecret            [medlake.secrets] a password in clear where the catalog would keep it
    │   ├── IdentityError            [medlake.access.errors] a user, client, key or consent refused
    │   ├── DatabaseUrlError         [medlake.sources.database.connection]
    │   ├── TableReadError           [medlake.sources.database.reader]
    │   ├── MappingError             [medlake.sources.tabular.mapping]
    │   ├── MappingSyntaxError       [medlake.sources.tabular.strict_yaml]
    │   ├── TemplateError            [medlake.sources.tabular.template]
    │   ├── WorkbookError            [medlake.sources.tabular.excel_files]
    │   ├── RecordError              [medlake.link.records]
    │   ├── SearchError              [medlake.serving.query] a FHIR search the index cannot answer as asked
    │   ├── ScoreError               [medlake.warn.scores.registry] an input a score cannot take as a whole
    │   ├── UnitError                [medlake.warn.scores.units] a unit that is not UCUM or not convertible
    │   ├── EntryError               [medlake.ledger.entries] an entry the ledger refuses
    │   ├── ProofError               [medlake.ledger.merkle] a proof of sizes the tree does not have
    │   ├── CosignatureRejected      [medlake.ledger.cosigning] a co-signature the hub will not keep
    │   ├── DumpError                [medlake.knowledge.mediawiki] a MediaWiki export that cannot be read
    │   └── SurveilError             [medlake.surveil.series] a series or setting an algorithm cannot take
    ├── InvalidRecord (ValueError)   one received record that cannot be taken: quarantined with
    │   │                            this reason, never raised out of an ingest
    │   ├── InvalidResource          [medlake.fhir.validation]
    │   ├── CellError                [medlake.sources.tabular.values]
    │   ├── RowError                 [medlake.sources.tabular.template]
    │   ├── QuantityError            [medlake.sources.tabular.codes]
    │   ├── ConversionError          [medlake.sources.hl7v2.datatypes]
    │   ├── MessageRejected          [medlake.sources.hl7v2.parsing]
    │   ├── ReadingError             [medlake.sources.devices.readings]
    │   ├── DicomError               [medlake.sources.documents.dicom]
    │   └── NoteError                [medlake.sources.documents.notes]
    ├── SearchBackendError (RuntimeError)  [medlake.knowledge.opensearch] the search backend failed
    ├── LedgerError                  the ledger's files, keys or witnesses disagree with its history
    │   ├── LedgerDamaged (RuntimeError)    [medlake.ledger.storage] files no crash could leave
    │   ├── TornFrame (ValueError)          [medlake.ledger.storage] an append killed part-way
    │   ├── BadFrame (ValueError)           [medlake.ledger.storage] bytes that are not a frame
    │   ├── SigningKeyError (RuntimeError)  [medlake.ledger.keys]
    │   ├── WitnessAlarm (RuntimeError)     [medlake.ledger.witness] a fork, a rewrite or a replayed head
    │   └── HubError (RuntimeError)         [medlake.ledger.witness] the hub cannot be asked
    ├── AccessError                  a caller the access rules refuse
    │   ├── Unauthenticated (PermissionError)  [medlake.access.errors] no valid token or credentials
    │   └── Forbidden (PermissionError)        [medlake.access.errors] may not read or do this
    └── ViewError                    [medlake.views.errors]
        ├── ViewDefinitionError (ValueError)
        └── ViewEvaluationError (RuntimeError)

``tests/test_errors.py`` checks that this tree names every subclass there is.
"""

from __future__ import annotations


class MedlakeError(Exception):
    """Something a user can fix; the message says what and, where it can, how."""

    def __str__(self) -> str:
        # One argument is the message, also for the KeyError subclasses (which would quote it).
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class WorkspaceError(MedlakeError):
    """The workspace is missing or a name in it does not exist."""


class EngineError(MedlakeError):
    """An engine medlake has no backend for."""


class QueryError(EngineError):
    """The engine refused a query a user wrote; the message is the engine's."""


class LakeError(MedlakeError, OSError):
    """The lake's storage cannot be reached or written (a bucket, a path that is a file)."""


class NotReady(MedlakeError, ValueError):
    """A step's input is not built yet; the message names the step to run first."""


class NotFound(MedlakeError, KeyError):
    """An id that no person, review item or record has."""


class DecisionError(MedlakeError, ValueError):
    """A steward's decision the master patient index cannot apply as asked."""


class Busy(MedlakeError, TimeoutError):
    """Another writer holds a lock in the catalog longer than this one will wait; try again later."""


class SourceError(MedlakeError):
    """A source that stopped part-way; the message says how far it got."""


class Unreachable(SourceError, ConnectionError):
    """A server a source talks to (a database, a broker) cannot be reached or refuses the connection."""


class InputError(MedlakeError, ValueError):
    """Something sent or configured (a file, a mapping, an id, a URL) that cannot be read as it is."""


class InstitutionError(InputError):
    """An institution id outside the id alphabet (it becomes a partition value and an id prefix)."""


class MissingInput(InputError, FileNotFoundError):
    """A file or folder to read that is not there."""


class SettingsError(InputError):
    """A workspace setting medlake cannot take: an unknown key in ``medlake.toml`` (a typo would
    otherwise be ignored and the default used without a word) or a value out of its range. The
    message names where it came from: the file, or the ``MEDLAKE_*`` variable."""


class InvalidRecord(MedlakeError, ValueError):
    """One received record that cannot be taken; it goes to the quarantine with this reason."""


class AccessError(MedlakeError):
    """A caller the access rules refuse: not authenticated, or not allowed this read or write."""


class LedgerError(MedlakeError):
    """The ledger's files, keys or witnesses disagree with the history it has signed."""
