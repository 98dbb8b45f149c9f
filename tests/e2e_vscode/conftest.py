"""Fixtures for the real-VS Code test: a sample repository to open, and the offline model's scenario."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def demo_workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """(workspace, env): the demo's sample repository, and an environment that makes the language server
    play the demo scenario on its scripted local model (GASTOWN_SCENARIO) with its state in tmp_path."""
    from gastown.demo import DEMO_SCENARIO, make_sample_repo

    workspace = make_sample_repo(tmp_path / "calc")
    state = tmp_path / "xdg-state"
    state.mkdir()
    env = {
        **os.environ,
        "GASTOWN_SCENARIO": str(DEMO_SCENARIO),
        # Polecat worktrees go under $XDG_STATE_HOME/gastown: keep them out of the real home.
        "XDG_STATE_HOME": str(state),
    }
    return workspace, env
