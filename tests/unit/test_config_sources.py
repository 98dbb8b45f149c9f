"""The layered configuration: defaults < user file < repository file < environment < flags; provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gastown.config_sources import ConfigError, load_settings


@pytest.fixture
def layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    (home / "gastown").mkdir(parents=True)
    (home / "gastown" / "config.toml").write_text('maxPolecats = 2\nverifyCommand = "make check"\n'
                                                  "[polecats]\nstallSeconds = 50\nmaxRestarts = 1\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "gastown.toml").write_text('maxPolecats = 3\n[polecats]\nstallSeconds = 40\n'
                                     '[provider]\ntype = "openai"\nbaseUrl = "http://127.0.0.1:9/v1"\nmodel = "m"\n')
    return ws


def test_precedence_file_env_flag(layers: Path) -> None:
    env = {"GASTOWN_MAX_POLECATS": "5", "GASTOWN_POLECATS__MAX_RESTARTS": "4"}
    loaded = load_settings(layers, {"maxPolecats": 7}, env=env)
    s = loaded.settings
    assert s.max_polecats == 7  # flag beats env beats repo beats user
    assert s.polecats.max_restarts == 4  # env beats the user file
    assert s.polecats.stall_seconds == 40  # repo file beats the user file
    assert s.verify_command == "make check"  # only in the user file
    assert s.provider.type == "openai" and s.provider.base_url == "http://127.0.0.1:9/v1"
    src = loaded.sources
    assert src["maxPolecats"] == "command line"
    assert src["polecats.maxRestarts"] == "environment"
    assert src["polecats.stallSeconds"].startswith("repository file ")
    assert src["verifyCommand"].startswith("user file ")
    rows = {r["key"]: r for r in loaded.show()}
    assert rows["turnTimeout"]["source"] == "default"
    assert rows["maxPolecats"]["value"] == 7


def test_env_alone_beats_files(layers: Path) -> None:
    loaded = load_settings(layers, None, env={"GASTOWN_MAX_POLECATS": "5"})
    assert loaded.settings.max_polecats == 5 and loaded.sources["maxPolecats"] == "environment"


def test_repository_file_may_not_hold_a_secret(layers: Path) -> None:
    (layers / "gastown.toml").write_text('[provider]\ntype = "openai"\napiKey = "sk-secret"\n')
    with pytest.raises(ConfigError, match=r"gastown.toml: provider.api_key is a secret"):
        load_settings(layers, None, env={})


def test_unknown_key_and_bad_toml_name_the_file(layers: Path) -> None:
    (layers / "gastown.toml").write_text("maxPolecatz = 3\n")
    with pytest.raises(ConfigError, match=r"gastown.toml: unknown key 'maxPolecatz'"):
        load_settings(layers, None, env={})
    (layers / "gastown.toml").write_text("maxPolecats = = 3\n")
    with pytest.raises(ConfigError, match=r"gastown.toml: .*line 1"):
        load_settings(layers, None, env={})


def test_secret_from_env_is_masked(layers: Path) -> None:
    loaded = load_settings(layers, None, env={"GASTOWN_PROVIDER__API_KEY": "sk-very-secret"})
    assert loaded.settings.provider.api_key == "sk-very-secret"
    shown = json.dumps(loaded.show())
    assert "sk-very-secret" not in shown and '"***"' in shown
