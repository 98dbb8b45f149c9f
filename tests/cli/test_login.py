"""What a terminal user is told when the Copilot CLI is missing, or when there is no login and no BYOK: the
exact install command; how to log in or configure BYOK — not the SDK's raw error."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import gastown

RAW = "Execution failed: InvalidArg, No GitHub OAuth token or Copilot HMAC key provided"


def test_no_login_says_how_to_log_in_or_use_byok(repo: Path, cli_env: dict[str, str]):
    """The real CLI, provider copilot, a private home with no login and no token: it fails fast."""
    out = gastown("run", "Add a subtract function", cwd=repo, env=cli_env, timeout=120)
    assert out.returncode == 1
    err = out.stderr
    assert "gastown: error: GitHub Copilot is not logged in here" in err and "Traceback" not in err
    assert "/login" in err and "COPILOT_GITHUB_TOKEN" in err and "provider.baseUrl" in err
    assert RAW in err  # kept, after the explanation, for a search engine


def test_missing_cli_gives_the_install_command(repo: Path, cli_env: dict[str, str]):
    env = {**cli_env, "COPILOT_CLI_PATH": ""}
    out = gastown("run", "x", "--cli-path", str(repo / "no-such-copilot"), cwd=repo, env=env, timeout=60)
    assert out.returncode == 1
    assert "npm install -g @github/copilot@1.0.102" in out.stderr and "no-such-copilot" in out.stderr
    assert "Traceback" not in out.stderr
