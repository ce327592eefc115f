"""Strict settings: an unknown key or a value out of range is one line naming where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from medlake import secrets
from medlake.config import LinkConfig, explain_settings, load_settings
from medlake.errors import InputError, SettingsError
from medlake.link.settings import LinkSettings
from medlake.mpi.store import current_actor


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    for name in ("MEDLAKE_HOME", "MEDLAKE_ACTOR", "MEDLAKE_SECRETS_FILE", "MEDLAKE_ENGINE_THREADS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(home: Path, text: str) -> Path:
    path = home / "medlake.toml"
    path.write_text(text)
    return path


def error_of(home: Path) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(home)
    return str(caught.value)


def test_a_misspelt_key_names_the_file_the_key_and_the_close_match(home) -> None:
    path = write(home, 'enigne = "duckdb"\n')
    assert error_of(home) == f"{path}: unknown setting 'enigne' (did you mean 'engine'?)"


def test_a_misspelt_key_in_the_link_table_is_caught_too(home) -> None:
    path = write(home, "[link]\nmatch_treshold = 0.9\n")
    assert (
        error_of(home)
        == f"{path}: unknown setting 'match_treshold' in [link] (did you mean 'match_threshold'?)"
    )


def test_the_old_flat_link_keys_point_to_the_link_table(home) -> None:
    write(home, "link_review_threshold = 0.4\n")
    assert "did you mean 'review_threshold' in [link]?" in error_of(home)


def test_a_value_out_of_range_is_one_line_with_file_key_value_and_range(home) -> None:
    path = write(home, "ingest_chunk_size = 0\n")
    message = error_of(home)
    assert message == f"{path}: ingest_chunk_size = 0: input should be greater than or equal to 1"
    assert "\n" not in message and "pydantic" not in message and "Traceback" not in message


def test_a_value_of_the_wrong_kind_from_the_environment_names_the_variable(home, monkeypatch) -> None:
    write(home, "")
    monkeypatch.setenv("MEDLAKE_ENGINE_THREADS", "many")
    assert error_of(home).startswith(
        "environment variable MEDLAKE_ENGINE_THREADS: engine_threads = 'many': "
        "input should be a valid integer"
    )


def test_a_choice_lists_what_it_may_be(home) -> None:
    write(home, '[link]\nidentifier_check = "crc"\n')
    assert "[link] identifier_check = 'crc': input should be 'none', 'luhn' or 'mod11-2'" in error_of(home)


def test_every_problem_gets_its_own_line(home) -> None:
    write(home, "enigne = 1\ncheckpoint_interval = -1\n")
    assert len(error_of(home).splitlines()) == 2


def test_a_file_that_is_not_toml_names_the_file(home) -> None:
    path = write(home, "engine_threads = [4\n")
    assert error_of(home).startswith(f"{path}: not a TOML file:")


def test_link_thresholds_are_checked_together_once(home) -> None:
    path = write(home, "[link]\nmatch_threshold = 0.5\nreview_threshold = 0.6\n")
    assert error_of(home).startswith(f"{path}: [link]: the link thresholds need 0 < review_threshold < match")
    # the same rule for a run's own thresholds (medlake link run --match-threshold …)
    with pytest.raises(InputError, match="review_threshold < match_threshold"):
        LinkSettings(match_threshold=0.5, review_threshold=0.5)
    with pytest.raises(ValueError, match="review_threshold < match_threshold"):
        LinkConfig(match_threshold=0.7, review_threshold=0.7)


def test_link_settings_come_from_the_link_table_and_nested_variables(home, monkeypatch) -> None:
    write(home, "[link]\nmatch_threshold = 0.9\n")
    monkeypatch.setenv("MEDLAKE_LINK__REVIEW_THRESHOLD", "0.3")
    link = load_settings(home).link
    assert (link.match_threshold, link.review_threshold, link.identifier_check) == (0.9, 0.3, "luhn")


def test_explain_says_where_each_value_came_from(home, monkeypatch) -> None:
    path = write(home, "engine_threads = 3\n[link]\nmatch_threshold = 0.9\n")
    monkeypatch.setenv("MEDLAKE_LINK__REVIEW_THRESHOLD", "0.3")
    monkeypatch.setenv("MEDLAKE_ENGINE_THREADS", "2")  # the variable wins over the file
    entries = {e.key: e for e in explain_settings(home)}
    assert (entries["engine_threads"].value, entries["engine_threads"].origin) == (
        2,
        "env MEDLAKE_ENGINE_THREADS",
    )
    assert entries["link.match_threshold"].origin == f"file {path}"
    assert entries["link.review_threshold"].origin == "env MEDLAKE_LINK__REVIEW_THRESHOLD"
    assert (entries["checkpoint_interval"].value, entries["checkpoint_interval"].origin) == (20, "default")
    assert entries["home"].origin == "argument"
    assert entries["catalog_url"].value == f"sqlite:///{home.resolve() / 'catalog.db'}"


def test_the_secrets_file_is_a_setting(home, monkeypatch) -> None:
    assert secrets.secrets_file(home) == home.resolve() / "secrets.toml"
    (home / "vault").mkdir()
    (home / "vault" / "db.toml").write_text('DB_PASSWORD = "from-the-file"\n')
    write(home, 'secrets_file = "vault/db.toml"\n')  # relative: under the workspace
    assert secrets.resolve("postgresql://u:${DB_PASSWORD}@h/db", home) == "postgresql://u:from-the-file@h/db"
    other = home / "elsewhere.toml"
    other.write_text('DB_PASSWORD = "from-the-variable"\n')
    monkeypatch.setenv("MEDLAKE_SECRETS_FILE", str(other))
    assert secrets.secrets_file(home) == other


def test_the_actor_is_a_setting(home, monkeypatch) -> None:
    write(home, 'actor = "clerk-anna"\n')
    assert current_actor(load_settings(home)) == "clerk-anna"
    monkeypatch.setenv("MEDLAKE_ACTOR", "clerk-ben")
    assert current_actor(load_settings(home)) == "clerk-ben"
    assert current_actor() == "clerk-ben"  # code without a workspace reads the same variable


def test_shown_values_keep_their_secrets(home) -> None:
    assert secrets.redact_setting("catalog_url", "postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert (
        secrets.redact_setting("search_url", "https://h/i?api_key=abc&x=1") == "https://h/i?api_key=***&x=1"
    )
    shown = secrets.redact_setting(
        "storage_options", {"AWS_SECRET_ACCESS_KEY": "s", "region": "eu", "sas": "t"}
    )
    assert shown == {"AWS_SECRET_ACCESS_KEY": "***", "region": "eu", "sas": "***"}


def test_a_variable_that_is_not_json_names_the_variable(home, monkeypatch) -> None:
    write(home, "")
    monkeypatch.setenv("MEDLAKE_STORAGE_OPTIONS", "{region: eu")
    assert error_of(home).startswith("environment variable MEDLAKE_STORAGE_OPTIONS: not JSON")
