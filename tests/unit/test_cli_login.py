"""The CLI's raw "no login" error becomes a message saying what to do; other errors pass through."""

from __future__ import annotations

from gastown.errors import GastownError
from gastown.runtime.base import AgentRuntimeError
from gastown.runtime.cli_path import CLI_INSTALL, CliMissing, NotLoggedIn, login_error, resolve_cli_path

RAW = "Execution failed: InvalidArg, No GitHub OAuth token or Copilot HMAC key provided"


def test_the_raw_login_error_is_translated():
    err = login_error(RAW)
    assert isinstance(err, NotLoggedIn) and isinstance(err, AgentRuntimeError) and isinstance(err, GastownError)
    text = str(err)
    assert text.startswith("GitHub Copilot is not logged in here: log in once with `copilot` and type /login")
    assert "provider.type = openai|azure|anthropic" in text and text.endswith(f"(The Copilot CLI said: {RAW})")


def test_other_errors_are_left_alone():
    assert login_error("Execution failed: model gpt-9 not found") is None
    assert login_error("") is None


def test_a_missing_cli_names_the_pinned_install_command(tmp_path, monkeypatch):
    monkeypatch.delenv("COPILOT_CLI_PATH", raising=False)
    try:
        resolve_cli_path(str(tmp_path / "nope"))
    except CliMissing as exc:
        assert CLI_INSTALL == "npm install -g @github/copilot@1.0.102" and CLI_INSTALL in str(exc)
        assert str(tmp_path / "nope") in str(exc)
    else:
        raise AssertionError("a missing cliPath was accepted")
