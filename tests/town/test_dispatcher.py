"""The dispatcher's conflict radar decisions: what counts as in flight in hold and serialize modes."""

from __future__ import annotations

import asyncio

from gastown.ledger.model import Bead
from gastown.town.bus import RadarOverlap
from gastown.town.queue import MergeRequest
from gastown.town.town import Town


async def test_hold_waits_for_running_polecats_serialize_also_for_unmerged_branches(plain_town: Town):
    town = plain_town
    d = town.dispatcher
    d.radar.declare("gt-run", ["calc/__init__.py"])
    d.radar.observe("gt-queued", ["docs/usage.md"])  # written by a finished polecat, not merged yet
    d.running["gt-run"] = asyncio.get_running_loop().create_future()
    town.refinery.queue.append(MergeRequest(bead_id="gt-queued", branch="polecat/gt-queued", commit="0" * 40))
    candidate = Bead(id="gt-new", title="t", metadata={"files": ["calc/__init__.py", "docs/"]})
    try:
        town.settings.conflict_radar = "hold"
        assert d._overlaps(candidate) == {"gt-run": ["calc/__init__.py"]}
        town.settings.conflict_radar = "serialize"
        assert d._overlaps(candidate) == {"gt-run": ["calc/__init__.py"], "gt-queued": ["docs/usage.md"]}
        del d.running["gt-run"]
        assert d._overlaps(Bead(id="gt-x", title="t", metadata={"files": ["README.md"]})) == {}
    finally:
        d.running.clear()
        town.refinery.queue.clear()


async def test_a_held_bead_is_published_and_commented_once(plain_town: Town):
    town = plain_town
    seen = []
    town.bus.subscribe(lambda e: seen.append(e) if isinstance(e, RadarOverlap) else None)
    bead = await town.store.create("Edit add", metadata={"files": ["calc/__init__.py"]})
    for _ in range(2):
        await town.dispatcher._hold(bead, {"gt-other": ["calc/__init__.py"]}, "hold")
    assert [(e.bead_id, e.held, e.overlaps) for e in seen] == [(bead.id, True, {"gt-other": ["calc/__init__.py"]})] * 2
    comments = [c.text for c in (await town.store.get(bead.id)).comments or []]
    assert comments == ["Conflict radar: held back until its polecat finishes (overlapping files — "
                        "gt-other: calc/__init__.py)"]
