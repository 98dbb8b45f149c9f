"""`gastown convoy create|add|list|show`: a convoy is a Beads-compatible bead (type convoy, `tracks`
dependencies) in the git-synced JSONL; a refused command writes nothing, neither to the database nor the JSONL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from gastown.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def new_bead(capsys, title: str, *extra: str) -> str:
    code, out, err = run(capsys, "bead", "create", title, "--json", *extra)
    assert code == 0, err
    return json.loads(out)["id"]


def snapshot(root: Path) -> tuple[bytes, list[tuple]]:
    """The JSONL's bytes and every row of the database's issues and dependencies."""
    with sqlite3.connect(root / ".gastown" / "beads.db") as conn:
        rows = conn.execute("SELECT id, data FROM issues ORDER BY id").fetchall()
        rows += conn.execute("SELECT issue_id, depends_on_id, type FROM dependencies ORDER BY 1, 2, 3").fetchall()
    return (root / ".beads" / "issues.jsonl").read_bytes(), rows


def test_create_add_list_show(ledger: Path, capsys):
    epic = new_bead(capsys, "Goal one", "-t", "epic")
    a = new_bead(capsys, "A", "--parent", epic)
    b = new_bead(capsys, "B", "--parent", epic)
    c = new_bead(capsys, "C")

    code, out, _ = run(capsys, "convoy", "create", "release-1", epic, "--json")
    made = json.loads(out)
    assert code == 0 and made["name"] == "release-1" and made["tracked"] == [epic]
    assert [m["id"] for m in made["members"]] == [a, b]  # the epic stands for its beads
    assert (made["total"], made["merged"], made["landed"]) == (2, 0, 0)

    # Stored as Beads stores a convoy: its own bead, `tracks` edges; the JSONL has it for git.
    line = next(json.loads(x) for x in (ledger / ".beads" / "issues.jsonl").read_text().splitlines()
                if json.loads(x)["id"] == made["id"])
    assert line["issue_type"] == "convoy" and line["title"] == "release-1"
    assert [(d["depends_on_id"], d["type"]) for d in line["dependencies"]] == [(epic, "tracks")]
    # A convoy is never work: not ready, and it blocks nothing it tracks.
    code, out, _ = run(capsys, "bead", "ready", "--json")
    assert made["id"] not in {r["id"] for r in json.loads(out)} and {a, b, c} <= {r["id"] for r in json.loads(out)}

    assert run(capsys, "bead", "close", a)[0] == 0
    code, out, _ = run(capsys, "convoy", "add", "release-1", c, a, "--json")  # a is already counted: once
    added = json.loads(out)
    assert code == 0 and added["tracked"] == [epic, c, a] and [m["id"] for m in added["members"]] == [a, b, c]
    assert (added["total"], added["merged"]) == (3, 1)

    code, out, _ = run(capsys, "convoy", "list")
    assert code == 0 and out.strip() == f"{made['id']}  release-1  [open]  1/3 merged, 0/3 landed"
    code, out, _ = run(capsys, "convoy", "show", "release-1")
    assert code == 0 and out.splitlines()[2:] == [f"  {a}  [merged]  A", f"  {b}  [open]  B", f"  {c}  [open]  C"]
    code, out, _ = run(capsys, "convoy", "show", made["id"], "--json")  # by id too
    assert json.loads(out)["name"] == "release-1"


def test_errors_name_the_problem_and_write_nothing(ledger: Path, capsys):
    a = new_bead(capsys, "A")
    b = new_bead(capsys, "B")
    assert run(capsys, "convoy", "create", "r1", a)[0] == 0
    before = snapshot(ledger)

    code, out, err = run(capsys, "convoy", "create", "r2", b, "gt-nope")
    assert code == 1 and out == "" and "unknown bead 'gt-nope'" in err
    code, _, err = run(capsys, "convoy", "create", "r1", b)
    assert code == 1 and "a convoy named 'r1' already exists" in err
    code, _, err = run(capsys, "convoy", "add", "r1", b, "gt-nope")
    assert code == 1 and "unknown bead 'gt-nope'" in err
    code, _, err = run(capsys, "convoy", "add", "nope", b)
    assert code == 1 and "no convoy named 'nope' (convoys: r1)" in err
    code, _, err = run(capsys, "convoy", "show", "nope")
    assert code == 1 and "no convoy named 'nope'" in err
    convoy_id = json.loads(run(capsys, "convoy", "show", "r1", "--json")[1])["id"]
    code, _, err = run(capsys, "convoy", "create", "r3", convoy_id)
    assert code == 1 and "is a convoy itself" in err
    code, _, err = run(capsys, "convoy", "create", "  ", a)
    assert code == 1 and "a convoy needs a name" in err

    assert snapshot(ledger) == before
    with pytest.raises(SystemExit) as usage:  # no bead at all: argparse's usage error
        main(["convoy", "create", "r4"])
    assert usage.value.code == 2
