"""The model as the incremental index will use it: train, save, load, score new records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from medlake.link import LinkageModel, LinkSettings, RecordError, decide
from medlake.synth.linkage import generate_person_records

SETTINGS = LinkSettings(u_max_pairs=1.2e6, em_max_pairs=5e5)


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return generate_person_records(4000, seed=23)


@pytest.fixture(scope="module")
def model(population: pd.DataFrame) -> LinkageModel:
    return LinkageModel.train(population.drop(columns=["person_id"]), SETTINGS)


def test_trained_model_has_sensible_parameters(model: LinkageModel) -> None:
    assert set(model.fields) >= {"given", "family", "birth_date", "sex", "phone", "identifier"}
    assert 0 < model.probability_two_random_records_match < 1e-2
    for comparison in model.splink_model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        assert all(0 < lv["m_probability"] <= 1 and 0 < lv["u_probability"] <= 1 for lv in levels)
        # Exact agreement must be evidence for a match, the last level ("different") against.
        assert levels[0]["m_probability"] > levels[0]["u_probability"]
        assert levels[-1]["m_probability"] < levels[-1]["u_probability"]


def test_saved_and_loaded_model_scores_identically(model: LinkageModel, population, tmp_path: Path) -> None:
    path = model.save(tmp_path / "model.json")
    loaded = LinkageModel.load(path)
    assert loaded.settings == model.settings
    sample = population.drop(columns=["person_id"]).head(1500)
    before, after = model.score(sample).pairs, loaded.score(sample).pairs
    key = ["record_id_l", "record_id_r"]
    merged = before.merge(after, on=key, suffixes=("_a", "_b"))
    assert len(merged) == len(before) == len(after) > 0
    assert (merged["match_probability_a"] - merged["match_probability_b"]).abs().max() < 1e-9


def test_load_rejects_foreign_json(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a medlake linkage model"):
        LinkageModel.load(path)


def test_new_records_are_scored_against_existing_ones_only(model: LinkageModel, population) -> None:
    records = population.drop(columns=["person_id"])
    existing, new = records.iloc[:3000], records.iloc[3000:]
    scores = model.score_new(new, existing)
    pairs = scores.pairs
    new_ids = set(new["record_id"])
    involves_new = pairs["record_id_l"].isin(new_ids) | pairs["record_id_r"].isin(new_ids)
    assert len(pairs) > 0 and involves_new.all()
    # Most true pairs that involve a new record are found and decided as matches.
    truth = population.set_index("record_id")["person_id"]
    decided = decide(scores, model.settings)
    matched = decided[decided["decision"] == "match"]
    same = matched["record_id_l"].map(truth).to_numpy() == matched["record_id_r"].map(truth).to_numpy()
    assert same.mean() > 0.97
    true_new_pairs = _true_pairs_involving(population, new_ids)
    found = set(zip(matched["record_id_l"], matched["record_id_r"], strict=True))
    assert len(found & true_new_pairs) / len(true_new_pairs) > 0.9


def test_new_records_score_as_in_a_full_run(model: LinkageModel, population) -> None:
    """Scoring only the existing records a blocking rule reaches, with the whole region's term
    frequencies, gives exactly the pairs (and probabilities) a full run gives a new record."""
    records = population.drop(columns=["person_id"])
    existing, new = records.iloc[:3000], records.iloc[3000:]
    incremental = model.score_new(new, existing).pairs
    full = model.score(records).pairs
    new_ids = set(new["record_id"])
    full = full[full["record_id_l"].isin(new_ids) | full["record_id_r"].isin(new_ids)]
    key = ["record_id_l", "record_id_r"]
    merged = full.merge(incremental, on=key, how="outer", suffixes=("_full", "_new"), indicator=True)
    assert len(full) > 100
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][key].head()
    gap = (merged["match_probability_full"] - merged["match_probability_new"]).abs().max()
    assert gap < 1e-9


def test_new_record_ids_must_not_clash(model: LinkageModel, population) -> None:
    records = population.drop(columns=["person_id"])
    with pytest.raises(RecordError, match="already exist"):
        model.score_new(records.iloc[:10], records.iloc[5:20])


def _true_pairs_involving(population: pd.DataFrame, new_ids: set[str]) -> set[tuple[str, str]]:
    pairs = set()
    for ids in population.groupby("person_id")["record_id"]:
        members = sorted(ids[1])
        for i, left in enumerate(members):
            for right in members[i + 1 :]:
                if left in new_ids or right in new_ids:
                    pairs.add((left, right))
    return pairs
