"""The terminal client as a user runs it: `python -m gastown …` processes with a private home (no login, no
user settings, no GASTOWN_* from the machine), real git, the real Copilot CLI, the scripted model server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gastown.demo import make_sample_repo
from tests.conftest import REPO_ROOT, copilot_cli

IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}
TOKENS = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of every `gastown` process of a test (extend it per call)."""
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("")
    (tmp_path / "home").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GASTOWN_") and k not in TOKENS}
    env.update(IDENTITY)
    env.update({
        "HOME": str(tmp_path / "home"),  # the CLI's home (and login) is private: no login here
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),  # the user file: ~/.config/gastown/config.toml
        "XDG_STATE_HOME": str(tmp_path / "state"),  # default checkout root
        # The CLI unpacks its package (≈235 MB) under the cache: share the machine's.
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
        "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1",
        "COPILOT_CLI_PATH": copilot_cli(), "PYTHONPATH": str(REPO_ROOT / "server"), "COLUMNS": "200",
    })
    return env


def gastown(*args: str, cwd: Path, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gastown", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def popen(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gastown", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, cli_env: dict[str, str]) -> Path:
    old = {k: os.environ.get(k) for k in (*IDENTITY, "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")}
    os.environ.update({k: cli_env[k] for k in old})
    try:
        return make_sample_repo(tmp_path / "calc")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def write_scenario(path: Path, scenario: dict) -> Path:
    path.write_text(json.dumps({"model": "scripted", **scenario}))
    return path


def verify_command() -> str:
    return f"{sys.executable} -m unittest discover -q"
