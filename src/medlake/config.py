"""Typed settings for a workspace.

Settings come, in order of precedence, from ``MEDLAKE_*`` environment variables, the
workspace's ``medlake.toml`` and the defaults below. The defaults are the embedded
set-up (DuckDB, Delta Lake on local disk, SQLite catalog) so a laptop needs no server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SETTINGS_FILE = "medlake.toml"
DEFAULT_HOME = Path(".medlake")


def resolve_home(home: Path | str | None = None) -> Path:
    """The workspace directory: an explicit argument, else ``MEDLAKE_HOME``, else ``./.medlake``."""
    if home is not None:
        return Path(home).expanduser().resolve()
    env = os.environ.get("MEDLAKE_HOME")
    return Path(env).expanduser().resolve() if env else DEFAULT_HOME.resolve()


class Settings(BaseSettings):
    """Everything a workspace can be configured with."""

    model_config = SettingsConfigDict(env_prefix="MEDLAKE_", extra="ignore")

    home: Path = Field(default_factory=resolve_home, description="the workspace directory")
    catalog_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the catalog; default sqlite:///<home>/catalog.db"
    )
    lake_uri: str | None = Field(default=None, description="root URI of the lake; default <home>/lake")
    storage_options: dict[str, str] = Field(
        default_factory=dict, description="object-store options for s3:// or hdfs:// lake URIs"
    )
    engine: str = Field(default="duckdb", description="query engine: duckdb (spark later)")
    engine_threads: int | None = Field(default=None, description="engine threads; default all cores")
    engine_memory_limit: str | None = Field(
        default=None, description="e.g. '4GB', per engine (a build runs two); default the engine's"
    )
    ingest_workers: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        description="processes that parse and validate resources in parallel",
    )
    ingest_chunk_size: int = Field(
        default=5_000,
        ge=1,
        description="resources handed to a worker at once (and at most per raw data file)",
    )
    ingest_group_records: int = Field(
        default=100_000, ge=1, description="resources of several deliveries gathered into one commit at most"
    )
    checkpoint_interval: int = Field(default=20, ge=1, description="Delta commits between log checkpoints")
    last_updated_tolerance: int = Field(
        default=3600,
        ge=0,
        description="seconds a meta.lastUpdated may lie after the version's arrival; a later one is "
        "distrusted: the version ranks by its arrival and is reported as a data-quality warning",
    )
    link_match_threshold: float = Field(
        default=0.95, gt=0, lt=1, description="match probability from which the index links automatically"
    )
    link_review_threshold: float = Field(
        default=0.50, gt=0, lt=1, description="match probability from which a pair goes to clerical review"
    )
    link_identifier_check: Literal["none", "luhn", "mod11-2"] = Field(
        default="luhn", description="check digit a national id must pass to be trusted (the region's scheme)"
    )
    person_source_trust: list[str] = Field(
        default_factory=list,
        description="institutions, most trusted first, for the golden birth date, sex and national id",
    )
    person_store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the person serving store; default sqlite:///<home>/person.db",
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
    def resolved_catalog_url(self) -> str:
        return self.catalog_url or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def resolved_lake_uri(self) -> str:
        return (self.lake_uri or str(self.home / "lake")).rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = resolve_home(init_settings.init_kwargs.get("home")) / SETTINGS_FILE  # type: ignore[attr-defined]
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings(home: Path | str | None = None, **overrides: object) -> Settings:
    """Settings for the workspace at ``home`` (or the one ``MEDLAKE_HOME`` selects)."""
    return Settings(home=resolve_home(home), **overrides)  # type: ignore[arg-type]
