from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from gastown.ledger.model import LedgerError

INTERNAL = {"merge-request", "gate", "molecule", "message", "agent", "role", "rig", "event"}


async def test_export_is_deterministic_and_minimal(store, tmp_path):
    beads = [await store.create(f"task {i}", priority=i % 5, labels=["b", "a"]) for i in range(8)]
    await store.add_dependency(beads[1].id, beads[0].id)
    await store.add_comment(beads[2].id, "me", "ünïcode & <html>")
    out = tmp_path / "repo" / ".beads" / "issues.jsonl"
    assert await store.export_jsonl(out) is True
    first = out.read_bytes()
    assert await store.export_jsonl(out) is False
    assert out.read_bytes() == first
    other = tmp_path / "again.jsonl"
    await store.export_jsonl(other)
    assert other.read_bytes() == first
    lines = first.decode().splitlines()
    assert first.endswith(b"\n") and len(lines) == 8
    assert [json.loads(x)["id"] for x in lines] == sorted(b.id for b in beads)
    assert "ünïcode \\u0026 \\u003chtml\\u003e" in first.decode()  # raw UTF-8, Go-style HTML escapes
    assert list(json.loads(lines[0]))[:3] == ["id", "title", "status"]

    await store.update(beads[5].id, status="in_progress")
    assert await store.export_jsonl(out) is True
    new_lines = out.read_text().splitlines()
    assert len(new_lines) == len(lines)
    diff = [i for i, (a, b) in enumerate(zip(lines, new_lines, strict=True)) if a != b]
    assert len(diff) == 1 and json.loads(new_lines[diff[0]])["id"] == beads[5].id
    assert not list(out.parent.glob("*.tmp"))


async def test_fixture_round_trips(store, fixture_path, tmp_path):
    result = await store.import_jsonl(fixture_path)
    source = fixture_path.read_text(encoding="utf-8")
    expected = {d["id"]: d for d in map(json.loads, source.splitlines())}
    assert result.created == len(expected) == 2210 and result.updated == result.unchanged == 0
    out = tmp_path / "issues.jsonl"
    await store.export_jsonl(out)
    exported = {d["id"]: d for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert exported.keys() == expected.keys()
    mismatched = [i for i in expected if exported[i] != expected[i]]
    assert mismatched == []
    # The fixture is a Beads export sorted by id: ours is byte-identical to it.
    assert out.read_text(encoding="utf-8") == source
    again = await store.import_jsonl(out)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2210)


def _expected_ready(raw: list[dict]) -> list[str]:
    """An independent reading of the DESIGN rules, straight from the JSON."""
    by_id = {d["id"]: d for d in raw}
    kids = defaultdict(list)
    for d in raw:
        for dep in d.get("dependencies", []):
            if dep["type"] == "parent-child":
                kids[dep["depends_on_id"]].append(d["id"])

    def done(i):
        return by_id[i]["status"] in ("closed", "tombstone")

    def is_blocked(i, seen=()):
        for dep in by_id[i].get("dependencies", []):
            t, target = dep["type"], dep["depends_on_id"]
            if t in ("blocks", "conditional-blocks") and target in by_id and not done(target):
                return True
            if t == "waits-for" and any(c in by_id and not done(c) for c in kids[target]):
                return True
            if (
                t == "parent-child"
                and target in by_id
                and target not in seen
                and is_blocked(target, (*seen, i))
            ):
                return True
        return False

    now = datetime.now(UTC)
    out = [
        d
        for d in raw
        if d["status"] == "open"
        and d["issue_type"] not in INTERNAL
        and not d.get("ephemeral")
        and not d.get("pinned")
        and not (d.get("defer_until") and datetime.fromisoformat(d["defer_until"]) > now)
        and not is_blocked(d["id"])
    ]
    out.sort(key=lambda d: (d["priority"], datetime.fromisoformat(d["created_at"]), d["id"]))
    return [d["id"] for d in out]


async def test_ready_on_fixture_matches_independent_expectation(store, fixture_path):
    await store.import_jsonl(fixture_path)
    raw = [json.loads(x) for x in fixture_path.read_text(encoding="utf-8").splitlines()]
    expected = _expected_ready(raw)
    got = [b.id for b in await store.ready()]
    assert got == expected
    open_work = [d for d in raw if d["status"] == "open" and d["issue_type"] not in INTERNAL]
    assert 0 < len(expected) < len(open_work)  # some open work really is blocked
    assert [b.id for b in await store.ready(limit=5)] == expected[:5]


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ('{"id":"bd-2","title":"two","priority":9}', "field 'priority'"),
        ('{"id":"bd-2","title":""}', "field 'title'"),
        ('{"id":"bd-2","title":"two",', "invalid JSON"),
        ('{"id":"bd-1","title":"dup"}', "duplicate id"),
    ],
)
async def test_malformed_line_names_line_and_imports_nothing(store, tmp_path, bad, needle):
    path = tmp_path / "bad.jsonl"
    good1 = json.dumps({"id": "bd-1", "title": "one"})
    good3 = json.dumps({"id": "bd-3", "title": "three"})
    path.write_text("\n".join([good1, good3, bad, good3.replace("bd-3", "bd-4")]) + "\n")
    with pytest.raises(LedgerError) as err:
        await store.import_jsonl(path)
    message = str(err.value)
    assert f"{path}:3:" in message and needle in message
    assert await store.list() == [] and store.version == 0


async def test_import_newer_updated_at_wins(store, tmp_path):
    base = {"status": "open", "priority": 2, "issue_type": "task", "created_at": "2026-01-01T00:00:00Z"}
    path = tmp_path / "issues.jsonl"

    def write(rows):
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    write(
        [
            {"id": "bd-a", "title": "a1", **base, "updated_at": "2026-01-02T00:00:00Z"},
            {"id": "bd-b", "title": "b1", **base, "updated_at": "2026-01-02T00:00:00Z"},
        ]
    )
    await store.import_jsonl(path)
    write(
        [
            # newer (an earlier wall time string but a later instant: 2026-01-02T01:00Z)
            {"id": "bd-a", "title": "a2", **base, "updated_at": "2026-01-01T17:00:00-08:00"},
            {"id": "bd-b", "title": "b-old", **base, "updated_at": "2026-01-01T00:00:00Z"},
            {"id": "bd-c", "title": "c", **base, "updated_at": "2026-01-01T00:00:00Z"},
        ]
    )
    result = await store.import_jsonl(path)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert (await store.get("bd-a")).title == "a2"
    assert (await store.get("bd-b")).title == "b1"
    assert (await store.get("bd-c")).title == "c"


async def test_import_skips_identical_content_by_hash_and_bumps_nothing(store, tmp_path, fixture_path):
    await store.import_jsonl(fixture_path)
    version = store.version
    some = (await store.list())[0]
    events_before = await store.events(some.id)
    again = await store.import_jsonl(fixture_path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2210)
    assert store.version == version and await store.events(some.id) == events_before
    assert await store.import_if_changed(fixture_path) is None  # same bytes as last time: not even parsed


async def test_import_equal_timestamp_different_content_takes_incoming(store, tmp_path):
    path = tmp_path / "issues.jsonl"
    row = {"id": "bd-a", "title": "one", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z"}
    path.write_text(json.dumps(row) + "\n")
    await store.import_jsonl(path)
    path.write_text(json.dumps({**row, "title": "two"}) + "\n")
    assert (await store.import_jsonl(path)).updated == 1
    assert (await store.get("bd-a")).title == "two"
    assert [e.event_type for e in await store.events("bd-a")] == ["created", "updated"]


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ('{"id":"bd-2","title":"t","dependencies":[{"issue_id":"bd-2","depends_on_id":7}]}',
         "field 'dependencies.0.depends_on_id'"),
        ('{"id":"bd-2","title":"t","dependencies":[{"issue_id":"bd-9","depends_on_id":"bd-1"}]}',
         "field 'dependencies.issue_id'"),
        ('{"id":"bd-2","title":"t","comments":[{"author":"x"}]}', "field 'comments.0.text'"),
        ('["not", "an", "object"]', "expected a JSON object"),
        ('{"title":"no id"}', "field 'id'"),
    ],
)
async def test_malformed_nested_fields_are_named(store, tmp_path, bad, needle):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id":"bd-1","title":"one"}\n\n' + bad + "\n")
    existing = await store.create("already here")
    with pytest.raises(LedgerError) as err:
        await store.import_jsonl(path)
    assert f"{path}:3:" in str(err.value) and needle in str(err.value)
    assert [b.id for b in await store.list()] == [existing.id]


async def test_not_utf8_names_the_line(store, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id":"bd-1","title":"one"}\n{"id":"bd-2","title":"\xff"}\n')
    with pytest.raises(LedgerError, match=r"bad.jsonl:2: not UTF-8"):
        await store.import_jsonl(path)
    assert await store.list() == []


async def test_line_separators_inside_strings_survive(store, tmp_path):
    path = tmp_path / "odd.jsonl"
    text = "next\u0085line\u2028sep\x1cfs"
    path.write_text(json.dumps({"id": "bd-1", "title": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    await store.import_jsonl(path)
    assert (await store.get("bd-1")).title == text
