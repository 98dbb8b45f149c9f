"""The town snapshot behind `gastown feed` (real SQLite ledger): natural id order, what needs the Overseer,
the waiting question read from the bead's comments; `--set` pairs; the doctor's rendering."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gastown.config_sources import ConfigError, parse_assignments
from gastown.doctor import Check, DoctorReport, render
from gastown.ledger.model import Status
from gastown.ledger.store import Store
from gastown.town.snapshot import take_snapshot, waiting_question


async def test_snapshot_orders_ids_naturally_and_lists_blocked_beads(tmp_path: Path):
    db = tmp_path / ".gastown" / "beads.db"
    db.parent.mkdir()
    async with await Store.open(db) as store:
        epic = await store.create(title="Goal", issue_type="epic")
        kids = [await store.create(title=f"Task {n}", parent=epic.id) for n in range(1, 12)]
        for kid in kids:
            status = Status.REVIEW if kid.id.endswith((".2", ".10")) else Status.BLOCKED if kid.id.endswith(
                (".3", ".11")) else Status.OPEN
            await store.update(kid.id, status=status)
        await store.add_comment(f"{epic.id}.11", "polecat-x", "Gave up: the tests never pass")
    snap = await take_snapshot(tmp_path)
    assert [q.bead_id for q in snap.queue] == [f"{epic.id}.2", f"{epic.id}.10"]
    assert [(n.bead_id, n.why) for n in snap.needs_you] == [(f"{epic.id}.3", "blocked"), (f"{epic.id}.11", "blocked")]
    assert snap.needs_you[1].text == "Gave up: the tests never pass"
    assert snap.beads_by_status == {"blocked": 2, "open": 8, "review": 2}


async def test_waiting_question_is_the_last_unanswered_one(tmp_path: Path):
    async with await Store.open(tmp_path / "beads.db") as store:
        bead = await store.create(title="t")
        assert waiting_question(bead) is None
        await store.add_comment(bead.id, "polecat-a", "Question for the Overseer: tabs or spaces?")
        assert waiting_question(await store.get(bead.id)) == "tabs or spaces?"
        await store.add_comment(bead.id, "overseer", "Answer: tabs")
        assert waiting_question(await store.get(bead.id)) is None
        await store.add_comment(bead.id, "polecat-a", "Blocked; asks the Overseer: no network")
        assert waiting_question(await store.get(bead.id)) == "no network"


def test_set_pairs_nest_and_parse_values():
    assert parse_assignments(["polecats.stallSeconds=30", "planApproval=true", "verifyCommand=make test",
                              'provider.model="gpt-4.1"', "polecats.denyCommands=['rm']"]) == {
        "polecats": {"stallSeconds": 30, "denyCommands": ["rm"]}, "planApproval": True,
        "verifyCommand": "make test", "provider": {"model": "gpt-4.1"}}
    for bad in ("maxPolecats", "=3", "polecats..x=1"):
        with pytest.raises(ConfigError, match="expected KEY=VALUE"):
            parse_assignments([bad])


def test_doctor_render_marks_and_fixes():
    report = DoctorReport(ok=False, checks=[
        Check(name="git", ok=True, detail="git version 2.39"),
        Check(name="sandbox", ok=False, level="warning", detail="no bwrap", fix="sudo apt-get install bubblewrap"),
        Check(name="ledger", ok=False, detail="corrupt", fix="gastown bead rebuild")])
    text = render(report)
    assert "✔ git" in text and "! sandbox" in text and "✘ ledger" in text
    assert "fix: gastown bead rebuild" in text and "fix: sudo apt-get install bubblewrap" in text
    assert text.endswith("1 check(s) failed: ledger")


async def test_status_and_feed_list_runs_in_natural_order(tmp_path: Path, capsys):
    """`gastown status --json` and the feed's agents: gt-x.2 before gt-x.10 (runs recorded out of order)."""
    import json

    from gastown.cli import main
    from gastown.town.records import RunRecords

    (tmp_path / ".gastown").mkdir()
    records = await RunRecords.open(tmp_path / ".gastown" / "town.db")
    try:
        for n in (10, 2, 1, 11):
            run = await records.start_run(f"gt-x.{n}", f"polecat-{n}")
            await records.end_run(run.id, "failed", detail="boom")
    finally:
        await records.close()
    want = ["gt-x.1", "gt-x.2", "gt-x.10", "gt-x.11"]
    assert [a.bead_id for a in (await take_snapshot(tmp_path)).agents] == want
    assert await asyncio.to_thread(main, ["status", "--json", "--workspace", str(tmp_path)]) == 0
    assert [r["bead_id"] for r in json.loads(capsys.readouterr().out)["runs"]] == want
