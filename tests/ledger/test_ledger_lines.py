"""The JSONL line of a bead is the same bytes whichever way it is rendered: orjson or the reference
encoder, from the model or (for a created bead) from the arguments of the create."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from gastown.ledger import rows, sync
from gastown.ledger.model import now_iso
from gastown.ledger.sql import FAR_FUTURE

# characters where JSON encoders differ if they differ at all: controls, DEL, Go's escapes, line
# separators, BOM, astral planes, lone surrogates
_CHARS = [chr(c) for c in [*range(0x80), 0x80, 0x9F, 0xA0, 0xE9, 0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x1F600,
                           0x10FFFF, 0xD7FF, 0xE000, 0xD800, 0xDFFF]]
_NUMBERS = [0, 1, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30, True, False, None,
            0.1, 1e16, 1e-7, 123.0, -0.0, 1e300, float("nan"), float("inf")]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth > 3 or r < 0.35:
        return "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 10)))
    if r < 0.55:
        return rng.choice(_NUMBERS)
    if r < 0.75:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if r < 0.8:
        return tuple(_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return {"".join(rng.choice(_CHARS) for _ in range(3)): _random_value(rng, depth + 1) for _ in range(3)}


def _reference(d: dict[str, Any]) -> str | type[BaseException]:
    try:
        return sync._ENCODE(d)
    except Exception as e:  # what the reference refuses, encode_line must refuse alike
        return type(e)


def _ours(d: dict[str, Any]) -> str | type[BaseException]:
    try:
        return sync.encode_line(d)
    except Exception as e:
        return type(e)


def test_encode_line_writes_exactly_what_the_reference_encoder_writes(monkeypatch):
    fast = 0
    real_dumps = orjson.dumps

    def counting_dumps(*args: Any, **kw: Any) -> bytes:
        nonlocal fast
        fast += 1
        return real_dumps(*args, **kw)

    monkeypatch.setattr(sync.orjson, "dumps", counting_dumps)
    rng = random.Random(11)
    for _ in range(20_000):
        d = {"".join(rng.choice(_CHARS) for _ in range(4)): _random_value(rng) for _ in range(rng.randint(0, 6))}
        assert _ours(d) == _reference(d), repr(d)
    assert fast > 5_000  # (most of them took orjson: the comparison above is not only the fallback's)


class _Text(str):
    pass


@pytest.mark.parametrize("value", [
    1e16, [1, {"x": [2.5]}], (1.0,), 2**64, -(2**63) - 1, "\ud800", _Text("sub"), datetime(2026, 1, 1, tzinfo=UTC),
    {1: "non-string key"}, {"nested": {"deep": [[[0.5]]]}},
])
def test_encode_line_takes_the_reference_for_what_orjson_writes_otherwise(value):
    assert _ours({"id": "gt-1", "v": value}) == _reference({"id": "gt-1", "v": value})


@pytest.mark.parametrize("kwargs", [
    {},
    {"description": "<b> & \u2028 \"quoted\"\n", "labels": ["a", "b", "a"], "assignee": "bob", "priority": 0},
    {"issue_type": "epic", "design": "", "acceptance_criteria": "ac", "notes": "n", "labels": []},
    {"actor": "mayor", "description": "\U0001f600 \x00 \x1f \x7f"},
    {"metadata": {"cost": 1.5, "none": None}},  # (metadata and extras: rendered from the model)
    {"owner": "o", "defer_until": "2030-01-01T00:00:00Z"},
])
@pytest.mark.parametrize("child", [False, True])
async def test_a_created_beads_stored_line_is_its_models_line(store, kwargs, child):
    parent = (await store.create("parent", actor="mayor")).id if child else None
    bead = await store.create("title <&> \u2029", parent=parent, **kwargs)
    with sqlite3.connect(store.db_path) as conn:
        (line, digest) = conn.execute("SELECT data, content_hash FROM issues WHERE id = ?", (bead.id,)).fetchone()
    assert line == sync.bead_line(bead)
    assert line == sync.bead_line(await store.get(bead.id))
    assert digest == rows.content_hash(line)


def test_sort_ts_takes_the_clocks_stamps_as_they_are_and_nothing_else():
    stamp = now_iso()
    assert rows.sort_ts(stamp) == stamp == rows._sort_ts(stamp)  # the same as parsing it
    assert rows.sort_ts("") == FAR_FUTURE  # (the remembered stamp starts as no string at all)
    assert rows.sort_ts("2026-02-30T00:00:00Z") == FAR_FUTURE + "2026-02-30T00:00:00Z"
    assert rows.sort_ts("2026-01-31T12:00:00+01:00") == "2026-01-31T11:00:00.000000Z"
