from __future__ import annotations

from pathlib import Path

import pytest

from gastown.config import ProviderSettings
from gastown.runtime.copilot_adapter import CopilotRuntime
from gastown.runtime.scripted_model import Scenario, ScriptedModelServer
from tests.conftest import copilot_cli


@pytest.fixture
async def scripted(tmp_path: Path):
    """Start a scripted model server with the given scenario and a real CLI pointed at it."""
    started: list[tuple[ScriptedModelServer, CopilotRuntime]] = []

    async def start(scenario: dict) -> tuple[ScriptedModelServer, CopilotRuntime]:
        server = ScriptedModelServer(Scenario.model_validate(scenario)).start()
        runtime = CopilotRuntime(
            ProviderSettings(type="openai", base_url=server.base_url, model="scripted", api_key="x"),
            cli_path=copilot_cli(), base_directory=tmp_path / "copilot-home")
        started.append((server, runtime))
        return server, runtime

    yield start
    for server, runtime in started:
        await runtime.stop()
        server.stop()


@pytest.fixture
async def town_of(tmp_path: Path):
    """A Town on a fresh sample repository playing ``scenario`` (a dict) on the scripted model, with the
    real CLI; closed (CLI, model server, git helpers) at the end of the test."""
    import json
    import sys

    from gastown.config import Settings
    from gastown.demo import make_sample_repo
    from gastown.town.bus import Bus
    from gastown.town.town import Town

    towns: list[Town] = []

    async def make(scenario: dict, *, polecats: dict | None = None, bus: Bus | None = None, **settings) -> Town:
        n = len(towns)
        repo = tmp_path / f"repo{n}"
        if not repo.exists():
            make_sample_repo(repo)
        path = tmp_path / f"scenario{n}.json"
        path.write_text(json.dumps({"model": "scripted", **scenario}))
        cfg = Settings.model_validate({
            "scenario": str(path), "worktreeRoot": str(tmp_path / f"worktrees{n}"), "cliPath": copilot_cli(),
            "verifyCommand": f"{sys.executable} -m unittest discover -q", "turnTimeout": 60,
            "polecats": polecats or {}, **settings})
        town = Town(repo, cfg, bus or Bus())
        towns.append(town)
        return await town.open()

    yield make
    for town in towns:
        await town.close()
