"""`gastown doctor` on a good set-up and on broken ones: the right ✘, its fix, the exit code, --json."""

from __future__ import annotations

import json
from pathlib import Path

from gastown.runtime.cli_path import CLI_INSTALL
from tests.cli.conftest import gastown

BYOK = ("--provider-type", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "scripted")


def doctor(cwd: Path, env: dict[str, str], *flags: str) -> tuple[int, dict[str, dict], str]:
    out = gastown("doctor", "--json", *flags, cwd=cwd, env=env, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] == (out.returncode == 0), out.stdout
    text = gastown("doctor", *flags, cwd=cwd, env=env, timeout=120)
    assert text.returncode == out.returncode
    return out.returncode, {c["name"]: c for c in report["checks"]}, text.stdout


def test_a_good_setup_passes(repo: Path, cli_env: dict[str, str]):
    code, checks, text = doctor(repo, cli_env, *BYOK)
    assert code == 0, checks
    for name in ("config", "python", "git", "repository", "copilot-cli", "model", "sandbox", "checkouts", "ledger"):
        assert name in checks
        assert checks[name]["ok"] or checks[name]["level"] == "warning", checks[name]
    assert "1.0.102" in checks["copilot-cli"]["detail"]
    assert "BYOK openai at http://127.0.0.1:9/v1" in checks["model"]["detail"]
    assert "✔ repository" in text and "✘" not in text


def test_missing_cli(repo: Path, cli_env: dict[str, str]):
    code, checks, text = doctor(repo, cli_env, *BYOK, "--cli-path", str(repo / "no-such-copilot"))
    assert code == 1
    cli = checks["copilot-cli"]
    assert not cli["ok"] and cli["level"] == "error" and "no-such-copilot" in cli["detail"]
    assert cli["fix"].startswith(CLI_INSTALL) and CLI_INSTALL == "npm install -g @github/copilot@1.0.102"
    assert "✘ copilot-cli" in text and f"fix: {CLI_INSTALL}" in text
    assert checks["repository"]["ok"]


def test_not_a_git_repository(tmp_path: Path, cli_env: dict[str, str]):
    folder = tmp_path / "plain"
    folder.mkdir()
    code, checks, text = doctor(folder, cli_env, *BYOK)
    assert code == 1
    assert not checks["repository"]["ok"] and "is not a git repository" in checks["repository"]["detail"]
    assert "git init" in checks["repository"]["fix"]
    assert "✘ repository" in text
    assert not (folder / ".gastown").exists()  # a check writes nothing


def test_corrupt_ledger(repo: Path, cli_env: dict[str, str]):
    made = gastown("bead", "create", "something", cwd=repo, env=cli_env, timeout=60)
    assert made.returncode == 0, made.stderr
    code, checks, _ = doctor(repo, cli_env, *BYOK)
    assert code == 0 and "1 beads" in checks["ledger"]["detail"]
    db = repo / ".gastown" / "beads.db"
    for extra in (db.with_name("beads.db-wal"), db.with_name("beads.db-shm")):
        extra.unlink(missing_ok=True)
    db.write_bytes(b"this is not a database, it was overwritten\n" * 200)
    code, checks, text = doctor(repo, cli_env, *BYOK)
    assert code == 1
    assert not checks["ledger"]["ok"] and "gastown bead rebuild" in checks["ledger"]["fix"]
    assert "✘ ledger" in text
    # The fix it names works.
    fixed = gastown("bead", "rebuild", cwd=repo, env=cli_env, timeout=60)
    assert fixed.returncode == 0, fixed.stderr
    code, checks, _ = doctor(repo, cli_env, *BYOK)
    assert code == 0 and checks["ledger"]["ok"]


def test_copilot_mode_without_a_login(repo: Path, cli_env: dict[str, str]):
    """The CLI itself is asked (auth.getStatus) in a private home with no token: not logged in."""
    code, checks, text = doctor(repo, cli_env)
    assert code == 1
    model = checks["model"]
    assert not model["ok"] and "not logged in" in model["detail"]
    assert "/login" in model["fix"] and "provider.baseUrl" in model["fix"]
    # A token in the environment counts (not checked against GitHub: it is the CLI's to use).
    code, checks, _ = doctor(repo, {**cli_env, "GH_TOKEN": "ghu_not_a_real_token"})
    assert code == 0 and "GH_TOKEN" in checks["model"]["detail"]
