"""Every `gastown bead` command with --json, and the CLI's own JSONL sync in a git repository."""

from __future__ import annotations

import json
import subprocess

from gastown.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def js(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_every_command_json(tmp_path, capsys):
    db = ["--db", str(tmp_path / "beads.db")]
    epic = js(capsys, "bead", "create", "Epic", "-t", "epic", "-p", "1", "-l", "goal", *db)
    a = js(capsys, "bead", "create", "Alpha", "--parent", epic["id"], "--acceptance", "works", *db)
    b = js(capsys, "bead", "create", "Beta", "--parent", epic["id"], "--deps", a["id"], *db)
    assert a["id"] == epic["id"] + ".1" and b["dependencies"][-1]["depends_on_id"] == a["id"]
    assert js(capsys, "bead", "show", a["id"], *db)["acceptance_criteria"] == "works"
    assert [x["id"] for x in js(capsys, "bead", "show", a["id"], b["id"], *db)] == [a["id"], b["id"]]
    assert [x["id"] for x in js(capsys, "bead", "list", "--parent", epic["id"], *db)] == [a["id"], b["id"]]
    assert [x["id"] for x in js(capsys, "bead", "list", "-l", "goal", *db)] == [epic["id"]]
    assert [x["id"] for x in js(capsys, "bead", "ready", *db)] == [epic["id"], a["id"]]
    assert [x["id"] for x in js(capsys, "bead", "ready", "--limit", "1", *db)] == [epic["id"]]
    assert [x["id"] for x in js(capsys, "bead", "ready", "--parent", epic["id"], *db)] == [a["id"]]
    assert [x["id"] for x in js(capsys, "bead", "blocked", *db)] == [b["id"]]

    claimed = js(capsys, "bead", "claim", a["id"], "--actor", "polecat-1", *db)
    assert claimed["status"] == "in_progress" and claimed["assignee"] == "polecat-1"
    code, out, err = run(capsys, "bead", "claim", a["id"], "--actor", "polecat-2", "--json", *db)
    assert code == 1 and out == "" and "cannot be claimed" in err and "polecat-1" in err

    assert js(capsys, "bead", "label", "add", a["id"], "x", "y", *db)["labels"] == ["x", "y"]
    assert js(capsys, "bead", "label", "remove", a["id"], "x", *db)["labels"] == ["y"]
    assert js(capsys, "bead", "comment", a["id"], "done soon", "--author", "p1", *db)["comments"][0]["author"] == "p1"
    up = js(capsys, "bead", "update", a["id"], "--notes", "n", "--owner", "me", "-p", "0", *db)
    assert (up["notes"], up["owner"], up["priority"]) == ("n", "me", 0)
    assert "notes" not in js(capsys, "bead", "update", a["id"], "--notes", "", *db)
    closed = js(capsys, "bead", "close", a["id"], "-r", "shipped", *db)
    assert closed["status"] == "closed" and closed["close_reason"] == "shipped"
    assert [x["id"] for x in js(capsys, "bead", "ready", "--limit", "0", *db)] == [epic["id"], b["id"]]
    reopened = js(capsys, "bead", "reopen", a["id"], *db)
    assert reopened["status"] == "open" and "closed_at" not in reopened
    events = js(capsys, "bead", "events", a["id"], *db)
    assert [e["event_type"] for e in events][-2:] == ["closed", "reopened"]

    tree = js(capsys, "bead", "dep", "tree", b["id"], *db)
    assert {c["id"] for c in tree["children"]} == {epic["id"], a["id"]}
    code, out, _ = run(capsys, "bead", "dep", "tree", b["id"], *db)
    assert code == 0 and f"└── blocks: {a['id']}" in out
    assert js(capsys, "bead", "dep", "remove", b["id"], a["id"], *db)["dependencies"][-1]["type"] == "parent-child"
    assert js(capsys, "bead", "dep", "add", b["id"], a["id"], "-t", "related", *db)["dependencies"][-1]["type"] == "related"
    assert js(capsys, "bead", "dep", "cycles", *db) == []
    assert [x["id"] for x in js(capsys, "bead", "search", "alpha", *db)] == [a["id"]]

    out_path = tmp_path / "out.jsonl"
    assert js(capsys, "bead", "export", str(out_path), *db)["changed"] is True
    other = ["--db", str(tmp_path / "other.db")]
    assert js(capsys, "bead", "import", str(out_path), *other)["created"] == 3
    assert js(capsys, "bead", "import", str(out_path), *other)["unchanged"] == 3
    assert js(capsys, "bead", "show", a["id"], *other) == js(capsys, "bead", "show", a["id"], *db)


def test_bad_arguments_are_clear(tmp_path, capsys):
    db = ["--db", str(tmp_path / "beads.db")]
    code, _, err = run(capsys, "bead", "update", "gt-nope", "--title", "x", *db)
    assert code == 1 and "bead not found: gt-nope" in err
    a = js(capsys, "bead", "create", "a", *db)
    code, _, err = run(capsys, "bead", "update", a["id"], *db)
    assert code == 1 and "nothing to update" in err
    code, _, err = run(capsys, "bead", "import", str(tmp_path / "missing.jsonl"), *db)
    assert code == 1 and "missing.jsonl: no such file" in err


def test_default_paths_sync_with_the_repository_jsonl(tmp_path, capsys, monkeypatch):
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo)
    jsonl = repo / ".beads" / "issues.jsonl"
    a = js(capsys, "bead", "create", "written by the CLI")
    assert json.loads(jsonl.read_text())["id"] == a["id"]  # exported after the write
    before = jsonl.read_bytes()
    js(capsys, "bead", "list")  # a read does not rewrite the file
    assert jsonl.read_bytes() == before

    # the file changes underneath (a git pull): the next command sees it
    row = json.loads(jsonl.read_text())
    row["title"] = "renamed on another machine"
    row["updated_at"] = "2999-01-01T00:00:00Z"
    pulled = {"id": "gt-zz99", "title": "pulled", "created_at": "2026-01-01T00:00:00Z",
              "updated_at": "2026-01-01T00:00:00Z"}
    jsonl.write_text(json.dumps(pulled) + "\n" + json.dumps(row) + "\n")
    titles = {x["id"]: x["title"] for x in js(capsys, "bead", "list")}
    assert titles == {a["id"]: "renamed on another machine", "gt-zz99": "pulled"}
    assert js(capsys, "bead", "list", "--no-sync") != []


def test_init_outside_git_and_state_dir_excluded(tmp_path, capsys):
    code, _, err = run(capsys, "init", str(tmp_path))
    assert code == 1 and "not a git repository" in err and not (tmp_path / ".gastown").exists()
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".beads").mkdir()
    row = {"id": "bd-1", "title": "from an existing Beads repo", "created_at": "2026-01-01T00:00:00Z",
           "updated_at": "2026-01-01T00:00:00Z"}
    (repo / ".beads" / "issues.jsonl").write_text(json.dumps(row) + "\n")
    info = js(capsys, "init", str(repo))
    assert info["imported"] == {"created": 1, "updated": 0, "unchanged": 0} and info["beads"] == 1
    assert ".gastown/" in (repo / ".git" / "info" / "exclude").read_text().splitlines()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert ".gastown" not in status and ".gitattributes" in status
