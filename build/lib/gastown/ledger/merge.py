"""The git merge driver for ``.beads/issues.jsonl``: a three-way merge, bead by bead, field by field.

Registered by ``gastown init`` (``.gitattributes``: ``.beads/issues.jsonl merge=gastown-beads``; git
config ``merge.gastown-beads.driver``) and run by git as ``gastown bead merge-driver %O %A %B``: the
ancestor, ours and theirs; the result is written over ours (``%A``).

Rules, per bead id:
- added on one side or both: kept (added on both: merged with an empty ancestor);
- deleted on one side and unchanged on the other: deleted; deleted on one side but changed on the other:
  the changed version is kept (nothing anyone wrote is lost);
- ``dependencies`` and ``labels``: three-way set merge — everything either side added is kept, an item is
  dropped only if a side removed it and the other did not re-add it; ``comments``: union (comments are
  append-only), ordered by creation time;
- any other field (unknown ones too): changed on one side only → that side; changed on both to different
  values → the side with the later ``updated_at`` wins (a tie goes to ours). ``status``, ``closed_at``
  and ``close_reason`` travel together, so a bead is never left "open" with a close time;
- ``updated_at`` is the later of the two.
The output is canonical (sorted by id, stable keys), like ``gastown bead export``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gastown.ledger.model import LedgerError, parse_ts
from gastown.ledger.sync import bead_line

Raw = dict[str, Any]
_ABSENT = object()
_STATUS_GROUP = ("status", "closed_at", "close_reason", "closed_by_session")
_SET_FIELDS = ("dependencies", "labels", "comments")


def parse_lines(path: Path) -> dict[str, Raw]:
    """id -> raw JSON object; raises LedgerError naming the file and line on anything unparseable."""
    out: dict[str, Raw] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LedgerError(f"{path}: cannot read ({e})") from e
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise LedgerError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})") from e
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise LedgerError(f"{path}:{lineno}: expected a JSON object with an 'id'")
        out[raw["id"]] = raw
    return out


def _time(raw: Raw | None) -> float:
    try:
        return parse_ts(str((raw or {}).get("updated_at", ""))).timestamp()
    except ValueError:
        return float("-inf")


def _dep_key(dep: Any) -> Any:
    if isinstance(dep, dict):
        return (dep.get("depends_on_id"), dep.get("type", "blocks"))
    return json.dumps(dep, sort_keys=True)


def _comment_key(c: Any) -> Any:
    if isinstance(c, dict):
        return (c.get("author"), c.get("text"), c.get("created_at"))
    return json.dumps(c, sort_keys=True)


def _label_key(label: Any) -> Any:
    return label if isinstance(label, str) else json.dumps(label, sort_keys=True)


def _set_merge(base: list | None, ours: list | None, theirs: list | None, key, *, deletions: bool) -> list:
    base_l, ours_l, theirs_l = base or [], ours or [], theirs or []
    base_k = {key(x) for x in base_l}
    ours_k = {key(x) for x in ours_l}
    theirs_k = {key(x) for x in theirs_l}
    out: list = []
    seen: set = set()
    for item in [*ours_l, *theirs_l]:
        k = key(item)
        if k in seen:
            continue
        if deletions and k in base_k and (k not in ours_k or k not in theirs_k):
            continue  # removed on one side, kept unchanged on the other: removed
        seen.add(k)
        out.append(item)
    return out


def _comment_order(c: Any) -> tuple:
    if not isinstance(c, dict):
        return (float("inf"), "")
    try:
        t = parse_ts(str(c.get("created_at", ""))).timestamp()
    except ValueError:
        t = float("inf")
    return (t, str(c.get("id", "")))


def merge_bead(base: Raw | None, ours: Raw, theirs: Raw) -> Raw:
    """Merge one bead changed on both sides (``base`` None: added on both)."""
    base = base or {}
    theirs_later = _time(theirs) > _time(ours)
    out: Raw = {}
    keys = list(dict.fromkeys([*ours, *theirs, *base]))

    # status, closed_at, close_reason, closed_by_session: one unit
    group_b = tuple(base.get(k, _ABSENT) for k in _STATUS_GROUP)
    group_o = tuple(ours.get(k, _ABSENT) for k in _STATUS_GROUP)
    group_t = tuple(theirs.get(k, _ABSENT) for k in _STATUS_GROUP)
    group = _pick(group_b, group_o, group_t, theirs_later)
    for k, v in zip(_STATUS_GROUP, group, strict=True):
        if v is not _ABSENT:
            out[k] = v

    for k in keys:
        if k in _STATUS_GROUP:
            continue
        b, o, t = base.get(k, _ABSENT), ours.get(k, _ABSENT), theirs.get(k, _ABSENT)
        if k == "updated_at":
            v = t if theirs_later else o
        elif k == "dependencies":
            v = _set_merge(_as_list(b), _as_list(o), _as_list(t), _dep_key, deletions=True) or _ABSENT
        elif k == "labels":
            v = _set_merge(_as_list(b), _as_list(o), _as_list(t), _label_key, deletions=True) or _ABSENT
        elif k == "comments":
            merged = _set_merge(_as_list(b), _as_list(o), _as_list(t), _comment_key, deletions=False)
            v = sorted(merged, key=_comment_order) or _ABSENT
        else:
            v = _pick(b, o, t, theirs_later)
        if v is not _ABSENT:
            out[k] = v
    return out


def _as_list(value: Any) -> list | None:
    return value if isinstance(value, list) else None


def _pick(base: Any, ours: Any, theirs: Any, theirs_later: bool) -> Any:
    if ours == theirs:
        return ours
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    return theirs if theirs_later else ours


def merge(base: dict[str, Raw], ours: dict[str, Raw], theirs: dict[str, Raw]) -> dict[str, Raw]:
    out: dict[str, Raw] = {}
    for bead_id in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(bead_id), ours.get(bead_id), theirs.get(bead_id)
        if o is not None and t is not None:
            out[bead_id] = o if o == t else merge_bead(b, o, t)
        elif o is not None:  # theirs deleted it, or only we have it
            if b is None or o != b:
                out[bead_id] = o
        elif t is not None:
            if b is None or t != b:
                out[bead_id] = t
    return out


def render(beads: Iterable[Raw]) -> str:
    return "".join(bead_line(raw) + "\n" for raw in sorted(beads, key=lambda r: r["id"]))


def merge_files(base: Path, ours: Path, theirs: Path) -> str:
    return render(merge(parse_lines(base), parse_lines(ours), parse_lines(theirs)).values())


def main(base: str, ours: str, theirs: str) -> int:
    """git's entry point: writes the merge into ``ours``; 0 = merged, 1 = could not parse (git then
    reports a conflict and leaves the file for a human)."""
    try:
        text = merge_files(Path(base), Path(ours), Path(theirs))
    except LedgerError as e:
        print(f"gastown merge-driver: {e}", file=sys.stderr)
        return 1
    Path(ours).write_text(text, encoding="utf-8")
    return 0
