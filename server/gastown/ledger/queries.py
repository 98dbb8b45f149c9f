"""Queries: ready, blocked, lists, full-text search, events, the dependency tree, cycles and the JSONL
text — reads over one ``sqlite3`` connection, committed state only when run on the Store's reader."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gastown.ledger import graph
from gastown.ledger.model import Bead, BeadEvent, InvalidBead, LedgerError
from gastown.ledger.rows import _CYCLE_TYPES, get, load
from gastown.ledger.sql import BLOCKED_WHERE, READY_SQL, list_query, ready_query

__all__ = ["READY_SQL"]

def ready(
    conn: sqlite3.Connection, limit: int | None = None, parent: str | None = None, now: datetime | None = None
) -> list[Bead]:
    sql, params = ready_query(limit, parent, now)
    return [Bead.model_validate_json(data) for (data,) in conn.execute(sql, params)]


def blocked(conn: sqlite3.Connection) -> list[Bead]:
    return load(conn, BLOCKED_WHERE)


def list_beads(
    conn: sqlite3.Connection,
    status: str | Sequence[str] | None = None,
    parent: str | None = None,
    issue_type: str | Sequence[str] | None = None,
    label: str | Sequence[str] | None = None,
    assignee: str | None = None,
    limit: int | None = None,
) -> list[Bead]:
    sql, params = list_query(status, parent, issue_type, label, assignee, limit)
    return [Bead.model_validate_json(data) for (data,) in conn.execute(sql, params)]


_FTS_OPERATORS = re.compile(r'["()*:^+]|\b(AND|OR|NOT|NEAR)\b')


def fts_query(query: str, syntax: bool | None = None) -> str:
    """The FTS5 MATCH expression for ``query``. With ``syntax`` None, text without FTS5 operators is
    taken as plain words (each quoted, all required), so ``merge-driver`` or ``gt-1a2b`` just work."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidBead("query", "search needs some text")
    if syntax is None:
        syntax = bool(_FTS_OPERATORS.search(query))
    if syntax:
        return query
    return " ".join('"' + word.replace('"', '""') + '"' for word in query.split())


def search(
    conn: sqlite3.Connection, query: str, limit: int = 20, syntax: bool | None = None
) -> list[tuple[Bead, float]]:
    """Beads matching ``query`` over title, description, notes and comments, best (bm25) first."""
    match = fts_query(query, syntax)
    sql = (
        "SELECT issues.data, bm25(issues_fts, 10.0, 4.0, 2.0, 1.0) AS score "
        "FROM issues_fts JOIN issues ON issues.rowid = issues_fts.rowid "
        "WHERE issues_fts MATCH ? ORDER BY score, issues.id"
    )
    params: list[Any] = [match]
    if limit and limit > 0:
        sql += " LIMIT ?"
        params.append(limit)
    try:
        rows = conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            raise
        raise LedgerError(
            f"invalid search query {query!r}: {e}. Put words in double quotes to search for them "
            "literally, or use plain words without FTS5 operators"
        ) from None
    return [(Bead.model_validate_json(data), -score) for data, score in rows]


EVENT_KEYS = ("id", "issue_id", "event_type", "actor", "old_value", "new_value", "comment", "created_at")


def events(conn: sqlite3.Connection, bead_id: str) -> list[BeadEvent]:
    rows = conn.execute(
        f"SELECT {', '.join(EVENT_KEYS)} FROM events WHERE issue_id = ? ORDER BY id", (bead_id,)
    ).fetchall()
    return [BeadEvent.model_validate(dict(zip(EVENT_KEYS, row, strict=True))) for row in rows]


def export_text(conn: sqlite3.Connection) -> str:
    """The JSONL: the stored canonical lines in id order (byte order, as ``sorted()`` on str)."""
    return "".join(data + "\n" for (data,) in conn.execute("SELECT data FROM issues ORDER BY id"))


def dependency_tree(
    conn: sqlite3.Connection, bead_id: str, *, reverse: bool = False, max_depth: int = 50
) -> dict[str, Any]:
    """The bead and, recursively, what it depends on (``reverse``: what depends on it), every type.

    Each node: ``id``, ``title``, ``status``, ``priority``, ``issue_type``, ``dep_type`` (the edge that
    led here, None at the root), ``children``; ``missing`` for a target that is not in the ledger;
    ``repeat`` when the bead was already shown higher up this branch (a cycle) or elsewhere."""
    root = get(conn, bead_id)
    column, other = ("depends_on_id", "issue_id") if reverse else ("issue_id", "depends_on_id")
    seen: set[str] = set()

    def node(bead_id: str, dep_type: str | None, depth: int, path: frozenset[str]) -> dict[str, Any]:
        row = conn.execute(
            "SELECT status, priority, issue_type, json_extract(data, '$.title') FROM issues WHERE id = ?",
            (bead_id,),
        ).fetchone()
        out: dict[str, Any] = {"id": bead_id, "dep_type": dep_type}
        if row is None:
            out.update(missing=True, children=[])
            return out
        out.update(status=row[0], priority=row[1], issue_type=row[2], title=row[3], children=[])
        if bead_id in path or bead_id in seen:
            out["repeat"] = True
            return out
        seen.add(bead_id)
        if depth >= max_depth:
            out["truncated"] = True
            return out
        edges = conn.execute(
            f"SELECT {other}, type FROM dependencies WHERE {column} = ? ORDER BY seq", (bead_id,)
        ).fetchall()
        out["children"] = [node(t, ty, depth + 1, path | {bead_id}) for t, ty in edges]
        return out

    tree = node(root.id, None, 0, frozenset())
    return tree


def cycles(conn: sqlite3.Connection) -> list[list[str]]:
    """Every cycle of blocking/ordering edges, one per strongly connected component (imports may bring
    them; adding one is refused)."""
    edges = conn.execute(
        f"SELECT issue_id, depends_on_id FROM dependencies WHERE type IN {_CYCLE_TYPES} ORDER BY seq"
    ).fetchall()
    return graph.all_cycles(edges)
