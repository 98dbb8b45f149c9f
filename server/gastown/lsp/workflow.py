"""The editor's side of convoys and costs: thin gastown/* handlers, and the convoy milestones shown as the
editor's notifications. Registered on the server by ``register`` (one line in server.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from gastown.lsp import protocol as P
from gastown.lsp.params import RequestFailed, parse
from gastown.town import convoys, costs
from gastown.town.bus import ConvoyReached

if TYPE_CHECKING:
    from gastown.lsp.server import GastownServer


def on_bus(ls: GastownServer, event: object) -> None:
    if isinstance(event, ConvoyReached):
        ls.show(types.MessageType.Info, f"Gas Town: {convoys.milestone_line(event)}")


def register(server: GastownServer) -> None:
    server.bus.subscribe(lambda event: on_bus(server, event))

    @server.feature(P.CONVOYS)
    async def convoys_request(ls: GastownServer, params: Any) -> dict[str, Any]:
        store = await ls.require_store()
        return P.ConvoysResult(convoys=await convoys.all_progress(store)).model_dump(mode="json")

    @server.feature(P.COSTS)
    async def costs_request(ls: GastownServer, params: Any) -> dict[str, Any]:
        asked = parse(P.CostsParams, params)
        town = await ls.require_town()
        if town.records is None:
            raise RequestFailed("the town's run records are not open")
        try:
            found = await costs.town_report(town.records, town.store, goal=asked.goal, bead=asked.bead)
        except costs.CostsError as exc:
            raise RequestFailed(str(exc)) from None
        return found.model_dump(mode="json")
