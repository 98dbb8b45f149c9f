"""A run record this town left live (its polecat stopped before it could end it, as when a runtime host is lost
mid-cleanup) does not keep the bead from being worked again; another live polecat's record still does."""

from __future__ import annotations

import pytest

from gastown.ledger.model import Bead
from gastown.town.polecat import polecat_name
from gastown.town.records import PolecatBusy, RunRecords
from gastown.town.town import Town

SCENARIO = {"rules": [
    {"name": "worker", "match": r"Title: Stale (?P<n>\d+)\b.*?Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/s{{n}}.py", "file_text": "S = {{n}}\n"}}]},
        {"tool_calls": [{"name": "report_done", "arguments": {"summary": "s{{n}} written"}}]},
        {"text": "Done."},
    ]},
]}


async def _claimed(town_of, title: str) -> tuple[Town, RunRecords, Bead]:
    """A town and one claimed bead of a goal, titled ``title`` (the scenario's worker matches it)."""
    town = await town_of(SCENARIO)
    store, records = town.store, town.records
    assert store is not None and records is not None
    epic = await store.create("Stale goal", issue_type="epic")
    bead = await store.claim((await store.create(title, parent=epic.id)).id, polecat_name(f"{epic.id}.1"))
    assert bead is not None
    return town, records, bead


async def test_a_run_this_town_left_live_is_ended_and_the_bead_runs(town_of):
    town, records, bead = await _claimed(town_of, "Stale 1")
    left = await records.start_run(bead.id, polecat_name(bead.id))  # never ended: its polecat was stopped

    result = await town.dispatcher.run_polecat(bead)

    assert result.commit and result.files == ["s1.py"] and result.summary == "s1 written"
    runs = await records.runs(bead.id)
    assert [(r.id, r.live, r.exit_reason) for r in runs] == [(left.id, False, "crashed"), (runs[1].id, False, "done")]


async def test_a_live_run_of_another_town_still_keeps_the_bead(town_of):
    town, records, bead = await _claimed(town_of, "Stale 2")
    other = await RunRecords.open(records.path)  # another town on the same records, in a live process
    try:
        held = await other.start_run(bead.id, "polecat-elsewhere")
        with pytest.raises(PolecatBusy):
            await town.dispatcher.run_polecat(bead)
        assert (await records.run(held.id)).live  # not ours: left alone
    finally:
        await other.close()
