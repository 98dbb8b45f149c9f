"""Pouring formulas in a real town: the beads and dependencies a formula makes, human steps the dispatcher
never gives to a polecat (they block what needs them until the Overseer closes them), a built-in run to
merged with the scripted model, and bad formulas or variables that write nothing."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from gastown.formulas import FormulaError
from gastown.ledger.model import DepType, Status
from gastown.town.bus import HumanStepReady, PlanProposed
from gastown.town.snapshot import take_snapshot
from gastown.town.town import Town
from tests.scenario_kit import create, done, mayor_rule, polecat_rule, say, write
from tests.support import eventually
from tests.town.conftest import git

FIXTURES = Path(__file__).parent.parent / "formulas" / "fixtures"


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch):
    """No formulas from the machine's ~/.beads/formulas."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def add_project_formula(repo: Path, name: str, text: str | None = None) -> None:
    folder = repo / ".beads" / "formulas"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.formula.toml"
    if text is None:
        shutil.copy(FIXTURES / f"{name}.formula.toml", target)
    else:
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"formula {name}")


def polecat(title: str, rel: str) -> dict:
    return polecat_rule(title, [create(rel, f"# {title}\n"), done(f"{rel} written"), say()])


async def test_bad_formulas_and_variables_write_nothing(plain_town: Town):
    town = plain_town
    add_project_formula(town.workspace, "feature-workflow")
    add_project_formula(town.workspace, "broken", 'formula = "broken"\n[[steps]]\nid = "a"\ntitle = "A"\n'
                        'needs = ["b"]\n[[steps]]\nid = "b"\ntitle = "B"\nneeds = ["a"]\n')
    cases = [
        ("feature-workflow", {}, r"vars\.feature_name: required variable is missing"),
        ("feature-workflow", {"feature_name": "x", "colour": "red"}, r"vars\.colour: unknown variable"),
        ("broken", {}, r"broken\.formula\.toml: line 5: steps\[0\] \(a\)\.needs: a needs cycle: a -> b -> a"),
        ("nope", {}, "no formula named 'nope'"),
    ]
    for name, values, message in cases:
        with pytest.raises(FormulaError, match=message):
            await town.pour_formula(name, values)
    assert await town.store.list() == []
    assert town.dispatcher.goals == {}


@pytest.mark.runtime
async def test_feature_workflow_human_steps_block_until_the_overseer_closes_them(make_town, tmp_path: Path):
    from gastown.demo import make_sample_repo

    repo = make_sample_repo(tmp_path / "calc")
    add_project_formula(repo, "feature-workflow")
    town: Town = await make_town({"rules": [
        polecat("Implement CSV export", "calc/csv_export.py"),
        polecat("Run test suite", "TESTING.md"),
        polecat("Merge to main", "MERGED.md"),
    ]}, repo=repo)
    told: list[HumanStepReady] = []
    town.bus.subscribe(lambda e: told.append(e) if isinstance(e, HumanStepReady) else None)

    _, epic, beads, job = await town.pour_formula("feature-workflow", {"feature_name": "CSV export"})
    by_key = {(b.metadata or {})["plan_key"]: b for b in beads}
    assert list(by_key) == ["design", "implement", "test", "review", "merge"]
    assert by_key["design"].title == "Design CSV export" and by_key["implement"].title == "Implement CSV export"
    assert epic.issue_type == "epic" and (epic.metadata or {})["formula"] == "feature-workflow"
    assert (epic.metadata or {})["formula_vars"] == {"feature_name": "CSV export"}
    assert [k for k, b in by_key.items() if "human" in (b.labels or [])] == ["design", "review"]
    deps = {k: [(d.depends_on_id, d.type) for d in b.dependencies or [] if d.type == DepType.BLOCKS]
            for k, b in by_key.items()}
    assert deps == {"design": [], "implement": [(by_key["design"].id, DepType.BLOCKS)],
                    "test": [(by_key["implement"].id, DepType.BLOCKS)],
                    "review": [(by_key["test"].id, DepType.BLOCKS)],
                    "merge": [(by_key["review"].id, DepType.BLOCKS)]}
    assert all(b.parent_id == epic.id for b in beads)

    # The design step is the Overseer's: announced, never claimed; implement stays blocked behind it.
    await eventually(lambda: [e.bead_id for e in told] == [by_key["design"].id])
    store = town.store
    design = await store.get(by_key["design"].id)
    assert design.status == Status.OPEN and design.assignee is None
    assert town.dispatcher.running == {}
    assert by_key["implement"].id not in {b.id for b in await store.ready()}
    snap = await take_snapshot(town.workspace)
    assert [(n.bead_id, n.why) for n in snap.needs_you] == [(by_key["design"].id, "human")]
    assert not job.done()

    await store.close_bead(by_key["design"].id, reason="design agreed", actor="overseer")
    # implement and test run and merge; then the review step waits for the Overseer.
    await eventually(lambda: [e.bead_id for e in told][-1:] == [by_key["review"].id], timeout=90)
    for key in ("implement", "test"):
        assert (await store.get(by_key[key].id)).status == Status.CLOSED
    for key in ("review", "merge"):
        bead = await store.get(by_key[key].id)
        assert bead.status == Status.OPEN and bead.assignee is None
    assert not job.done()
    runs = await town.records.latest_runs()
    assert {r.bead_id for r in runs} == {by_key["implement"].id, by_key["test"].id}

    await store.close_bead(by_key["review"].id, reason="approved", actor="overseer")
    report = await asyncio.wait_for(job, 90)
    assert report.ok and report.closed == 5 and report.merged == 3
    assert (await store.get(epic.id)).status == Status.CLOSED
    shipped = git(repo, "ls-tree", "-r", "--name-only", town.worktrees.integration).split()
    assert {"calc/csv_export.py", "TESTING.md", "MERGED.md"} <= set(shipped)
    assert {r.bead_id for r in await town.records.latest_runs()} == {
        by_key["implement"].id, by_key["test"].id, by_key["merge"].id}


@pytest.mark.runtime
async def test_a_builtin_formula_runs_to_merged(make_town):
    bug = "dividing by zero crashes"
    test = ("import unittest\n\n\nclass DivZero(unittest.TestCase):\n{mark}    def test_div_zero(self):\n"
            "        from calc.div import div\n        self.assertIsNone(div(1, 0))\n")
    town: Town = await make_town({"rules": [
        polecat_rule(f"Regression test: {bug}", [
            create("tests/test_div_zero.py", test.format(mark="    @unittest.expectedFailure\n")),
            done("regression test, expected failure"), say()]),
        # The fix must drop the expected-failure mark (the formula says so): an unexpected success fails the
        # Refinery's verification.
        polecat_rule(f"Fix: {bug}", [
            create("calc/div.py", '"""div."""\n\n\ndef div(a, b):\n    return None if b == 0 else a / b\n'),
            write("tests/test_div_zero.py", test.format(mark="")),
            done("fixed"), say()]),
        polecat(f"Changelog entry: {bug}", "CHANGELOG.md"),
    ]})
    _, epic, beads, job = await town.pour_formula("bugfix", {"bug": bug})
    assert [b.title for b in beads] == [f"Regression test: {bug}", f"Fix: {bug}", f"Changelog entry: {bug}"]
    assert all((b.acceptance_criteria or "").strip() for b in beads)
    report = await asyncio.wait_for(job, 120)
    assert report.ok, report
    assert report.closed == 3 and report.merged == 3
    assert (await town.store.get(epic.id)).status == Status.CLOSED
    log = git(town.workspace, "log", "--format=%B", town.worktrees.integration)
    assert all(b.id in log for b in beads)


@pytest.mark.runtime
async def test_the_mayor_is_offered_the_formulas_and_pours_one_with_the_plans_validation(make_town):
    bad = {"tool_calls": [{"name": "pour_formula", "arguments": {"name": "bugfix", "vars": {"where": "calc"}}}]}
    good = {"tool_calls": [{"name": "pour_formula", "arguments": {
        "name": "bugfix", "vars": {"bug": "add ignores floats", "where": "calc/__init__.py"}}}]}
    town: Town = await make_town({"rules": [mayor_rule(bad, good, say("Poured the bugfix formula."))]})
    proposals: list[PlanProposed] = []
    town.bus.subscribe(lambda e: proposals.append(e) if isinstance(e, PlanProposed) else None)

    epic, beads = await town.plan("Fix: add ignores floats", "g1")

    assert [(p.attempt, p.accepted) for p in proposals] == [(1, False), (2, True)]
    assert proposals[0].problems == ["formula bugfix: vars.bug: required variable is missing (--var bug=…) — "
                                     "What goes wrong, in a sentence (e.g. \"divide by zero crashes the "
                                     "calculator\")"]
    assert [b.title for b in beads] == ["Regression test: add ignores floats", "Fix: add ignores floats",
                                        "Changelog entry: add ignores floats"]
    assert (epic.metadata or {})["goal"] == "Fix: add ignores floats"
    assert (epic.metadata or {})["formula"] == "bugfix"
    assert [d.depends_on_id for d in beads[1].dependencies or [] if d.type == DepType.BLOCKS] == [beads[0].id]
    assert town.model_server is not None
    asked = town.model_server.requests[0]
    prompt = json.dumps(asked)
    assert "bugfix(bug*, where)" in prompt and "pour_formula" in prompt
    tools = {t["function"]["name"] for t in asked.get("tools", [])}
    assert {"propose_plan", "pour_formula"} <= tools
