"""A real polecat: real Copilot CLI + SDK, scripted model, real git worktree."""

from __future__ import annotations

import json
from pathlib import Path

from gastown.demo import make_sample_repo
from gastown.ledger.model import Bead
from gastown.town.checkouts import Worktrees
from gastown.town.polecat import Polecat
from gastown.vcs.repo import open_repo

SCENARIO = {"rules": [{"match": r"Title: Write hello.*?Worktree: (?P<wt>\S+)", "steps": [
    {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/hello.py", "file_text": "print('hi')\n"}}]},
    {"tool_calls": [{"name": "create", "arguments": {"path": "{{outside}}", "file_text": "escaped"}}]},
    {"tool_calls": [{"name": "bash", "arguments": {"command": "git push origin main", "description": "push"}}]},
    {"tool_calls": [{"name": "bash", "arguments": {"command": "python3 hello.py > out.txt", "description": "run"}}]},
    {"tool_calls": [{"name": "report_done", "arguments": {"summary": "hello.py written"}}]},
    {"text": "Done."},
]}]}


async def test_polecat_writes_in_its_worktree_and_is_confined(tmp_path: Path, scripted):
    outside = tmp_path / "outside.py"
    scenario = json.loads(json.dumps(SCENARIO).replace("{{outside}}", str(outside)))
    server, runtime = await scripted(scenario)
    repo = make_sample_repo(tmp_path / "repo")
    worktrees = Worktrees(open_repo(repo), tmp_path / "worktrees", "gastown/integration")
    base = worktrees.ensure_integration()
    events = []
    bead = Bead(id="gt-test", title="Write hello", acceptance_criteria="hello.py prints hi")

    try:
        result = await Polecat(bead, runtime, worktrees, turn_timeout=60, on_event=events.append).run()
        git = worktrees.repo.text
        log = git("log", "-1", "--format=%B", result.commit)
        parent = git("rev-parse", f"{result.commit}~1")
        shown = {name: git("show", f"{result.commit}:{name}") for name in ("hello.py", "out.txt")}
    finally:
        worktrees.close()

    # The work is committed on the polecat's branch, outside the workspace folder, and nothing leaked.
    assert result.commit and result.branch == "polecat/gt-test"
    assert sorted(result.files) == ["hello.py", "out.txt"]
    assert shown == {"hello.py": "print('hi')", "out.txt": "hi"}
    assert "Bead: gt-test" in log
    assert parent == base
    assert not outside.exists()
    assert not (repo / "hello.py").exists()  # the user's working tree is untouched
    assert result.summary == "hello.py written"

    # Every permission decision was recorded; the denied ones say why.
    decisions = [(e.tool, e.approved, e.text) for e in events if e.kind == "permission"]
    assert ("write", True, "write inside the worktree") in decisions
    assert any(kind == "write" and not ok and "outside" in why for kind, ok, why in decisions)
    assert any(kind == "shell" and not ok and "git push" in why for kind, ok, why in decisions)
    assert any(kind == "shell" and ok for kind, ok, _ in decisions)

    # The model was told about the rejection (the CLI sent the tool result back).
    tool_results = [m for req in server.requests for m in req["messages"] if m.get("role") == "tool"]
    assert any("denied" in json.dumps(m) or "reject" in json.dumps(m).lower() for m in tool_results)
