"""Typed, strict settings for a workspace.

Settings come, in order of precedence, from ``MEDLAKE_*`` environment variables, the
workspace's ``medlake.toml`` and the defaults below. The defaults are the embedded
set-up (DuckDB, Delta Lake on local disk, SQLite catalog) so a laptop needs no server.

The file is read strictly: a key medlake does not know (a typo such as ``enigne``) is a
:class:`~medlake.errors.SettingsError` naming the file and the key, not a setting silently
left at its default; a value out of range is one line naming where it came from, the key and
what it may be. :func:`explain_settings` says where each effective value came from
(``medlake config show``); docs/settings.md is generated from the model below
(:func:`settings_reference`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceParseError

from medlake.errors import SettingsError

SETTINGS_FILE = "medlake.toml"
DEFAULT_HOME = Path(".medlake")
ENV_PREFIX = "MEDLAKE_"
#: ``MEDLAKE_LINK__MATCH_THRESHOLD`` sets ``match_threshold`` in the ``[link]`` table.
ENV_NESTED_DELIMITER = "__"


def resolve_home(home: Path | str | None = None) -> Path:
    """The workspace directory: an explicit argument, else ``MEDLAKE_HOME``, else ``./.medlake``."""
    if home is not None:
        return Path(home).expanduser().resolve()
    env = os.environ.get("MEDLAKE_HOME")
    return Path(env).expanduser().resolve() if env else DEFAULT_HOME.resolve()


#: How a national identifier proves it was copied correctly (see medlake.link.settings): not at
#: all, a Luhn check digit, or ISO 7064 MOD 11-2.
IdentifierCheck = Literal["none", "luhn", "mod11-2"]


def check_link_thresholds(match_threshold: float, review_threshold: float) -> None:
    """The one rule between the two thresholds, for the settings and for every run's overrides:
    a pair is linked from ``match_threshold`` up and reviewed from ``review_threshold`` up, so the
    review band between them must not be empty or upside down. Raises ``ValueError``."""
    if not 0.0 < review_threshold < match_threshold < 1.0:
        raise ValueError(
            f"the link thresholds need 0 < review_threshold < match_threshold < 1, got "
            f"match_threshold {match_threshold} and review_threshold {review_threshold}"
        )


class LinkConfig(BaseModel):
    """The ``[link]`` table: how the master patient index links a region's records.

    One table, validated as a whole (the thresholds together), so that every run of a region
    uses the same reviewed values (``medlake link run`` may override them per run)."""

    model_config = ConfigDict(extra="forbid")

    match_threshold: float = Field(
        default=0.95, gt=0, lt=1, description="match probability from which the index links automatically"
    )
    review_threshold: float = Field(
        default=0.50, gt=0, lt=1, description="match probability from which a pair goes to clerical review"
    )
    identifier_check: IdentifierCheck = Field(
        default="luhn", description="check digit a national id must pass to be trusted (the region's scheme)"
    )

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> LinkConfig:
        check_link_thresholds(self.match_threshold, self.review_threshold)
        return self


class Settings(BaseSettings):
    """Everything a workspace can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_NESTED_DELIMITER, extra="forbid"
    )

    home: Path = Field(default_factory=resolve_home, description="the workspace directory")
    catalog_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalog; default sqlite:///<home>/catalog.db"
    )
    lake_uri: str | None = Field(default=None, description="root URI of the lake; default <home>/lake")
    storage_options: dict[str, str] = Field(
        default_factory=dict, description="object-store options for s3:// or hdfs:// lake URIs"
    )
    engine: str = Field(default="duckdb", description="query engine: duckdb (spark later)")
    engine_threads: int | None = Field(default=None, ge=1, description="engine threads; default all cores")
    engine_memory_limit: str | None = Field(
        default=None, description="e.g. '4GB', per engine (a build runs two); default the engine's"
    )
    ingest_workers: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        ge=1,
        description="processes that parse and validate resources in parallel; default the cores",
    )
    ingest_chunk_size: int = Field(
        default=5_000,
        ge=1,
        description="resources handed to a worker at once (and at most per raw data file)",
    )
    ingest_group_records: int = Field(
        default=100_000, ge=1, description="resources of several deliveries gathered into one commit at most"
    )
    ingest_follow_links_outside: bool = Field(
        default=False,
        description="read links in a landing folder whose target lies outside it (default: skipped "
        "and reported, so a writable inbox cannot make the lake copy any file the ingesting user reads)",
    )
    ingest_max_line_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="longest NDJSON line (or HL7 message) read; a longer one is quarantined by its first "
        "bytes, without ever being held whole, and the file's other lines proceed",
    )
    ingest_max_resource_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="largest single record (a resource, a Bundle entry, a note file) taken; a larger one "
        "is quarantined with the reason",
    )
    ingest_max_file_bytes: int = Field(
        default=4 * 1024 * 1024 * 1024,
        ge=1024,
        description="most bytes a gzip file may expand to (gzip bombs); what lies beyond is not read "
        "and is quarantined as one record with the reason",
    )
    ingest_max_document_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="largest file read whole (a JSON Bundle, decompressed; an HL7 v2 file); a larger "
        "one is quarantined as one record with the reason",
    )
    mllp_max_connections: int = Field(
        default=200,
        ge=1,
        description="MLLP connections a listener holds at once; one more is closed at once (logged), "
        "so idle or hostile peers cannot take every descriptor from the senders already connected",
    )
    mllp_idle_timeout: float = Field(
        default=300.0,
        gt=0,
        description="seconds an MLLP connection may send nothing (or not read its ACK) before it is "
        "closed; a message cut short by it is quarantined as truncated",
    )
    mllp_max_buffered_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="bytes an MLLP connection may buffer for one frame; a longer frame is refused "
        "with AR once it passes this, and the rest of it is read and dropped",
    )
    ingest_lock_ttl: float = Field(
        default=60,
        gt=0,
        description="seconds an ingest's per-institution commit lock lasts unless renewed: how long a "
        "killed ingest blocks the next one of its institution",
    )
    ingest_lock_wait: float = Field(
        default=1800, ge=0, description="seconds an ingest waits for another's per-institution commit lock"
    )
    checkpoint_interval: int = Field(default=20, ge=1, description="Delta commits between log checkpoints")
    last_updated_tolerance: int = Field(
        default=3600,
        ge=0,
        description="seconds a meta.lastUpdated may lie after the version's arrival; a later one is "
        "distrusted: the version ranks by its arrival and is reported as a data-quality warning",
    )
    link: LinkConfig = Field(default_factory=LinkConfig, description="the master patient index's linkage")
    build_person: Literal["mark", "refresh"] = Field(
        default="mark",
        description="after a build that moved the person tables' inputs: mark them stale (say so), or "
        "refresh them (link again, then rebuild golden records and the serving store)",
    )
    maintain_after_build: bool = Field(
        default=False, description="compact small files and vacuum old ones after every build"
    )
    maintain_target_file_mb: int = Field(
        default=128, ge=1, description="size `medlake maintain` compacts small data files up to"
    )
    vacuum_retention_hours: int = Field(
        default=168,
        ge=0,
        description="how long files a newer version replaced are kept: time travel reaches back this far",
    )
    person_source_trust: list[str] = Field(
        default_factory=list,
        description="institutions, most trusted first, for the golden birth date, sex and national id",
    )
    person_store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the person serving store; default sqlite:///<home>/person.db",
    )
    views_dir: Path | None = Field(
        default=None,
        description="a folder of SQL-on-FHIR ViewDefinitions (<table>.json) added to the view library "
        "(a file named like a library view replaces it); relative to the workspace directory",
    )
    serving_index_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the FHIR serving index (SQLite or PostgreSQL); "
        "default sqlite:///<home>/serving.db",
    )
    search_url: str | None = Field(
        default=None,
        description="OpenSearch/Elasticsearch URL (…/index; a password only as ${SECRET}) for the article "
        "search; default the embedded tantivy index in <home>/search",
    )
    secrets_file: Path | None = Field(
        default=None,
        description='TOML file of NAME = "value" secrets for ${NAME} placeholders (a relative path is '
        "under the workspace); default <home>/secrets.toml",
    )
    actor: str | None = Field(
        default=None,
        description="who is acting, for the audit trail of link runs and clerk decisions; default the "
        "operating-system user",
    )
    access_public_url: str | None = Field(
        default=None,
        description="the URL clients reach the server at (https://fhir.example.org): the token issuer, "
        "its audience (<url>/fhir) and the token endpoint clients sign for; default urn:medlake and the "
        "request's URL",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=1440, description="access token lifetime")
    access_refresh_hours: int = Field(default=12, ge=1, le=720, description="refresh token lifetime")
    consent_default: Literal["opt-out", "opt-in"] = Field(
        default="opt-out",
        description="the regional consent policy where a resident has said nothing: opt-out shares their "
        "record for treatment with the institutions that care for them, opt-in does not",
    )
    break_glass_minutes: int = Field(
        default=60, ge=1, le=1440, description="how long a break-glass access lasts"
    )

    @field_validator("home", mode="before")
    @classmethod
    def _absolute_home(cls, value: object) -> Path:
        return resolve_home(value)  # type: ignore[arg-type]

    @property
    def resolved_views_dir(self) -> Path | None:
        if self.views_dir is None:
            return None
        return self.views_dir if self.views_dir.is_absolute() else self.home / self.views_dir

    @property
    def resolved_catalog_url(self) -> str:
        return self.catalog_url or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def resolved_lake_uri(self) -> str:
        return (self.lake_uri or str(self.home / "lake")).rstrip("/")

    @property
    def resolved_secrets_file(self) -> Path:
        if self.secrets_file is None:
            return self.home / "secrets.toml"
        return self.home / self.secrets_file.expanduser()  # an absolute path stays as it is

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        home = init_settings.init_kwargs.get("home")  # type: ignore[attr-defined]
        return (init_settings, env_settings, _SettingsFile(settings_cls, settings_path(home)))


class _SettingsFile(PydanticBaseSettingsSource):
    """``medlake.toml`` as a settings source; a file that is not TOML is a one-line error."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ hands over the whole file

    def __call__(self) -> dict[str, Any]:
        return read_settings_file(self.path)


def settings_path(home: Path | str | None = None) -> Path:
    """The settings file of the workspace at ``home``."""
    return resolve_home(home) / SETTINGS_FILE


def read_settings_file(path: Path) -> dict[str, Any]:
    """The file's keys and values (none when there is no file)."""
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not a TOML file: {exc}") from None


def load_settings(home: Path | str | None = None, **overrides: object) -> Settings:
    """Settings for the workspace at ``home`` (or the one ``MEDLAKE_HOME`` selects).

    Raises :class:`SettingsError`, one line per problem, naming where each bad key or value
    came from: the file, a ``MEDLAKE_*`` variable or an argument.
    """
    try:
        return Settings(home=resolve_home(home), **overrides)  # type: ignore[arg-type]
    except SourceParseError as exc:  # a variable holding a list or table that is not JSON
        raise SettingsError(_unparsable(exc)) from None
    except ValidationError as exc:
        origins = _Origins.gather(home, overrides)
        raise SettingsError("\n".join(_describe(error, origins) for error in exc.errors())) from None


# where each value comes from ---------------------------------------------------------------


def setting_keys(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[str]:
    """Every setting as a dotted key (``link.match_threshold`` for the ``[link]`` table)."""
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from setting_keys(kind, f"{prefix}{name}.")
        else:
            yield prefix + name


def env_var(key: str) -> str:
    """The environment variable that sets ``key``."""
    return ENV_PREFIX + key.replace(".", ENV_NESTED_DELIMITER).upper()


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, BaseModel):  # a table given as its model (an argument)
            value = value.model_dump(exclude_unset=True)
        nested = isinstance(value, dict) and any(k.startswith(f"{prefix}{key}.") for k in _KEYS)
        if nested:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


@dataclass(frozen=True)
class _Origins:
    """The raw values each source gave, to say which one a setting (or an error) came from."""

    file: Path
    file_values: dict[str, Any]
    env_values: dict[str, Any]
    arguments: dict[str, Any]
    home_given: bool

    @classmethod
    def gather(cls, home: Path | str | None, overrides: dict[str, object]) -> _Origins:
        file = settings_path(home)
        try:
            file_values = _flatten(read_settings_file(file))
        except SettingsError:
            file_values = {}
        return cls(
            file=file,
            file_values=file_values,
            env_values=_flatten(EnvSettingsSource(Settings)()),
            arguments=_flatten(dict(overrides)),
            home_given=home is not None,
        )

    def of(self, key: str) -> str:
        """``default``, ``argument``, ``env MEDLAKE_…`` or ``file <path>``, by precedence."""
        if key == "home":
            if self.home_given:
                return "argument"
            return f"env {env_var(key)}" if os.environ.get(env_var(key)) else "default"
        if key in self.arguments:
            return "argument"
        if key in self.env_values:
            return f"env {env_var(key)}"
        if key in self.file_values:
            return f"file {self.file}"
        return "default"

    def given(self, key: str) -> Any:
        for values in (self.arguments, self.env_values, self.file_values):
            if key in values:
                return values[key]
        return None


_KEYS = frozenset(setting_keys())


def _unparsable(exc: SourceParseError) -> str:
    match = re.search(r'field "([^"]+)"', str(exc))
    variable = env_var(match[1]) if match else f"a {ENV_PREFIX}* variable"
    return (
        f"environment variable {variable}: not JSON (a list or table setting in a variable is "
        f'written as JSON, e.g. {ENV_PREFIX}PERSON_SOURCE_TRUST=\'["hosp-a", "hosp-b"]\')'
    )


def _describe(error: Any, origins: _Origins) -> str:
    """One validation error as one line: where, which key, what is wrong, what would do."""
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc)
    if error["type"] == "extra_forbidden":
        where = f"{origins.file}" if key in origins.file_values else "argument"
        return f"{where}: unknown setting {_toml_key(key)}{_suggestion(key)}"
    prefixes = (".".join(loc[:n]) for n in range(len(loc), 0, -1))
    known = next((k for k in prefixes if k in _KEYS), None)
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if known is None:  # a table as a whole ([link]): its keys may come from several places
        inner = [key, *sorted(k for k in _KEYS if k.startswith(f"{key}."))]
        places = sorted({_where(origins.of(k)) for k in inner if origins.of(k) != "default"})
        return f"{' and '.join(places) or 'default'}: [{key}]: {message}"
    given = origins.given(known)
    table, _, name = known.rpartition(".")
    shown = f"[{table}] {name}" if table else name
    if given is not None and table != "storage_options" and isinstance(given, str | int | float | bool):
        shown += f" = {given!r}"  # not an object-store option: those hold keys
    return f"{_where(origins.of(known))}: {shown}: {message}"


def _where(origin: str) -> str:
    if origin.startswith("file "):
        return origin.removeprefix("file ")
    if origin.startswith("env "):
        return f"environment variable {origin.removeprefix('env ')}"
    return origin


def _toml_key(key: str) -> str:
    table, _, name = key.rpartition(".")
    return f"{name!r} in [{table}]" if table else repr(key)


def _suggestion(key: str) -> str:
    """`` (did you mean 'engine'?)`` for a near miss, over every key (flat or in a table)."""
    table, _, name = key.rpartition(".")
    candidates = [k for k in _KEYS if k.rpartition(".")[0] == table] if table else []
    close = difflib.get_close_matches(name if table else key, [k.rpartition(".")[2] for k in candidates], n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    close = difflib.get_close_matches(key.replace("_", "."), _KEYS, n=1, cutoff=0.75)
    close = close or difflib.get_close_matches(key, _KEYS, n=1)
    return f" (did you mean {_toml_key(close[0])}?)" if close else ""


@dataclass(frozen=True)
class SettingValue:
    """One effective setting and where it came from, for ``medlake config show``."""

    key: str
    value: Any
    origin: str
    description: str


def explain_settings(home: Path | str | None = None, **overrides: object) -> list[SettingValue]:
    """Every setting's effective value and its origin (``default``, ``file <path>``, ``env
    MEDLAKE_…``, ``argument``). Values are as given; the caller redacts secrets before showing."""
    settings = load_settings(home, **overrides)
    origins = _Origins.gather(home, overrides)
    entries = []
    for key in setting_keys():
        value: Any = settings
        for part in key.split("."):
            value = getattr(value, part)
        if key in _RESOLVED:  # the value in effect, not "none, so the default"
            value = getattr(settings, _RESOLVED[key])
        entries.append(SettingValue(key, value, origins.of(key), _field(key).description or ""))
    return entries


#: Settings whose default is derived from the home, and the property that derives it.
_RESOLVED = {
    "catalog_url": "resolved_catalog_url",
    "lake_uri": "resolved_lake_uri",
    "secrets_file": "resolved_secrets_file",
}


def _field(key: str) -> Any:
    model: type[BaseModel] = Settings
    *tables, name = key.split(".")
    for table in tables:
        model = model.model_fields[table].annotation  # type: ignore[assignment]
    return model.model_fields[name]


def settings_reference() -> str:
    """docs/settings.md: every setting with its variable, default and meaning, from the model."""
    lines = [
        "# Settings",
        "",
        "<!-- generated by `medlake config reference` from medlake.config.Settings; "
        "tests/test_config_docs.py keeps it current -->",
        "",
        "A workspace's settings come, highest precedence first, from `MEDLAKE_*` environment",
        "variables, the workspace's `medlake.toml` and the defaults below. The file is read",
        "strictly: a key not listed here is an error naming the file and the key (with the",
        "nearest known key), and a value out of range is one line naming where it came from, the",
        "key and what it may be. `medlake config show` prints the effective settings and where",
        "each came from (`--json` for programs); secrets in URLs and storage options are shown",
        "as `***`.",
        "",
        "Keys in a table such as `[link]` are written in that table in `medlake.toml`, and as",
        "`MEDLAKE_LINK__MATCH_THRESHOLD` (two underscores) in the environment. A list or table",
        'value in a variable is JSON (`MEDLAKE_PERSON_SOURCE_TRUST=\'["hosp-a", "hosp-b"]\'`).',
        "",
        "| key in medlake.toml | environment variable | default | allowed | meaning |",
        "|---|---|---|---|---|",
    ]
    for key in setting_keys():
        field = _field(key)
        table, _, name = key.rpartition(".")
        shown = f"`{name}` in `[{table}]`" if table else f"`{key}`"
        meaning = str(field.description).replace("<", "&lt;").replace("|", "\\|")
        cells = [shown, f"`{env_var(key)}`", _default_text(key, field), _allowed(field), meaning]
        lines.append(f"| {' | '.join(cells)} |")
    lines += [
        "",
        "Checks beyond each value's own range: `[link]` needs",
        "`0 < review_threshold < match_threshold < 1` (an empty review band would send no pair to",
        "a clerk).",
        "",
    ]
    return "\n".join(lines)


_DYNAMIC_DEFAULTS = {
    "home": "`$MEDLAKE_HOME` or `./.medlake`",
    "ingest_workers": "the number of cores",
}


def _allowed(field: Any) -> str:
    """The range a value must lie in, from the field's constraints, as the docs show it."""
    bounds = []
    for rule in field.metadata:
        for attribute, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            if getattr(rule, attribute, None) is not None:
                bounds.append(f"{sign} {getattr(rule, attribute)}")
    choices = get_args(field.annotation) if get_origin(field.annotation) is Literal else ()
    if choices:
        return ", ".join(f"`{c}`" for c in choices)
    return ", ".join(bounds) or ""


def _default_text(key: str, field: Any) -> str:
    if key in _DYNAMIC_DEFAULTS:
        return _DYNAMIC_DEFAULTS[key]
    if field.default_factory is not None:
        return f"`{field.default_factory()!r}`"
    return "none" if field.default is None else f"`{field.default!r}`"
