from __future__ import annotations

from datetime import UTC, datetime

from gastown.ledger.graph import blocked_ids, find_cycle, path_between, ready
from gastown.ledger.model import Bead, Dependency


def bead(
    id: str, status: str = "open", priority: int = 2, created: str = "2026-01-01T00:00:00Z", deps=(), **kw
):
    return Bead(
        id=id,
        title=id,
        status=status,
        priority=priority,
        created_at=created,
        dependencies=[Dependency(issue_id=id, depends_on_id=t, type=ty) for t, ty in deps] or None,
        **kw,
    )


def ids(beads):
    return [b.id for b in beads]


def test_blocks_and_conditional_blocks_until_target_done():
    beads = [
        bead("a", deps=[("b", "blocks")]),
        bead("b"),
        bead("c", deps=[("d", "conditional-blocks")]),
        bead("d", status="in_progress"),
        bead("e", deps=[("f", "blocks")]),
        bead("f", status="closed"),
        bead("g", deps=[("h", "blocks")]),
        bead("h", status="tombstone"),
        bead("i", deps=[("missing", "blocks")]),
    ]
    assert blocked_ids(beads) == {"a", "c"}
    assert ids(ready(beads)) == ["b", "e", "g", "i"]


def test_parent_child_propagates_blocked_down_but_open_parent_does_not_block():
    beads = [
        bead("epic", deps=[("gate", "blocks")]),
        bead("gate"),
        bead("child", deps=[("epic", "parent-child")]),
        bead("grandchild", deps=[("child", "parent-child")]),
        bead("free-epic"),
        bead("free-child", deps=[("free-epic", "parent-child")]),
    ]
    assert blocked_ids(beads) == {"epic", "child", "grandchild"}
    assert set(ids(ready(beads))) == {"gate", "free-epic", "free-child"}


def test_waits_for_blocks_while_any_child_of_target_open():
    beads = [
        bead("w", deps=[("spawner", "waits-for")]),
        bead("spawner", status="in_progress"),
        bead("k1", status="closed", deps=[("spawner", "parent-child")]),
        bead("k2", status="in_progress", deps=[("spawner", "parent-child")]),
    ]
    assert "w" in blocked_ids(beads)
    beads[3] = bead("k2", status="closed", deps=[("spawner", "parent-child")])
    assert "w" not in blocked_ids(beads)


def test_non_blocking_types_never_block():
    beads = [
        bead(
            "a", deps=[("b", "related"), ("b", "discovered-from"), ("b", "relates-to"), ("b", "supersedes")]
        ),
        bead("b"),
    ]
    assert blocked_ids(beads) == set()
    assert ids(ready(beads)) == ["a", "b"]


def test_ready_filters_and_orders():
    now = datetime(2026, 1, 15, tzinfo=UTC)
    beads = [
        # by string the first sorts first; by time (07:00Z vs 01:00Z on the 3rd) it is later
        bead("late-p1", priority=1, created="2026-01-02T23:00:00-08:00"),
        bead("early-p1", priority=1, created="2026-01-03T01:00:00Z"),
        bead("p0", priority=0, created="2026-01-09T00:00:00Z"),
        bead("wip", status="in_progress"),
        bead("eph", ephemeral=True),
        bead("pin", pinned=True),
        bead("deferred", defer_until="2026-02-01T00:00:00Z"),
        bead("was-deferred", defer_until="2026-01-01T00:00:00Z", priority=4),
        bead("mr", issue_type="merge-request"),
        bead("msg", issue_type="message"),
    ]
    assert ids(ready(beads, now=now)) == ["p0", "early-p1", "late-p1", "was-deferred"]


def test_find_cycle_and_path():
    assert find_cycle([("a", "b"), ("b", "c")]) is None
    cycle = find_cycle([("x", "a"), ("a", "b"), ("b", "c"), ("c", "a")])
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle([("s", "s")]) == ["s", "s"]
    assert path_between([("a", "b"), ("b", "c"), ("a", "c")], "a", "c") == ["a", "c"]
    assert path_between([("a", "b")], "b", "a") is None
