"""One configuration for every client, through the real `gastown config show --json` process: defaults <
user file < repository file < GASTOWN_* environment < flags, each value's source, secrets never printed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import gastown

SECRET = "sk-test-very-secret-4711"


def show(cwd: Path, env: dict[str, str], *flags: str) -> dict[str, dict]:
    out = gastown("config", "show", "--json", *flags, cwd=cwd, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return {row["key"]: row for row in json.loads(out.stdout)}


def test_precedence_file_env_flag_with_provenance(repo: Path, cli_env: dict[str, str]):
    user = Path(cli_env["XDG_CONFIG_HOME"]) / "gastown" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('maxPolecats = 2\nverifyCommand = "make check"\n[polecats]\nstallSeconds = 50\n')
    (repo / "gastown.toml").write_text('maxPolecats = 3\n[polecats]\nstallSeconds = 40\nmaxRestarts = 1\n')
    env = {**cli_env, "GASTOWN_MAX_POLECATS": "5", "GASTOWN_POLECATS__MAX_RESTARTS": "3"}

    rows = show(repo, env, "--max-polecats", "7", "--set", "polecats.sandbox=off", "--set", "turnTimeout=90")
    assert (rows["maxPolecats"]["value"], rows["maxPolecats"]["source"]) == (7, "command line")
    assert (rows["polecats.sandbox"]["value"], rows["polecats.sandbox"]["source"]) == ("off", "command line")
    assert rows["turnTimeout"]["value"] == 90
    assert (rows["polecats.maxRestarts"]["value"], rows["polecats.maxRestarts"]["source"]) == (3, "environment")
    assert rows["polecats.stallSeconds"]["value"] == 40
    assert rows["polecats.stallSeconds"]["source"] == f"repository file {repo / 'gastown.toml'}"
    assert rows["verifyCommand"]["value"] == "make check"
    assert rows["verifyCommand"]["source"] == f"user file {user}"
    assert (rows["autoMerge"]["value"], rows["autoMerge"]["source"]) == (True, "default")

    # Take the layers away one by one: each time the next one down shows through.
    assert (show(repo, env)["maxPolecats"]["value"], show(repo, env)["maxPolecats"]["source"]) == (5, "environment")
    assert show(repo, cli_env)["maxPolecats"]["value"] == 3
    (repo / "gastown.toml").unlink()
    assert show(repo, cli_env)["maxPolecats"]["source"] == f"user file {user}"
    user.unlink()
    assert show(repo, cli_env)["maxPolecats"] == {"key": "maxPolecats", "value": 4, "source": "default"}


def test_legacy_variables_still_work(repo: Path, cli_env: dict[str, str]):
    rows = show(repo, {**cli_env, "GASTOWN_SCENARIO": "/x/demo.json", "GASTOWN_MAX_POLECATS": "2"})
    assert rows["scenario"]["value"] == "/x/demo.json" and rows["maxPolecats"]["value"] == 2


def test_secrets_are_never_printed(repo: Path, cli_env: dict[str, str]):
    env = {**cli_env, "GASTOWN_PROVIDER__API_KEY": SECRET}
    rows = show(repo, env)
    assert rows["provider.apiKey"] == {"key": "provider.apiKey", "value": "***", "source": "environment"}
    text = gastown("config", "show", cwd=repo, env=env, timeout=60)
    assert text.returncode == 0 and "provider.apiKey" in text.stdout
    assert SECRET not in text.stdout + text.stderr
    # A key in the committed repository file is refused, naming the file; the key is not echoed.
    (repo / "gastown.toml").write_text(f'[provider]\ntype = "openai"\napiKey = "{SECRET}"\n')
    refused = gastown("config", "show", cwd=repo, env=cli_env, timeout=60)
    assert refused.returncode == 1
    assert "gastown.toml: provider.api_key is a secret" in refused.stderr and SECRET not in refused.stderr


def test_bad_values_name_their_source(repo: Path, cli_env: dict[str, str]):
    out = gastown("config", "show", "--set", "maxPolecats=lots", cwd=repo, env=cli_env, timeout=60)
    assert out.returncode == 1 and "maxPolecats = 'lots' (from command line)" in out.stderr
    out = gastown("config", "show", cwd=repo, env={**cli_env, "GASTOWN_POLECATS__STALL_SECONDS": "-1"}, timeout=60)
    assert out.returncode == 1 and "polecats.stallSeconds = '-1' (from environment)" in out.stderr
    out = gastown("config", "show", "--set", "maxPolecats", cwd=repo, env=cli_env, timeout=60)
    assert out.returncode == 1 and "expected KEY=VALUE" in out.stderr
    (repo / "gastown.toml").write_text("[polecats]\nstalSeconds = 3\n")
    out = gastown("config", "show", cwd=repo, env=cli_env, timeout=60)
    assert out.returncode == 1 and "unknown key 'stalSeconds'" in out.stderr and "Traceback" not in out.stderr
    usage = gastown("config", "show", "--no-such-flag", cwd=repo, env=cli_env, timeout=60)
    assert usage.returncode == 2 and "unrecognized arguments" in usage.stderr
