"""Human steps in the Beads view's rows: a poured formula's human step arrives flagged (waiting while
something blocks it, "needs you" once nothing does), and turns ready in a delta when its blocker closes,
though the delta's change was to another bead."""

from __future__ import annotations

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from tests.lsp.test_server import SERVER, open_town, request, summaries
from tests.support import eventually

pytestmark = pytest.mark.runtime

APPROVALS = '''formula = "approvals"
description = "Two sign-offs by the Overseer, then a polecat records them."
[[steps]]
id = "approve"
title = "Approve the design"
type = "human"
[[steps]]
id = "sign"
title = "Sign the release"
type = "human"
needs = ["approve"]
[[steps]]
id = "record"
title = "Record the sign-offs"
needs = ["sign"]
acceptance_criteria = "SIGNOFF.md lists both"
'''


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    await open_town(lsp_client, tmp_path)
    folder = tmp_path / "calc" / ".beads" / "formulas"
    folder.mkdir(parents=True)
    (folder / "approvals.formula.toml").write_text(APPROVALS)
    lsp_client.deltas = []

    @lsp_client.feature("gastown/beadsChanged")
    def _delta(params):
        lsp_client.deltas.append(params)

    yield
    await lsp_client.shutdown_session()


async def test_a_human_step_is_flagged_and_turns_ready_when_its_blocker_closes(client: LanguageClient):
    poured = await request(client, "gastown/runFormula", {"name": "approvals", "vars": {}})
    approve, sign, record = poured.bead_ids
    assert poured.human_bead_ids == [approve, sign]

    rows = summaries(await request(client, "gastown/beads", {"filter": "all"}))
    assert {i: (rows[i]["status"], rows[i]["human"]) for i in (approve, sign, record, poured.epic_id)} == {
        approve: ("open", 2), sign: ("open", 1), record: ("open", 0), poured.epic_id: ("open", 0)}
    ready = summaries(await request(client, "gastown/beads", {"filter": "ready"}))
    assert ready[approve]["human"] == 2 and sign not in ready and record not in ready

    # The Overseer does the first step and closes it: the second turns ready in the same delta.
    seen = len(client.deltas)
    await request(client, "gastown/updateBead", {"id": approve, "status": "closed", "reason": "approved"})

    def turned() -> dict | None:
        for note in client.deltas[seen:]:
            changed = {b.id: (b.status, b.human) for b in note.changed}
            if changed.get(approve) == ("closed", 1):
                return changed
        return None

    changed = await eventually(turned, what="the delta that closes the approval")
    assert changed[sign] == ("open", 2)
    assert record not in changed  # still blocked, by the sign-off: its row did not change
    rows = summaries(await request(client, "gastown/beads", {"filter": "all"}))
    assert (rows[approve]["human"], rows[sign]["human"], rows[record]["human"]) == (1, 2, 0)
    # Nobody dispatched it: a human step is the Overseer's.
    agents = await request(client, "gastown/agents", {})
    assert [a for a in agents.agents if a.role == "polecat"] == []
    assert (await request(client, "gastown/bead", {"id": sign})).bead.status == "open"
