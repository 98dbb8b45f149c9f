"""Pure functions over a list of beads: which are blocked, which are ready, and blocking cycles.

Rules (DESIGN "Ledger rules"): a dependency on X means X depends on Y.
- ``blocks`` / ``conditional-blocks``: X is blocked while Y exists and is not closed/tombstone.
- ``parent-child``: X is blocked if its parent is blocked (this propagates down the tree).
- ``waits-for``: X is blocked while any child of Y is not closed/tombstone.
- ``related``, ``discovered-from`` and any other type never block.
Ready = status ``open``, not blocked, not ephemeral or pinned, ``defer_until`` unset or past, type not
internal; ordered by priority (0 first) then creation time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from gastown.ledger.model import INTERNAL_TYPES, Bead, DepType, Status, parse_ts

WAITS_FOR = DepType.WAITS_FOR
# Dependency types whose edges may not form a cycle (a cycle of them is a deadlock).
CYCLE_TYPES = frozenset({DepType.BLOCKS, DepType.CONDITIONAL_BLOCKS, DepType.WAITS_FOR, DepType.PARENT_CHILD})


def _extra(bead: Bead, name: str) -> Any:
    """A Beads field we keep as an extra (or a declared field of that name), None when unset. (Not
    ``getattr``: a missing attribute costs pydantic an exception, and every write asks three times.)"""
    extra = bead.__pydantic_extra__  # (what the model_extra property returns, without the call)
    if extra and name in extra:
        return extra[name]
    return bead.__dict__.get(name)


def _is_done(bead: Bead | None) -> bool:
    return bead is not None and bead.status in Status.DONE


def children_index(beads: Iterable[Bead]) -> dict[str, list[str]]:
    """parent id -> ids of its children (from ``parent-child`` dependencies)."""
    out: dict[str, list[str]] = defaultdict(list)
    for bead in beads:
        for dep in bead.dependencies or ():
            if dep.type == DepType.PARENT_CHILD:
                out[dep.depends_on_id].append(bead.id)
    return out


def blocked_ids(beads: Sequence[Bead]) -> set[str]:
    """Ids of every bead that is blocked (whatever its own status)."""
    by_id = {b.id: b for b in beads}
    kids = children_index(beads)

    direct: set[str] = set()
    for bead in beads:
        for dep in bead.dependencies or ():
            if dep.type in DepType.BLOCKING:
                target = by_id.get(dep.depends_on_id)
                if target is not None and not _is_done(target):
                    direct.add(bead.id)
                    break
            elif dep.type == WAITS_FOR:
                if any(not _is_done(by_id.get(c)) for c in kids.get(dep.depends_on_id, ()) if c in by_id):
                    direct.add(bead.id)
                    break

    # parent-child propagation: a bead is blocked if its parent is blocked, transitively.
    blocked = set(direct)
    frontier = list(direct)
    while frontier:
        parent = frontier.pop()
        for child in kids.get(parent, ()):
            if child not in blocked:
                blocked.add(child)
                frontier.append(child)
    return blocked


def _now() -> datetime:
    return datetime.now(UTC)


def defer_time(bead: Bead) -> datetime | None | bool:
    """``defer_until`` as an aware UTC time; None when unset; False when set but unreadable."""
    defer = _extra(bead, "defer_until")
    if not defer:
        return None
    try:
        return parse_ts(str(defer))
    except ValueError:
        return False


def is_workable_ever(bead: Bead) -> bool:
    """The time-independent part of ``is_workable``: what the store keeps in its ``workable`` column."""
    if bead.status != Status.OPEN:
        return False
    if bead.issue_type in INTERNAL_TYPES:
        return False
    if _extra(bead, "ephemeral") or _extra(bead, "pinned"):
        return False
    return defer_time(bead) is not False


def is_workable(bead: Bead, now: datetime | None = None) -> bool:
    """Everything ready asks of a bead except not being blocked."""
    if not is_workable_ever(bead):
        return False
    defer = defer_time(bead)
    return not (isinstance(defer, datetime) and defer > (now or _now()))


def sort_key(bead: Bead) -> tuple[int, datetime, str]:
    try:
        created = parse_ts(bead.created_at)
    except ValueError:
        created = datetime.max.replace(tzinfo=UTC)
    return (bead.priority, created, bead.id)


def ready(beads: Sequence[Bead], now: datetime | None = None) -> list[Bead]:
    """Ready beads, priority ascending then creation time ascending."""
    blocked = blocked_ids(beads)
    out = [b for b in beads if b.id not in blocked and is_workable(b, now)]
    out.sort(key=sort_key)
    return out


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """A cycle in the directed graph ``edges`` (a -> b), as ``[a, b, ..., a]``, or None.

    Pass only blocking edges (``blocks``, ``conditional-blocks``, ``waits-for``, ``parent-child``);
    which ones count is the caller's choice.
    """
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
    WHITE, GREY, BLACK = 0, 1, 2
    color: dict[str, int] = defaultdict(int)
    for start in sorted(graph):
        if color[start] != WHITE:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        color[start] = GREY
        while stack:
            node, i = stack[-1]
            succ = graph.get(node, [])
            if i < len(succ):
                stack[-1] = (node, i + 1)
                nxt = succ[i]
                if color[nxt] == GREY:
                    return path[path.index(nxt) :] + [nxt]
                if color[nxt] == WHITE:
                    color[nxt] = GREY
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                color[node] = BLACK
                stack.pop()
                path.pop()
    return None


def path_between(edges: Iterable[tuple[str, str]], src: str, dst: str) -> list[str] | None:
    """A path ``[src, ..., dst]`` following ``edges``, or None (breadth first: the shortest)."""
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
    prev: dict[str, str | None] = {src: None}
    queue = [src]
    while queue:
        node = queue.pop(0)
        if node == dst:
            out = [node]
            while (step := prev[out[-1]]) is not None:
                out.append(step)
            return list(reversed(out))
        for nxt in graph.get(node, ()):
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return None


def strongly_connected(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of ``edges`` (Tarjan, iterative), each sorted, in sorted order."""
    graph: dict[str, list[str]] = defaultdict(list)
    nodes: set[str] = set()
    for a, b in edges:
        graph[a].append(b)
        nodes.update((a, b))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, i = work[-1]
            succ = graph.get(node, [])
            if i < len(succ):
                work[-1] = (node, i + 1)
                nxt = succ[i]
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                out.append(sorted(comp))
    return sorted(out)


def all_cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """One cycle ``[a, ..., a]`` per strongly connected component that has one (self-loops included)."""
    edge_list = list(edges)
    out = []
    for comp in strongly_connected(edge_list):
        members = set(comp)
        inner = [(a, b) for a, b in edge_list if a in members and b in members]
        if len(comp) == 1 and (comp[0], comp[0]) not in inner:
            continue
        cycle = find_cycle(inner)
        if cycle is not None:
            out.append(cycle)
    return out
