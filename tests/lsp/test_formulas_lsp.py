"""Formulas from the editor: gastown/formulas lists them (with broken files as problems), gastown/runFormula
pours one (refusing bad variables with nothing written) and a human step is told to the Overseer as
"needs you" instead of going to a polecat."""

from __future__ import annotations

import pytest
import pytest_lsp
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.test_server import SERVER, open_town, request, summaries
from tests.support import eventually

pytestmark = pytest.mark.runtime

SIGNOFF = '''formula = "signoff"
description = "The Overseer signs off, then a polecat records it."
[vars.who]
required = true
[[steps]]
id = "sign"
title = "{{who}} signs off"
type = "human"
[[steps]]
id = "record"
title = "Record the sign-off of {{who}}"
needs = ["sign"]
acceptance_criteria = "SIGNOFF.md names {{who}}"
'''


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    await open_town(lsp_client, tmp_path)
    folder = tmp_path / "calc" / ".beads" / "formulas"
    folder.mkdir(parents=True)
    (folder / "signoff.formula.toml").write_text(SIGNOFF)
    (folder / "broken.formula.toml").write_text('formula = "broken"\nsteps = "none"\n')
    yield
    await lsp_client.shutdown_session()


async def test_list_run_and_a_human_step_needs_you(client: LanguageClient):
    listed = await request(client, "gastown/formulas", {})
    by_name = {f.name: f for f in listed.formulas}
    assert {"feature", "bugfix", "refactor", "docs", "release", "signoff"} <= set(by_name)
    signoff = by_name["signoff"]
    assert signoff.origin == "project"
    assert [(s.id, s.human, s.needs) for s in signoff.steps] == [("sign", True, []), ("record", False, ["sign"])]
    assert [(v.name, v.required) for v in signoff.vars] == [("who", True)]
    assert [v.pattern for v in by_name["release"].vars] == [r"^\d+\.\d+\.\d+$"]
    [problem] = [p for p in listed.problems if p.name == "broken"]
    assert "broken.formula.toml: line 2: steps: Input should be a valid list" in problem.message

    with pytest.raises(JsonRpcException) as err:
        await request(client, "gastown/runFormula", {"name": "release", "vars": {"version": "one"}})
    assert "vars.version: 'one' does not match the pattern" in err.value.message
    assert summaries(await request(client, "gastown/beads", {"filter": "all"})) == {}

    result = await request(client, "gastown/runFormula", {"name": "signoff", "vars": {"who": "Ada"}})
    assert len(result.bead_ids) == 2 and result.human_bead_ids == [result.bead_ids[0]]
    beads = summaries(await request(client, "gastown/beads", {"filter": "all"}))
    assert beads[result.bead_ids[0]]["title"] == "Ada signs off"
    told = await eventually(lambda: [m.message for m in client.messages if "needs you" in m.message])
    assert told == [f"Gas Town: {result.bead_ids[0]} needs you — “Ada signs off” is a human step: do it, then "
                    "close the bead"]
    agents = await request(client, "gastown/agents", {})
    assert [a for a in agents.agents if a.role == "polecat"] == []
    bead = (await request(client, "gastown/bead", {"id": result.bead_ids[0]})).bead
    assert "human" in bead.labels and bead.status == "open" and getattr(bead, "assignee", None) is None
