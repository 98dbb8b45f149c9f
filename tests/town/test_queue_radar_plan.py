"""Pure parts of the Mayor and the Refinery: plan parsing, merge-queue order, the radar's overlap rules."""

from __future__ import annotations

from pathlib import Path

from gastown.town.bus import AgentEventRecord
from gastown.town.plan import Plan, PlanDraft, parse_plan
from gastown.town.queue import MergeRequest, merge_order
from gastown.town.radar import ConflictRadar, overlap


def good_task(key: str, **extra) -> dict:
    return {"key": key, "title": f"do {key}", "acceptance_criteria": "it works", **extra}


def test_parse_plan_names_unknown_fields_missing_criteria_and_graph_problems():
    plan, problems = parse_plan({"title": "g", "tasks": [good_task("a", colour="red"), {"key": "b", "title": "b"}]})
    assert plan is None
    text = " | ".join(problems)
    assert "tasks.0.colour: unknown field" in text
    assert "tasks.1.acceptance_criteria: Field required" in text

    plan, problems = parse_plan({"title": "g", "tasks": [good_task("a", depends_on=["zzz"]),
                                                          good_task("b", acceptance_criteria=" ")]})
    assert plan is None and any("unknown key 'zzz'" in p for p in problems)
    assert any("'b' has empty acceptance_criteria" in p for p in problems)

    plan, problems = parse_plan({"title": "g", "tasks": [good_task(str(i)) for i in range(4)]}, max_size=3)
    assert plan is None and any("1..3 tasks" in p for p in problems)

    plan, problems = parse_plan({"title": "g", "tasks": [good_task("a"), good_task("b", depends_on=["a"])]})
    assert problems == [] and isinstance(plan, Plan) and plan.tasks[1].depends_on == ["a"]


def test_the_model_sees_the_strict_schema_but_every_shape_reaches_the_handler():
    schema = PlanDraft.model_json_schema()
    assert schema["required"] == ["title", "tasks"]
    assert PlanDraft.model_validate({"anything": 1}).model_dump() == {"anything": 1}


def mr(bead: str, priority: int = 2, seq: int = 0, deps: tuple[str, ...] = ()) -> MergeRequest:
    return MergeRequest(bead_id=bead, branch=f"polecat/{bead}", commit="0" * 40, priority=priority, seq=seq,
                        deps=frozenset(deps))


def test_merge_order_is_dependencies_then_priority_then_completion():
    queue = [mr("late-urgent", priority=0, seq=5), mr("b", seq=1), mr("a", seq=2),
             mr("needs-x", priority=0, seq=0, deps=("x",)), mr("x", priority=3, seq=9),
             mr("needs-missing", priority=0, seq=0, deps=("missing",))]
    order = [m.bead_id for m in merge_order(queue, done=lambda _b: False)]
    # x (p3) must precede its dependent; an entry whose dependency is neither done nor queued waits.
    assert order == ["late-urgent", "b", "a", "x", "needs-x"]
    assert [m.bead_id for m in merge_order(queue, done=lambda b: b == "missing")][0] == "needs-missing"


def test_overlap_matches_paths_and_folders():
    assert overlap(["calc/ops.py", "docs/"], ["./calc/ops.py", "docs/usage.md", "README.md"]) == \
        ["calc/ops.py", "docs/usage.md"]
    assert overlap(["calc"], ["calculator.py"]) == []
    assert overlap([], ["a"]) == []


def test_radar_observes_writes_from_events_and_names_the_overlap(tmp_path: Path):
    radar = ConflictRadar(tmp_path)
    wt = tmp_path / "polecat-gt-1"

    def event(kind: str, **fields) -> AgentEventRecord:
        return AgentEventRecord(agent="polecat-gt-1", bead_id="gt-1", event={"kind": kind, **fields})

    radar.observe_event(event("tool_start", tool="create", detail={"arguments": {"path": f"{wt}/calc/new.py"}}))
    radar.observe_event(event("permission", tool="write", approved=True, detail={"paths": [f"{wt}/a.txt"]}))
    radar.observe_event(event("permission", tool="write", approved=False, detail={"paths": [f"{wt}/denied"]}))
    radar.observe_event(event("tool_start", tool="create", detail={"arguments": {"path": "/elsewhere/x.py"}}))
    radar.observe_event(event("tool_start", tool="view", detail={"arguments": {"path": f"{wt}/read.py"}}))
    assert radar.files_of("gt-1") == {"calc/new.py", "a.txt"}

    radar.declare("gt-2", ["docs/usage.md"])
    assert radar.conflicts("gt-3", ["calc/new.py", "README.md"], ["gt-1", "gt-2"]) == {"gt-1": ["calc/new.py"]}
    assert radar.conflicts("gt-3", [], ["gt-1"]) == {}
    radar.forget("gt-1")
    assert radar.conflicts("gt-3", ["calc/new.py"], ["gt-1", "gt-2"]) == {}
