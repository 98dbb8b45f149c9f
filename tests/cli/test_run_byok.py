"""BYOK from the repository file: `gastown run` with provider type openai at the scripted model server
(started here, as any OpenAI-compatible endpoint would be), no scenario setting, the key in the environment:
the goal is merged, and the key never appears in what the commands print."""

from __future__ import annotations

import json
from pathlib import Path

from gastown.runtime.scripted_model import Scenario, ScriptedModelServer
from tests.cli.conftest import gastown, git, verify_command
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task

SECRET = "sk-byok-never-printed-0815"
SUB = '"""sub."""\n\n\ndef sub(a, b):\n    return a - b\n'
SCENARIO = {"model": "byok-model", "rules": [
    mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say("Planned.")),
    polecat_rule("Add subtract", [create("calc/sub.py", SUB), done("sub added"), say()]),
]}


def test_byok_openai_provider_from_the_repository_file(repo: Path, cli_env: dict[str, str]):
    server = ScriptedModelServer(Scenario.model_validate(SCENARIO)).start()
    try:
        (repo / "gastown.toml").write_text(
            f'verifyCommand = {json.dumps(verify_command())}\nmaxPolecats = 2\n'
            f'[provider]\ntype = "openai"\nbaseUrl = "{server.base_url}"\nmodel = "byok-model"\n')
        env = {**cli_env, "GASTOWN_PROVIDER__API_KEY": SECRET}
        shown = gastown("config", "show", "--json", cwd=repo, env=env, timeout=60)
        rows = {r["key"]: r for r in json.loads(shown.stdout)}
        assert rows["provider.baseUrl"]["source"] == f"repository file {repo / 'gastown.toml'}"
        assert rows["scenario"]["value"] is None

        out = gastown("run", "Add a subtract function", "--json", cwd=repo, env=env, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        [report] = json.loads(out.stdout)  # stdout is the report alone; progress went to stderr
        assert report["ok"] and report["beads"] == report["closed"] == report["merged"] == 1, report
        assert "Mayor: planned" in out.stderr
        assert SECRET not in out.stdout + out.stderr + shown.stdout + shown.stderr
        # The model server played the scenario: the Mayor and the polecat asked it, for the configured model.
        assert server.requests and all(r.get("model") == "byok-model" for r in server.requests)
        assert git(repo, "show", "gastown/integration:calc/sub.py") == SUB
        beads = json.loads(gastown("bead", "list", "--json", cwd=repo, env=env, timeout=60).stdout)
        assert [b["status"] for b in beads if b["issue_type"] != "epic"] == ["closed"]
    finally:
        server.stop()
