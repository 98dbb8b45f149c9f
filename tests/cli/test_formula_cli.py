"""`gastown formula list | show | run` as a user runs them: processes with a private home, real git, and for
the full run the real Copilot CLI with the scripted model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.conftest import gastown, git, verify_command, write_scenario
from tests.scenario_kit import create, done, polecat_rule, say

FIXTURES = Path(__file__).parent.parent / "formulas" / "fixtures"


def project_formulas(repo: Path, *names: str) -> Path:
    folder = repo / ".beads" / "formulas"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(FIXTURES / f"{name}.formula.toml", folder)
    return folder


def test_list_and_show_from_builtin_user_and_project(repo: Path, cli_env: dict[str, str]):
    user = Path(cli_env["HOME"]) / ".beads" / "formulas"
    user.mkdir(parents=True)
    shutil.copy(FIXTURES / "quick-check.formula.toml", user)
    folder = project_formulas(repo, "feature-workflow", "release")
    (folder / "broken.formula.toml").write_text('formula = "broken"\n[[steps]]\nid = "a"\ntitle = "A {{who}}"\n')

    listed = gastown("formula", "list", "--json", cwd=repo, env=cli_env)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    origins = {f["name"]: f["origin"] for f in data["formulas"]}
    assert origins == {"bugfix": "builtin", "docs": "builtin", "feature": "builtin", "refactor": "builtin",
                       "release": "project", "feature-workflow": "project", "quick-check": "user"}
    assert "line 4: steps[0] (a).title: unknown variable {{who}}" in data["problems"]["broken"]

    text = gastown("formula", "list", cwd=repo, env=cli_env)
    assert text.returncode == 0 and "feature-workflow" in text.stdout and "feature_name*" in text.stdout
    assert "broken.formula.toml: line 4" in text.stdout

    shown = gastown("formula", "show", "feature-workflow", cwd=repo, env=cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "feature_name (required): Name of the feature to implement" in shown.stdout
    assert "design: Design {{feature_name}} [human]" in shown.stdout
    assert "review: Code review [human] needs test" in shown.stdout


def test_run_refuses_bad_variables_and_formulas_and_writes_nothing(repo: Path, cli_env: dict[str, str]):
    project_formulas(repo, "release")
    cases = [
        (["release"], "vars.version: required variable is missing (--var version=…)"),
        (["release", "--var", "version=1.2"], "vars.version: '1.2' does not match the pattern"),
        (["release", "--var", "version=1.2.0", "--var", "channel=beta"], "vars.channel: unknown variable"),
        (["release", "--var", "version"], "--var 'version': expected NAME=VALUE"),
        (["nope"], "no formula named 'nope'"),
    ]
    for args, message in cases:
        run = gastown("formula", "run", *args, cwd=repo, env=cli_env)
        assert run.returncode == 1, run.stdout
        assert message in run.stderr
    assert not (repo / ".gastown").exists()
    assert not (repo / ".beads" / "issues.jsonl").exists()


def test_pour_only_writes_the_epic_and_beads(repo: Path, cli_env: dict[str, str]):
    project_formulas(repo, "feature-workflow")
    run = gastown("formula", "run", "feature-workflow", "--var", "feature_name=CSV export", "--pour-only", "--json",
                  cwd=repo, env=cli_env)
    assert run.returncode == 0, run.stderr
    poured = json.loads(run.stdout)
    assert len(poured["bead_ids"]) == 5
    shown = gastown("bead", "show", poured["bead_ids"][1], "--json", cwd=repo, env=cli_env)
    bead = json.loads(shown.stdout)
    assert bead["title"] == "Implement CSV export"
    assert [d["depends_on_id"] for d in bead["dependencies"] if d["type"] == "blocks"] == [poured["bead_ids"][0]]
    design = json.loads(gastown("bead", "show", poured["bead_ids"][0], "--json", cwd=repo, env=cli_env).stdout)
    assert "human" in design["labels"]


def test_run_a_formula_to_merged(repo: Path, cli_env: dict[str, str], tmp_path: Path):
    project_formulas(repo, "quick-check")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "quick-check formula")
    rules = [polecat_rule(title, [create(name, f"{title}\n"), done(f"{name} written"), say()])
             for title, name in (("Run linter", "LINT.md"), ("Run tests", "TESTS.md"), ("Build project", "BUILD.md"),
                                 ("Report results", "REPORT.md"))]
    scenario = write_scenario(tmp_path / "quick.json", {"rules": rules})
    run = gastown("formula", "run", "quick-check", "--json", "--scenario", str(scenario),
                  "--verify-command", verify_command(), "--worktree-root", str(tmp_path / "wt"), cwd=repo,
                  env=cli_env)
    assert run.returncode == 0, run.stderr[-2000:]
    [report] = json.loads(run.stdout)
    assert report["ok"] and report["closed"] == 4 and report["merged"] == 4
    shipped = git(repo, "ls-tree", "-r", "--name-only", "gastown/integration").split()
    assert {"LINT.md", "TESTS.md", "BUILD.md", "REPORT.md"} <= set(shipped)
    assert "Formula quick-check: poured" in run.stderr
