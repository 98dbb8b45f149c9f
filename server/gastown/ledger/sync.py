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

import orjson
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


_RANKS: dict[tuple[str, ...], dict[str, int]] = {
    order: {k: i for i, k in enumerate(order)}
    for order in (BEAD_KEY_ORDER, DEPENDENCY_KEY_ORDER, COMMENT_KEY_ORDER)
}


_ORDER_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}


def _ordered(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    keys = tuple(d)
    cached = _ORDER_CACHE.get((order, keys))
    if cached is None:
        rank = _RANKS[order]
        known = sorted((k for k in keys if k in rank), key=rank.__getitem__)
        cached = tuple(known + sorted(k for k in keys if k not in rank))
        if len(_ORDER_CACHE) < 4096:  # beads share a handful of key sets
            _ORDER_CACHE[(order, keys)] = cached
    return {k: d[k] for k in cached}


def ordered_bead_dict(bead: Bead | dict[str, Any]) -> dict[str, Any]:
    d = bead.to_json_dict() if isinstance(bead, Bead) else dict(bead)
    d = _ordered(d, BEAD_KEY_ORDER)
    if d.get("dependencies"):
        d["dependencies"] = [
            _ordered(x, DEPENDENCY_KEY_ORDER) if isinstance(x, dict) else x for x in d["dependencies"]
        ]
    if d.get("comments"):
        d["comments"] = [_ordered(x, COMMENT_KEY_ORDER) if isinstance(x, dict) else x for x in d["comments"]]
    return d


# Go's encoding/json (Beads) escapes these inside strings; doing the same keeps our lines byte-identical
# to Beads' own export. They can only occur inside JSON strings, so a plain replace is exact.
_GO_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


# the reference encoder (``json.dumps`` with options builds a new one per call)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# orjson writes the same bytes for strings, integers, booleans, null, lists and dicts, ten times faster;
# anything else (subclasses, dates, ...) it refuses here, and floats it writes in another exponent form
# (1e16, not 1e+16): those lines take the reference encoder
_ORJSON_STRICT = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _has_float(values: Any) -> bool:
    """Whether the values of a dict (or the items of a list), at any depth, hold a float."""
    for value in values.values() if type(values) is dict else values:
        kind = type(value)
        if kind is float or ((kind is dict or kind is list or kind is tuple) and _has_float(value)):
            return True
    return False


def encode_line(d: dict[str, Any]) -> str:
    """``d`` as compact JSON, exactly as ``_ENCODE`` writes it."""
    if _has_float(d):
        return _ENCODE(d)
    try:
        return orjson.dumps(d, option=_ORJSON_STRICT).decode()
    except TypeError:  # (orjson.JSONEncodeError is one: a big integer, a lone surrogate, a subclass, ...)
        return _ENCODE(d)


def bead_line(bead: Bead | dict[str, Any]) -> str:
    return go_escaped(encode_line(ordered_bead_dict(bead)))


def go_escaped(text: str) -> str:
    for raw, escaped in _GO_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


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


def _explain(path: Path, lineno: int, line: str) -> Bead:
    """Re-parse a line that failed validation, step by step, to raise the clearest LedgerError."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as e:
        raise LedgerError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})") from e
    if not isinstance(raw, dict):
        raise LedgerError(f"{path}:{lineno}: expected a JSON object, got {type(raw).__name__}")
    try:
        return Bead.model_validate(raw)
    except ValidationError as e:
        bid = raw.get("id", "?")
        raise LedgerError(f"{path}:{lineno}: issue {bid}: {_field_of(e)}") from e


def parse_jsonl(path: Path, data: bytes | None = None, lines: list[str] | None = None) -> list[Bead]:
    """Parse and validate every line (of ``data``, else of the file); the first bad line raises
    LedgerError naming file, line and field. ``lines``, if given, receives each bead's raw line."""
    try:
        raw_bytes = path.read_bytes() if data is None else data
    except FileNotFoundError as e:
        raise LedgerError(f"{path}: no such file") from e
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        lineno = raw_bytes[: e.start].count(b"\n") + 1
        raise LedgerError(f"{path}:{lineno}: not UTF-8 ({e.reason})") from e
    beads: list[Bead] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            bead = Bead.model_validate_json(line)
        except ValidationError:
            bead = _explain(path, lineno, line)  # raises, naming the line and the field
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
        if lines is not None:
            lines.append(line)
    return beads


@dataclass(frozen=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
