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
