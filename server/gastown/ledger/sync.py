"""The JSONL side of the ledger: deterministic serialisation and strict parsing of Beads era-A files.

Export is deterministic: issues sorted by id, one per line, keys in the order Beads writes them (its
Go struct order; our model's fields fall into it) followed by unknown keys sorted, compact separators,
``ensure_ascii=False`` except that ``< > &`` (and U+2028/9) are escaped as Go does, newline at the end. Written to a temp file then ``os.replace``d.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gastown.ledger.model import Bead, LedgerError

# The order of Beads' Issue struct (json tags); verified against a real Beads export.
BEAD_KEY_ORDER: tuple[str, ...] = (
    "id",
    "title",
    "description",
    "design",
    "acceptance_criteria",
    "notes",
    "status",
    "priority",
    "issue_type",
    "assignee",
    "owner",
    "estimated_minutes",
    "created_at",
    "created_by",
    "updated_at",
    "closed_at",
    "close_reason",
    "closed_by_session",
    "due_at",
    "defer_until",
    "external_ref",
    "compaction_level",
    "compacted_at",
    "compacted_at_commit",
    "original_size",
    "labels",
    "dependencies",
    "comments",
    "deleted_at",
    "deleted_by",
    "delete_reason",
    "original_type",
    "sender",
    "ephemeral",
    "pinned",
    "is_template",
    "await_type",
    "await_id",
    "timeout",
    "waiters",
    "metadata",
)
DEPENDENCY_KEY_ORDER: tuple[str, ...] = ("issue_id", "depends_on_id", "type", "created_at", "created_by")
COMMENT_KEY_ORDER: tuple[str, ...] = ("id", "issue_id", "author", "text", "created_at")


def _ordered(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    rank = {k: i for i, k in enumerate(order)}
    known = sorted((k for k in d if k in rank), key=rank.__getitem__)
    unknown = sorted(k for k in d if k not in rank)
    return {k: d[k] for k in known + unknown}


def ordered_bead_dict(bead: Bead | dict[str, Any]) -> dict[str, Any]:
    d = bead.to_json_dict() if isinstance(bead, Bead) else dict(bead)
    d = _ordered(d, BEAD_KEY_ORDER)
    if d.get("dependencies"):
        d["dependencies"] = [_ordered(x, DEPENDENCY_KEY_ORDER) for x in d["dependencies"]]
    if d.get("comments"):
        d["comments"] = [_ordered(x, COMMENT_KEY_ORDER) for x in d["comments"]]
    return d


# Go's encoding/json (Beads) escapes these inside strings; doing the same keeps our lines byte-identical
# to Beads' own export. They can only occur inside JSON strings, so a plain replace is exact.
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def bead_line(bead: Bead | dict[str, Any]) -> str:
    text = json.dumps(ordered_bead_dict(bead), ensure_ascii=False, separators=(",", ":"))
    return text.translate(_GO_ESCAPES)


def render_jsonl(beads: list[Bead]) -> str:
    lines = [bead_line(b) for b in sorted(beads, key=lambda b: b.id)]
    return "".join(line + "\n" for line in lines)


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically; returns False (and leaves the file alone) if unchanged."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True


def _field_of(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "?"
    return f"field '{loc}': {first.get('msg', 'invalid')}"


def parse_jsonl(path: Path) -> list[Bead]:
    """Parse and validate every line; the first bad line raises LedgerError naming file, line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise LedgerError(f"{path}: no such file") from e
    except UnicodeDecodeError as e:
        raise LedgerError(f"{path}: not UTF-8 ({e})") from e
    beads: list[Bead] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise LedgerError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})") from e
        if not isinstance(raw, dict):
            raise LedgerError(f"{path}:{lineno}: expected a JSON object, got {type(raw).__name__}")
        try:
            bead = Bead.model_validate(raw)
        except ValidationError as e:
            bid = raw.get("id", "?")
            raise LedgerError(f"{path}:{lineno}: issue {bid}: {_field_of(e)}") from e
        for dep in bead.dependencies or ():
            if dep.issue_id != bead.id:
                raise LedgerError(
                    f"{path}:{lineno}: issue {bead.id}: field 'dependencies.issue_id': "
                    f"{dep.issue_id!r} is not this issue"
                )
        if bead.id in seen:
            raise LedgerError(
                f"{path}:{lineno}: issue {bead.id}: duplicate id (first on line {seen[bead.id]})"
            )
        seen[bead.id] = lineno
        beads.append(bead)
    return beads


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
