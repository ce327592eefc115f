"""The linkage model: train it on person records, save/load it, score record pairs with it.

A model is the trained Splink settings (comparisons, blocking rules, m/u, prior) plus the
medlake settings that interpret its scores. Training and scoring are separate on purpose: the
master patient index trains once on the region's records and then scores each new batch
against the persons it already knows (``score_new``), which must not retrain or re-link
everything.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker, SettingsCreator, block_on

from medlake.engine import Engine, duckdb_only
from medlake.errors import InputError
from medlake.link.backend import database_api, local_engine, quiet_splink
from medlake.link.blocking import prediction_rules
from medlake.link.comparisons import build_comparisons
from medlake.link.records import ID_COLUMN, PERSON_FIELDS, SOURCE_COLUMN, PersonTable, RecordError
from medlake.link.scores import PairScores, level_labels
from medlake.link.settings import LinkSettings
from medlake.link.standardise import standardise
from medlake.link.training import neutralise_untrained_levels, train_linker

MODEL_FORMAT = "medlake.link.model/1"


def fields_with_data(table: pa.Table) -> frozenset[str]:
    """The person fields that have at least one value: only those carry evidence."""
    return frozenset(f for f in PERSON_FIELDS if table.column(f).null_count < table.num_rows)


@dataclass(frozen=True)
class LinkageModel:
    """A trained model. Build with ``train`` or ``load``; score with ``score`` / ``score_new``."""

    splink_model: dict[str, Any] = field(repr=False, compare=False)
    settings: LinkSettings
    fields: tuple[str, ...]
    untrained_levels: tuple[str, ...] = ()

    @classmethod
    def train(cls, records: PersonTable, settings: LinkSettings | None = None) -> LinkageModel:
        """Estimate the model from unlabelled person records (standardised here)."""
        settings = settings or LinkSettings()
        table = records if _is_standardised(records) else _standardise(records, settings)
        present = fields_with_data(table)
        if len(present & {"given", "family", "birth_date"}) < 2:
            raise RecordError(
                "linking needs at least two of given, family, birth_date; "
                f"the records only have {sorted(present)}"
            )
        creator = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name=ID_COLUMN,
            comparisons=build_comparisons(present, settings.term_frequency_adjustments),
            blocking_rules_to_generate_predictions=prediction_rules(settings.blocking_rules, present),
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=True,
            additional_columns_to_retain=[SOURCE_COLUMN],
        )
        with _linker_session(settings, [table], creator) as (linker, _):
            train_linker(linker, present, settings)
            model = linker.misc.save_model_to_json()
        patched = neutralise_untrained_levels(model, settings.u_max_pairs)
        return cls(model, settings, tuple(f for f in PERSON_FIELDS if f in present), tuple(patched))

    # ----------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "settings": self.settings.as_dict(),
            "fields": list(self.fields),
            "untrained_levels": list(self.untrained_levels),
            "splink": self.splink_model,
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], settings: LinkSettings | None = None) -> LinkageModel:
        if data.get("format") != MODEL_FORMAT:
            raise InputError(
                f"not a medlake linkage model (format {data.get('format')!r}, want {MODEL_FORMAT!r})"
            )
        stored = dict(data["settings"])
        stored["blocking_rules"] = tuple(stored["blocking_rules"])
        return cls(
            splink_model=data["splink"],
            settings=settings or LinkSettings(**stored),
            fields=tuple(data["fields"]),
            untrained_levels=tuple(data.get("untrained_levels", ())),
        )

    @classmethod
    def load(cls, path: str | Path, settings: LinkSettings | None = None) -> LinkageModel:
        """Read a saved model; ``settings`` overrides the stored ones (e.g. new thresholds)."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")), settings)

    def with_settings(self, settings: LinkSettings) -> LinkageModel:
        """The same trained parameters interpreted with other thresholds or another backend."""
        return LinkageModel(self.splink_model, settings, self.fields, self.untrained_levels)

    # ----------------------------------------------------------------- scoring

    @property
    def probability_two_random_records_match(self) -> float:
        return float(self.splink_model["probability_two_random_records_match"])

    def score(self, records: PersonTable) -> PairScores:
        """All candidate pairs within ``records`` at or above the review threshold.

        With trusted identifiers, every pair sharing an identifier is included whatever its
        score, because the identifier rule will link it and a reviewer may want to see why the
        model disagreed.
        """
        table = records if _is_standardised(records) else _standardise(records, self.settings)
        with _linker_session(self.settings, [table], self._creator()) as (linker, (sdf,)):
            frames = [
                _to_pandas(
                    linker.inference.predict(threshold_match_probability=self.settings.review_threshold)
                )
            ]
            if self._identifier_rule_applies(table):
                _register_term_frequencies(linker)
                frames.append(
                    _to_pandas(
                        linker.inference.predict_within(
                            sdf,
                            blocking_rules_to_generate_predictions=[block_on("identifier")],
                            warning_mode="never",
                        )
                    )
                )
        return PairScores(_union_pairs(frames), level_labels(self.splink_model))

    def score_new(self, new_records: PersonTable, existing_records: PersonTable) -> PairScores:
        """Pairs between new and existing records, and among the new ones; none among the existing.

        This is incremental linkage: the existing records have been linked already, so only
        pairs involving a new record are worth scoring. Term frequencies come from both sets, so
        a pair scores exactly as in a full run. Only the existing records that a blocking rule
        pairs with a new one reach Splink: against a million existing records, that is what
        makes the cost follow the new records rather than the region.
        """
        new = new_records if _is_standardised(new_records) else _standardise(new_records, self.settings)
        old = (
            existing_records
            if _is_standardised(existing_records)
            else _standardise(existing_records, self.settings)
        )
        new_ids = new.column(ID_COLUMN).cast(pa.string())
        clash = new_ids.filter(pc.is_in(new_ids, value_set=old.column(ID_COLUMN).cast(pa.string())))
        if len(clash):
            example = sorted(clash.to_pylist())[:5]
            raise RecordError(f"{len(clash)} new record_id(s) already exist, e.g. {example}")
        creator = self._creator()
        with local_engine(self.settings) as engine:
            frequencies = _term_frequencies(engine, creator, [old, new])
            reachable = _reachable(engine, old, new, self._prediction_rule_sql())
        combined = pa.concat_tables([reachable, new])
        with _linker_session(self.settings, [combined, reachable, new], creator) as (linker, sdfs):
            _, old_sdf, new_sdf = sdfs
            _register_term_frequencies(linker, frequencies)
            threshold = self.settings.review_threshold
            frames = [
                _to_pandas(
                    linker.inference.predict_between(
                        old_sdf, new_sdf, threshold_match_probability=threshold, warning_mode="never"
                    )
                ),
                _to_pandas(
                    linker.inference.predict_within(
                        new_sdf, threshold_match_probability=threshold, warning_mode="never"
                    )
                ),
            ]
            if self._identifier_rule_applies(pa.concat_tables([old, new])):
                by_id = [block_on("identifier")]
                frames.append(
                    _to_pandas(
                        linker.inference.predict_between(
                            old_sdf,
                            new_sdf,
                            blocking_rules_to_generate_predictions=by_id,
                            warning_mode="never",
                        )
                    )
                )
                frames.append(
                    _to_pandas(
                        linker.inference.predict_within(
                            new_sdf, blocking_rules_to_generate_predictions=by_id, warning_mode="never"
                        )
                    )
                )
        return PairScores(_union_pairs(frames), level_labels(self.splink_model))

    def _prediction_rule_sql(self) -> list[str] | None:
        """The model's blocking rules (and the identifier rule) as DuckDB SQL over l./r.; None when
        the model was saved for another SQL dialect, so its rules cannot be run here."""
        if self.splink_model.get("sql_dialect", "duckdb") != "duckdb":
            return None
        rules = self.splink_model.get("blocking_rules_to_generate_predictions", [])
        if any(rule.get("sql_dialect", "duckdb") != "duckdb" for rule in rules):
            return None
        sql = [rule["blocking_rule"] for rule in rules]
        if self.settings.identifier_is_trusted and "identifier" in self.fields:
            sql.append('l."identifier" = r."identifier"')
        return sql

    def _identifier_rule_applies(self, table: pa.Table) -> bool:
        return (
            self.settings.identifier_is_trusted
            and "identifier" in self.fields
            and table.column("identifier").null_count < table.num_rows
        )

    def _creator(self) -> dict[str, Any]:
        return copy.deepcopy(self.splink_model)


def _standardise(records: PersonTable, settings: LinkSettings) -> pa.Table:
    with local_engine(settings) as engine:
        return standardise(records, engine)


def _is_standardised(records: PersonTable) -> bool:
    """Already-standardised Arrow tables skip the cleaning pass (it is not idempotent on ids)."""
    return (
        isinstance(records, pa.Table)
        and records.schema.metadata is not None
        and (records.schema.metadata.get(b"medlake.link") == b"standardised")
    )


@contextmanager
def _linker_session(
    settings: LinkSettings, tables: list[pa.Table], model: SettingsCreator | dict[str, Any]
) -> Iterator[tuple[Linker, list[Any]]]:
    """A Splink linker over the first table, with every table registered on one database.

    The database lives for the session only, so intermediate tables never leak between jobs.
    """
    with database_api(settings) as db_api, quiet_splink():
        registered = [db_api.register(_strip_metadata(t)) for t in tables]
        linker = Linker(registered[0], model, log_level=None)
        yield linker, registered


def _strip_metadata(table: pa.Table) -> pa.Table:
    return table.replace_schema_metadata(None)


def _register_term_frequencies(linker: Linker, frequencies: dict[str, pa.Table] | None = None) -> None:
    """predict_within / predict_between read frequency tables that predict() builds implicitly.

    ``frequencies`` (column -> table, from :func:`_term_frequencies`) are registered as they are;
    other columns' tables are computed from the linker's input.
    """
    for column in linker._settings_obj._term_frequency_columns:
        name = column.unquote().name
        if frequencies and name in frequencies:
            table = linker._db_api.register(frequencies[name])
            linker.table_management.register_term_frequency_lookup(table, name)
        else:
            linker.table_management.compute_tf_table(name)


def _term_frequency_columns(model: dict[str, Any]) -> list[str]:
    columns = {
        level["tf_adjustment_column"]
        for comparison in model.get("comparisons", [])
        for level in comparison.get("comparison_levels", [])
        if level.get("tf_adjustment_column")
    }
    return sorted(columns)


def _term_frequencies(engine: Engine, model: dict[str, Any], tables: list[pa.Table]) -> dict[str, pa.Table]:
    """Splink's term-frequency table of each adjusted column over all of ``tables``.

    The same definition as Splink's own (``term_frequencies_for_single_column_sql``): the share
    of the column's non-null values that hold each value. Computed here so that scoring can
    run on a subset of the records yet weigh a common name as the whole region does.
    """
    duckdb_only(engine, "linkage term frequencies")
    prefix = model.get("term_frequency_adjustment_column_prefix", "tf_")
    with ExitStack() as parts:
        for number, table in enumerate(tables):
            parts.enter_context(engine.registered(f"part_{number}", _strip_metadata(table)))
        out = {}
        for column in _term_frequency_columns(model):
            quoted = f'"{column}"'
            union = " UNION ALL ".join(f"SELECT {quoted} FROM part_{n}" for n in range(len(tables)))
            out[column] = engine.sql(
                f"""
                WITH v AS ({union})
                SELECT {quoted}, CAST(count(*) AS DOUBLE) / (SELECT count({quoted}) FROM v)
                       AS "{prefix}{column}"
                FROM v WHERE {quoted} IS NOT NULL GROUP BY {quoted}
                """
            )
        return out


def _reachable(engine: Engine, existing: pa.Table, new: pa.Table, rules: list[str] | None) -> pa.Table:
    """The existing records that some blocking rule pairs with a new record (all of them if the
    rules are unknown). A pair Splink would block between the full sets has its existing side here.

    The rules are Splink's, in DuckDB's SQL: this runs on DuckDB only.
    """
    if not rules or existing.num_rows == 0 or new.num_rows == 0:
        return existing
    duckdb_only(engine, "blocking rules (Splink's DuckDB SQL)")
    with (
        engine.registered("existing", _strip_metadata(existing)),
        engine.registered("new", _strip_metadata(new)),
    ):
        # both orientations: a rule need not be symmetric in l and r
        selects = [
            f"SELECT l.{ID_COLUMN} AS id FROM existing AS l JOIN new AS r ON {rule} "
            f"UNION SELECT r.{ID_COLUMN} AS id FROM new AS l JOIN existing AS r ON {rule}"
            for rule in rules
        ]
        ids = engine.sql(" UNION ".join(selects)).column("id")
    return existing.filter(pc.is_in(existing.column(ID_COLUMN), value_set=ids))


def _to_pandas(frame: Any) -> pd.DataFrame:
    table = frame.as_pyarrow_table()
    frame.drop_table_from_database_and_remove_from_cache()
    return table.to_pandas()


def _union_pairs(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate scored pairs, each unordered pair once, with record_id_l < record_id_r."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["record_id_l", "record_id_r", "match_probability", "match_weight"])
    pairs = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    swap = pairs["record_id_l"] > pairs["record_id_r"]
    if swap.any():
        left = [c for c in pairs.columns if c.endswith("_l")]
        mapping = {c: c[:-2] + "_r" for c in left} | {c[:-2] + "_r": c for c in left}
        swapped = pairs.loc[swap].rename(columns=mapping)
        pairs = pd.concat([pairs.loc[~swap], swapped[pairs.columns]], ignore_index=True)
    pairs = pairs.drop_duplicates(["record_id_l", "record_id_r"], keep="first")
    return pairs.drop(columns=["match_key"], errors="ignore").reset_index(drop=True)
