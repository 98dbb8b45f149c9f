"""The command line's light read path: `bead ready/list/show/blocked` answer from the stored lines with
plain sqlite3 when nothing needs importing — same bytes as the Store path, no stale answers, and a
process that loads neither pydantic nor asyncio (nor the town)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gastown.cli import main
from gastown.cli.bead import natural_ties
from gastown.ledger.ids import natural_key
from gastown.ledger.store import Store
from gastown.ledger.sync import ordered_bead_dict

_PROBE = """
import sys
from gastown.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("pydantic", "asyncio", "aiosqlite", "git", "pygls", "gastown.town", "gastown.runtime",
                           "typing", "gastown.ledger.model") if m in sys.modules)
print("LOADED " + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


def _gastown(repo: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PROBE, *argv], cwd=repo, capture_output=True, text=True,
                          timeout=120)


def _town(tmp_path: Path, fixture_path: Path) -> Path:
    repo = tmp_path / "town"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    out = _gastown(repo, "bead", "import", str(fixture_path))
    assert out.returncode == 0, out.stderr
    return repo


def _loaded(proc: subprocess.CompletedProcess) -> str:
    return [line for line in proc.stderr.splitlines() if line.startswith("LOADED")][-1]


async def test_light_reads_match_the_store_and_load_only_the_ledger(tmp_path, fixture_path):
    repo = _town(tmp_path, fixture_path)
    ready = _gastown(repo, "bead", "ready", "--json", "--limit", "100")
    listed = _gastown(repo, "bead", "list", "--status", "open", "--limit", "50", "--json")
    blocked = _gastown(repo, "bead", "blocked", "--json")
    for proc in (ready, listed, blocked):
        assert proc.returncode == 0, proc.stderr
        assert _loaded(proc) == "LOADED ", proc.stderr  # the light path: none of the heavy modules
    async with await Store.open(repo / ".gastown" / "beads.db") as store:
        want_ready = natural_ties([ordered_bead_dict(b) for b in await store.ready(limit=100)])
        want_list = natural_ties([ordered_bead_dict(b) for b in await store.list(status="open", limit=50)])
        want_blocked = natural_ties([ordered_bead_dict(b) for b in await store.blocked()])
        some = (await store.list(limit=1))[0]
    assert len(want_ready) > 10 and len(want_list) == 50 and want_blocked
    assert ready.stdout == json.dumps(want_ready, ensure_ascii=False, indent=2) + "\n"
    assert listed.stdout == json.dumps(want_list, ensure_ascii=False, indent=2) + "\n"
    assert blocked.stdout == json.dumps(want_blocked, ensure_ascii=False, indent=2) + "\n"

    shown = _gastown(repo, "bead", "show", some.id, "--json")
    assert shown.returncode == 0 and _loaded(shown) == "LOADED "
    assert json.loads(shown.stdout) == ordered_bead_dict(some)
    text = _gastown(repo, "bead", "show", some.id)
    assert text.stdout.startswith(f"{some.id}  [P{some.priority} {some.issue_type} {some.status}]")


def test_a_changed_jsonl_is_imported_before_a_read(tmp_path, fixture_path):
    repo = _town(tmp_path, fixture_path)
    jsonl = repo / ".beads" / "issues.jsonl"
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["title"] = "renamed underneath by git pull"
    first["updated_at"] = "2030-01-01T00:00:00Z"
    lines[0] = json.dumps(first, ensure_ascii=False, separators=(",", ":"))
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")

    shown = _gastown(repo, "bead", "show", first["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == "renamed underneath by git pull"
    assert "pydantic" in _loaded(shown)  # the Store path imported the change
    again = _gastown(repo, "bead", "show", first["id"], "--json")
    assert json.loads(again.stdout)["title"] == "renamed underneath by git pull"
    assert _loaded(again) == "LOADED "  # in step again: back on the light path


def test_a_missing_bead_is_reported_as_before(tmp_path, fixture_path):
    repo = _town(tmp_path, fixture_path)
    out = _gastown(repo, "bead", "show", "bd-nope")
    assert out.returncode == 1
    assert "gastown: error: bead not found: bd-nope" in out.stderr


def test_natural_key_orders_hierarchical_ids():
    ids = ["gt-x.10", "gt-x.2", "gt-x", "gt-x.1.3", "gt-x.1", "gt-x.1.10"]
    assert sorted(ids, key=natural_key) == ["gt-x", "gt-x.1", "gt-x.1.3", "gt-x.1.10", "gt-x.2", "gt-x.10"]


def test_listings_show_tied_children_in_natural_order(tmp_path, capsys):
    ts = "2026-01-01T00:00:00Z"
    rows = [{"id": "gt-x", "title": "epic", "issue_type": "epic", "priority": 1, "created_at": ts, "updated_at": ts}]
    for n in (10, 2, 1, 11, 3):
        rows.append({"id": f"gt-x.{n}", "title": f"child {n}", "priority": 2, "created_at": ts, "updated_at": ts,
                     "dependencies": [{"issue_id": f"gt-x.{n}", "depends_on_id": "gt-x", "type": "parent-child"}]})
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    db = ["--db", str(tmp_path / "beads.db")]
    assert main(["bead", "import", str(src), *db]) == 0
    capsys.readouterr()
    for argv in (["list", "--parent", "gt-x"], ["ready", "--parent", "gt-x"]):
        assert main(["bead", *argv, "--json", *db]) == 0
        got = [b["id"] for b in json.loads(capsys.readouterr().out)]
        assert got == ["gt-x.1", "gt-x.2", "gt-x.3", "gt-x.10", "gt-x.11"], argv
