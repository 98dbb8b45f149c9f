"""Ready/blocked, kept up to date on write.

Each issue row carries:

- ``workable``: everything ready asks of the bead itself except time (status open, not an internal type,
  not ephemeral/pinned, readable ``defer_until``), computed from the bead when it is written;
- ``blocked_direct``: one of its own ``blocks``/``conditional-blocks`` targets exists and is not done,
  or a child of one of its ``waits-for`` targets is not done;
- ``blocked``: ``blocked_direct``, or a parent (``parent-child``) is ``blocked`` (propagates down);
- ``defer_until``: normalised, compared with the clock at query time.

A write records which beads came into existence or changed doneness (``dirty``), which changed their own
dependencies (``own_deps``) and which parents' sets of children may have changed (``parents``). Before
commit :func:`refresh_blocked` recomputes ``blocked_direct`` for exactly the beads that can be affected —
beads with changed dependencies, the blocking dependents of dirty beads and the waits-for dependents of
their parents — and then ``blocked`` over those beads and their descendants, taking the stored value of
any parent outside that region. A close with no dependents costs one query here and touches no other
row. So ``ready()`` is one scan of a partial index; ``graph.py`` (the whole-ledger walk) stays the
reference the tests hold it to.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

import orjson

from gastown.ledger.sql import BLOCKING as _BLOCKING
from gastown.ledger.sql import DONE as _DONE

# -- incremental ready/blocked --------------------------------------------------------------------------
# One scratch table per connection (created when it opens, never inside a transaction):
#   kind 0 — beads whose existence or doneness changed (their dependents may change)
#   kind 1 — parents whose set of children may have changed (their waits-for dependents may change)
#   kind 2 — seeds: beads whose ``blocked_direct`` must be recomputed
#   kind 3 — the region: seeds and their descendants, whose ``blocked`` must be recomputed
TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS gt_work (kind INTEGER NOT NULL, id TEXT NOT NULL, "
    "PRIMARY KEY (kind, id)) WITHOUT ROWID",
)
_SEEDS = f"""
INSERT OR IGNORE INTO temp.gt_work (kind, id)
SELECT 2, issue_id FROM dependencies
    WHERE type IN {_BLOCKING} AND depends_on_id IN (SELECT id FROM temp.gt_work WHERE kind = 0)
UNION
SELECT 2, issue_id FROM dependencies
    WHERE type = 'waits-for' AND depends_on_id IN (
        SELECT id FROM temp.gt_work WHERE kind = 1
        UNION
        SELECT depends_on_id FROM dependencies
            WHERE type = 'parent-child' AND issue_id IN (SELECT id FROM temp.gt_work WHERE kind = 0))
"""
# The same seeds for a small write, straight from parameters (JSON arrays: ?1 the changed beads, ?2 the
# parents): one query, and no scratch rows at all when nothing depends on what changed. Each seed comes
# with whether it has children (then its ``blocked`` must be walked down; else one row settles it).
_KIDS = "EXISTS (SELECT 1 FROM dependencies k WHERE k.depends_on_id = {0} AND k.type = 'parent-child')"
_SEEDS_OF = f"""
SELECT issue_id, {_KIDS.format("issue_id")} FROM dependencies
    WHERE type IN {_BLOCKING} AND depends_on_id IN (SELECT value FROM json_each(?1))
UNION
SELECT issue_id, {_KIDS.format("issue_id")} FROM dependencies
    WHERE type = 'waits-for' AND depends_on_id IN (
        SELECT value FROM json_each(?2)
        UNION
        SELECT depends_on_id FROM dependencies
            WHERE type = 'parent-child' AND issue_id IN (SELECT value FROM json_each(?1)))
"""
# The common case — one bead changed, no parent's children changed — as plain index lookups (?1 the bead;
# UNION ALL: the caller takes a dict, and SQLite needs no scratch b-tree)
_SEEDS_OF_ONE = f"""
SELECT d.issue_id, {_KIDS.format("d.issue_id")} FROM dependencies d
    WHERE d.depends_on_id = ?1 AND d.type IN {_BLOCKING}
UNION ALL
SELECT w.issue_id, {_KIDS.format("w.issue_id")} FROM dependencies p
    CROSS JOIN dependencies w ON w.depends_on_id = p.depends_on_id AND w.type = 'waits-for'
    WHERE p.issue_id = ?1 AND p.type = 'parent-child'
"""
_SMALL = 200  # beads; above this the scratch table carries the sets

# The small path's two steps, the seeds given as a JSON array (?1). Each writes only the rows whose flag
# really changes: fewer dirty pages for the commit, and a count that says whether anything moved.
_DIRECT_FOR = f"""(
    EXISTS (SELECT 1 FROM dependencies d JOIN issues t ON t.id = d.depends_on_id
            WHERE d.issue_id = {{0}} AND d.type IN {_BLOCKING} AND t.status NOT IN {_DONE})
    OR EXISTS (SELECT 1 FROM dependencies w
               JOIN dependencies k ON k.depends_on_id = w.depends_on_id AND k.type = 'parent-child'
               JOIN issues c ON c.id = k.issue_id
               WHERE w.issue_id = {{0}} AND w.type = 'waits-for' AND c.status NOT IN {_DONE}))"""
_DIRECT = _DIRECT_FOR.format("issues.id")
_DIRECT_OF = f"""
UPDATE issues SET blocked_direct = {_DIRECT}
WHERE id IN (SELECT value FROM json_each(?1)) AND blocked_direct IS NOT {_DIRECT}
"""  # (no RETURNING: in SQLite 3.40 it costs this statement as much again; the seeds say who has children)
# ``blocked`` of seeds (?1) none of which has children: its own flag or a blocked parent (outside the
# seeds, since a parent has a child) — no walk needed
_PARENT_BLOCKED = """EXISTS (SELECT 1 FROM dependencies d CROSS JOIN issues p ON p.id = d.depends_on_id
    WHERE d.issue_id = issues.id AND d.type = 'parent-child' AND p.blocked = 1)"""
_BLOCKED_OF_LEAVES = f"""
UPDATE issues SET blocked = (blocked_direct OR {_PARENT_BLOCKED})
WHERE id IN (SELECT value FROM json_each(?1)) AND blocked IS NOT (blocked_direct OR {_PARENT_BLOCKED})
"""
# Both flags of seeds (?1) none of which has children, in one statement (the common close: its dependents
# are leaves); ``s.d`` is each seed's new ``blocked_direct``, computed once (MATERIALIZED: measured a fifth
# cheaper than letting SQLite inline it, and a third cheaper than the two statements above)
_BOTH_OF_LEAVES = f"""
WITH s(id, d) AS MATERIALIZED (SELECT value, {_DIRECT_FOR.format("value")} FROM json_each(?1))
UPDATE issues SET blocked_direct = s.d, blocked = (s.d OR {_PARENT_BLOCKED}) FROM s
WHERE issues.id = s.id AND (issues.blocked_direct IS NOT s.d OR issues.blocked IS NOT (s.d OR {_PARENT_BLOCKED}))
"""
# blocked = reachable, through parent -> child edges inside ``region``, from a region bead that is blocked
# directly or has a blocked parent outside the region. (CROSS JOIN fixes the join order: the scratch table
# has no statistics, and the planner would otherwise scan ``issues``.)
_BLOCKED_IN_REGION = """
b(id) AS (
    SELECT r.id FROM region r CROSS JOIN issues i ON i.id = r.id WHERE i.blocked_direct = 1
    UNION
    SELECT d.issue_id FROM region r
        CROSS JOIN dependencies d ON d.issue_id = r.id AND d.type = 'parent-child'
        CROSS JOIN issues p ON p.id = d.depends_on_id
        WHERE p.blocked = 1 AND p.id NOT IN region
    UNION
    SELECT d.issue_id FROM b CROSS JOIN dependencies d ON d.depends_on_id = b.id AND d.type = 'parent-child'
)
"""
_BLOCKED_OF = f"""
WITH RECURSIVE
region(id) AS (
    SELECT value FROM json_each(?1)
    UNION
    SELECT d.issue_id FROM region r CROSS JOIN dependencies d ON d.depends_on_id = r.id AND d.type = 'parent-child'
),
{_BLOCKED_IN_REGION} UPDATE issues SET blocked = (id IN b) WHERE id IN region AND blocked IS NOT (id IN b)
"""
_ANY_SEED = "SELECT EXISTS (SELECT 1 FROM temp.gt_work WHERE kind = 2)"
_REFRESH_STEPS = (
    f"""
    UPDATE issues SET blocked_direct = (
        EXISTS (SELECT 1 FROM dependencies d JOIN issues t ON t.id = d.depends_on_id
                WHERE d.issue_id = issues.id AND d.type IN {_BLOCKING} AND t.status NOT IN {_DONE})
        OR EXISTS (SELECT 1 FROM dependencies w
                   JOIN dependencies k ON k.depends_on_id = w.depends_on_id AND k.type = 'parent-child'
                   JOIN issues c ON c.id = k.issue_id
                   WHERE w.issue_id = issues.id AND w.type = 'waits-for' AND c.status NOT IN {_DONE})
    ) WHERE id IN (SELECT id FROM temp.gt_work WHERE kind = 2)
    """,
    # the region whose ``blocked`` can change: the seeds and all their descendants
    """
    WITH RECURSIVE r(id) AS (
        SELECT id FROM temp.gt_work WHERE kind = 2
        UNION
        SELECT d.issue_id FROM r CROSS JOIN dependencies d ON d.depends_on_id = r.id AND d.type = 'parent-child'
    ) INSERT OR IGNORE INTO temp.gt_work (kind, id) SELECT 3, id FROM r
    """,
    # blocked inside the region (see _BLOCKED_IN_REGION)
    f"""
    WITH RECURSIVE
    region(id) AS (SELECT id FROM temp.gt_work WHERE kind = 3),
    {_BLOCKED_IN_REGION} UPDATE issues SET blocked = (id IN b) WHERE id IN region
    """,
)


def _json_ids(ids: list[str]) -> str:
    """Bead ids as a JSON array for ``json_each`` (orjson: a fraction of ``json.dumps``'s cost per call)."""
    try:
        return orjson.dumps(ids).decode()
    except TypeError:  # (an id orjson cannot write, such as a lone surrogate: the reference encoder can)
        return json.dumps(ids)


def refresh_blocked(
    conn: sqlite3.Connection,
    changed: Iterable[str],
    parents: Iterable[str] = (),
    own_deps: Iterable[str] = (),
    *,
    everything: bool = False,
) -> None:
    """Bring ``blocked_direct``/``blocked`` up to date (see module doc) after writes: ``changed`` beads
    whose existence or doneness may have changed, ``parents`` whose children changed, ``own_deps``
    beads whose own dependencies changed. ``everything`` recomputes the whole ledger."""
    if not everything:
        changed, parents, own_deps = list(changed), list(parents), list(own_deps)
        if len(changed) + len(parents) <= _SMALL:
            seeds: dict[str, int] = {}  # seed -> has children
            if len(changed) == 1 and not parents:
                seeds.update(conn.execute(_SEEDS_OF_ONE, (changed[0],)))
            elif changed or parents:
                seeds.update(conn.execute(_SEEDS_OF, (_json_ids(changed), _json_ids(parents))))
            if not seeds and not own_deps:
                return
            ids = _json_ids(sorted({*seeds, *own_deps}))
            if not own_deps and not any(seeds.values()):
                conn.execute(_BOTH_OF_LEAVES, (ids,))
                return
            moved = conn.execute(_DIRECT_OF, (ids,)).rowcount
            # ``blocked`` can change only through a seed's own flag or a changed parent edge (own_deps),
            # and then for that bead and its descendants
            if own_deps or (moved and any(seeds.values())):
                conn.execute(_BLOCKED_OF, (ids,))
            elif moved:
                conn.execute(_BLOCKED_OF_LEAVES, (ids,))
            return
    try:
        if everything:
            conn.execute("INSERT OR IGNORE INTO temp.gt_work (kind, id) SELECT 2, id FROM issues")
        else:
            rows = [(0, i) for i in changed] + [(1, p) for p in parents] + [(2, i) for i in own_deps]
            conn.executemany("INSERT OR IGNORE INTO temp.gt_work (kind, id) VALUES (?, ?)", rows)
            conn.execute(_SEEDS)
            if not conn.execute(_ANY_SEED).fetchone()[0]:
                return
        for step in _REFRESH_STEPS:
            conn.execute(step)
    finally:
        conn.execute("DELETE FROM temp.gt_work")
