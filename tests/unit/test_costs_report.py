"""costs.report: plain sums of run rows by role, goal and bead, and the scopes `--goal` and `--bead` pick."""

from __future__ import annotations

from gastown.town.costs import CostRun, report


def run(role: str, bead: str | None, goal: str | None, tokens: int, seconds: float) -> CostRun:
    return CostRun(role=role, bead_id=bead, goal_id=goal, tokens=tokens, seconds=seconds)


RUNS = [
    run("mayor", "gt-e1", "gt-e1", 300, 2.0),  # planning goal one
    run("polecat", "gt-e1.1", "gt-e1", 1000, 10.0),
    run("polecat", "gt-e1.1", "gt-e1", 500, 4.0),  # a rework run of the same bead
    run("reviewer", "gt-e1.1", "gt-e1", 200, 1.0),
    run("polecat", "gt-e1.2", "gt-e1", 700, 6.0),
    run("mayor", None, "f00dcafe", 50, 0.5),  # a planning that failed: no epic, the goal's own id
    run("polecat", "gt-x", None, 90, 1.0),  # a bead outside any goal
]


def test_everything_by_role_goal_and_bead():
    got = report(RUNS, titles={"gt-e1": "Goal one"})
    assert got.scope == "all"
    assert (got.total.tokens, got.total.seconds, got.total.runs) == (2840, 24.5, 7)
    assert {r: (line.tokens, line.runs) for r, line in got.by_role.items()} == {
        "mayor": (350, 2), "polecat": (2290, 4), "reviewer": (200, 1)}
    assert [(g.id, g.title, g.total.tokens) for g in got.goals] == [("f00dcafe", None, 50), ("gt-e1", "Goal one", 2700)]
    assert [(b.id, b.total.tokens, b.total.runs) for b in got.beads] == [
        ("gt-e1.1", 1700, 3), ("gt-e1.2", 700, 1), ("gt-x", 90, 1)]
    assert got.beads[0].by_role["polecat"].tokens == 1500 and got.beads[0].by_role["reviewer"].tokens == 200
    # Every run is counted once in the total and once in its role; a goal's Mayor run is no bead of its own.
    assert sum(line.tokens for line in got.by_role.values()) == got.total.tokens
    assert "gt-e1" not in {b.id for b in got.beads}


def test_a_goal_and_a_bead():
    goal = report(RUNS, goal="gt-e1")
    assert goal.scope == "goal:gt-e1" and goal.total.tokens == 2700 and goal.by_role["mayor"].tokens == 300
    bead = report(RUNS, bead="gt-e1.1")
    assert bead.scope == "bead:gt-e1.1" and (bead.total.tokens, bead.total.runs) == (1700, 3)
    assert bead.by_role["mayor"].runs == 0 and [g.id for g in bead.goals] == ["gt-e1"]
    empty = report(RUNS, bead="gt-none")
    assert empty.total.runs == 0 and set(empty.by_role) == {"mayor", "polecat", "reviewer"}
