"""Many polecats at once through the Town: one CLI, pooled worktrees, the configured permission policy,
run records, exactly one live polecat per bead, and the status/worktrees/gc commands over the result."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from gastown.cli import main as cli_main
from gastown.town.polecat import polecat_name
from gastown.town.records import PolecatBusy, derive_state
from tests.conftest import child_pids
from tests.support import eventually

N = 6

SCENARIO = {"rules": [
    {"name": "worker", "match": r"Title: Parallel (?P<n>\d+)\b.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/p{{n}}.py",
                                                          "file_text": "VALUE = {{n}}\n"}}]},
        {"tool_calls": [{"name": "bash", "arguments": {
            "command": "python3 -c 'import p{{n}}; print(p{{n}}.VALUE * 2)' > out{{n}}.txt",
            "description": "run it"}}]},
        {"tool_calls": [{"name": "bead_comment", "arguments": {"text": "p{{n}} computed"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "p{{n}} written and run"}}]},
        {"text": "Done."},
    ]},
    {"name": "rogue", "match": r"Title: Rogue.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{workspace}}/hacked.txt", "file_text": "x"}}]},
        {"tool_calls": [{"name": "bash", "arguments": {"command": "git push origin HEAD", "description": "push"}}]},
        {"tool_calls": [{"name": "bash", "arguments": {"command": "rm -rf build", "description": "clean"}}]},
        {"tool_calls": [{"name": "bead_create", "arguments": {"title": "Found a flaky test",
                                                               "description": "seen while working"}}]},
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/rogue.txt", "file_text": "ok\n"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "rogue.txt"}}]},
        {"text": "Done."},
    ]},
]}


async def test_many_polecats_in_parallel_confined_and_recorded(tmp_path: Path, town_of, capsys):
    before = child_pids()
    repo = tmp_path / "repo0"
    scenario = json.loads(json.dumps(SCENARIO).replace("{{workspace}}", str(repo)))
    town = await town_of(scenario, polecats={"denyCommands": [r"\brm\s+-rf\b"]}, maxPolecats=N + 1)
    store, records = town.store, town.records
    epic = await store.create("Parallel goal", issue_type="epic")
    beads = [await store.create(f"Parallel {i}", parent=epic.id) for i in range(N)]
    rogue = await store.create("Rogue", parent=epic.id)
    claimed = [await store.claim(b.id, polecat_name(b.id)) for b in [*beads, rogue]]

    # All at once, plus a second polecat for the first bead: exactly one of the two may run.
    outcomes = await asyncio.gather(*(town.dispatcher.run_polecat(b) for b in claimed),
                                    town.dispatcher.run_polecat(claimed[0]), return_exceptions=True)
    busy = [o for o in outcomes if isinstance(o, PolecatBusy)]
    results = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(busy) == 1 and len(results) == N + 1, outcomes
    by_bead = {r.bead_id: r for r in results}

    git = town.worktrees.repo.text
    for i, bead in enumerate(beads):
        r = by_bead[bead.id]
        assert r.commit and r.branch == f"polecat/{bead.id}" and r.summary == f"p{i} written and run"
        assert sorted(r.files) == [f"out{i}.txt", f"p{i}.py"]
        assert git("show", f"{r.commit}:out{i}.txt").strip() == str(2 * i)  # the allowed command ran
        assert git("rev-parse", f"{r.commit}~1") == town.worktrees.integration_head()
        assert any(c.text == f"p{i} computed" and c.author == polecat_name(bead.id)
                   for c in (await store.get(bead.id)).comments or [])

    # The rogue was confined: nothing in the user's workspace, every decision recorded with its reason.
    assert by_bead[rogue.id].files == ["rogue.txt"]
    assert not (repo / "hacked.txt").exists()
    rogue_run = (await records.runs(rogue.id))[-1]
    decisions = [(e["tool"], e["approved"], e["text"]) for e in await records.events(rogue_run.id)
                 if e["kind"] == "permission"]
    assert any(k == "write" and not ok and "outside" in why for k, ok, why in decisions), decisions
    assert any(k == "shell" and not ok and "git push" in why for k, ok, why in decisions), decisions
    assert any(k == "shell" and not ok and r"rm\s+-rf" in why for k, ok, why in decisions), decisions
    assert ("write", True, "write inside the worktree") in decisions
    # Discovered work is filed, linked discovered-from the rogue's bead.
    found = [b for b in await store.list() if b.title == "Found a flaky test"]
    assert len(found) == 1 and any(d.depends_on_id == rogue.id and d.type == "discovered-from"
                                   for d in found[0].dependencies or [])

    # Run records: one finished run per bead with a session, tokens and events; state derived = done.
    runs = await records.latest_runs()
    assert {r.bead_id for r in runs} == {b.id for b in [*beads, rogue]}
    assert all(r.exit_reason == "done" and derive_state(r) == "done" and not r.live for r in runs)
    assert all(r.session_id and r.tokens > 0 and r.events >= 5 and r.spawn_ms for r in runs)
    assert all(town.agents[polecat_name(r.bead_id)].run_id == r.id for r in runs)

    # Second wave: the idle worktrees are reused (reset and cleaned), none is added.
    slots = sorted(p.name for p in town.worktrees.root.glob("wt-*"))
    assert len(slots) == N + 1
    wave2 = [await store.create(f"Parallel {i}", parent=epic.id) for i in range(N, N + 3)]
    claimed2 = [await store.claim(b.id, polecat_name(b.id)) for b in wave2]
    seated = town.seats.taken
    results2 = await asyncio.gather(*(town.dispatcher.run_polecat(b) for b in claimed2))
    assert all(r.commit for r in results2)
    # Their sessions were started ahead of time on the idle slots (seats), and still did the work.
    assert town.seats.taken - seated == len(wave2)
    assert sorted(p.name for p in town.worktrees.root.glob("wt-*")) == slots
    for r in results2:
        run = (await records.runs(r.bead_id))[-1]
        assert Path(run.worktree).name in slots
        tree = git("ls-tree", "-r", "--name-only", r.commit).splitlines()
        # Nothing of the slot's previous bead leaked into this one's commit.
        assert sorted(f for f in tree if re.fullmatch(r"p\d+\.py|out\d+\.txt", f)) == sorted(r.files)

    # Shut down: no CLI, git or model-server process outlives the town.
    await town.close()
    await eventually(lambda: not child_pids() - before, timeout=10, what="no process outlives the town")

    # The terminal views read the same records.
    assert await asyncio.to_thread(cli_main, ["status", "--workspace", str(repo), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {r["state"] for r in status["runs"]} == {"done"} and len(status["runs"]) == N + 4
    assert await asyncio.to_thread(cli_main, ["worktrees", "--workspace", str(repo), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert sorted(e["name"] for e in listing["worktrees"] if e["name"].startswith("wt-")) == slots
    assert all(e["state"] == "idle" and not e["dirty"] for e in listing["worktrees"] if e["name"] in slots)
