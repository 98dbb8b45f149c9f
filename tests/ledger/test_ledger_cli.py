from __future__ import annotations

import json

from gastown.cli import main


def run(capsys, *argv):
    code = main(["bead", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_create_ready_update_close(tmp_path, capsys):
    db = ["--db", str(tmp_path / "beads.db")]
    code, out, _ = run(capsys, "create", "Later", "-p", "3", "--json", *db)
    later = json.loads(out)
    assert code == 0 and later["priority"] == 3 and later["id"].startswith("gt-")
    _, out, _ = run(capsys, "create", "Sooner", "-p", "1", "--json", *db)
    sooner = json.loads(out)
    _, out, _ = run(capsys, "create", "Blocked", "--json", *db)
    blocked = json.loads(out)
    assert run(capsys, "dep", "add", blocked["id"], sooner["id"], *db)[0] == 0

    code, out, _ = run(capsys, "ready", "--json", "--limit", "0", *db)
    got = json.loads(out)
    assert code == 0 and [b["id"] for b in got] == [sooner["id"], later["id"]]
    assert got[0]["title"] == "Sooner" and got[0]["status"] == "open" and "created_at" in got[0]

    assert run(capsys, "close", sooner["id"], "-r", "done", *db)[0] == 0
    _, out, _ = run(capsys, "ready", "--json", "--limit", "0", *db)
    assert [b["id"] for b in json.loads(out)] == [blocked["id"], later["id"]]  # P2 before P3
    _, out, _ = run(capsys, "update", later["id"], "--status", "in_progress", "--json", *db)
    assert json.loads(out)["status"] == "in_progress"
    _, out, _ = run(capsys, "comment", later["id"], "hello", "--author", "me", "--json", *db)
    assert json.loads(out)["comments"][0]["text"] == "hello"
    _, out, _ = run(capsys, "list", "--status", "closed", "--json", *db)
    assert [b["id"] for b in json.loads(out)] == [sooner["id"]]

    export = tmp_path / "issues.jsonl"
    _, out, _ = run(capsys, "export", str(export), "--json", *db)
    assert json.loads(out)["changed"] is True and len(export.read_text().splitlines()) == 3
    code, out, _ = run(capsys, "import", str(export), "--json", "--db", str(tmp_path / "other.db"))
    assert code == 0 and json.loads(out)["created"] == 3


def test_cli_errors_exit_1_with_message(tmp_path, capsys):
    db = ["--db", str(tmp_path / "beads.db")]
    code, out, err = run(capsys, "show", "gt-nope", *db)
    assert code == 1 and out == "" and err.strip() == "gastown: error: bead not found: gt-nope"
    a = json.loads(run(capsys, "create", "a", "--json", *db)[1])
    b = json.loads(run(capsys, "create", "b", "--json", *db)[1])
    run(capsys, "dep", "add", a["id"], b["id"], *db)
    code, _, err = run(capsys, "dep", "add", b["id"], a["id"], *db)
    assert code == 1 and f"{b['id']} -> {a['id']} -> {b['id']}" in err


def test_cli_default_db_under_git_toplevel(tmp_path, capsys, monkeypatch):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert run(capsys, "create", "x")[0] == 0
    assert (tmp_path / ".gastown" / "beads.db").is_file()
    assert not (sub / ".gastown").exists()
