"""`gastown feed`: a live terminal dashboard of a town (rich). Agents with state, tokens and time; beads
by status; the Refinery's queue; what needs you. `q` quits; `--once` prints one snapshot; `--json` prints
the snapshot as JSON (for scripts)."""

from __future__ import annotations

import asyncio
import contextlib
import select
import sys
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gastown.town.snapshot import TownSnapshot, take_snapshot

STATE_STYLE = {"working": "green", "needs-input": "bold yellow", "stalled": "red", "failed": "red",
               "done": "dim", "review": "cyan"}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 5400 else f"{seconds / 3600:.1f}h"


def render(snap: TownSnapshot) -> Group:
    agents = Table(expand=True, box=None, header_style="bold")
    for col in ("AGENT", "BEAD", "STATE", "TOKENS", "QUIET", "TIME", "DETAIL"):
        agents.add_column(col, overflow="ellipsis", no_wrap=True)
    for a in snap.agents:
        agents.add_row(a.agent, f"{a.bead_id} {a.title}"[:48], Text(a.state, style=STATE_STYLE.get(a.state, "")),
                       str(a.tokens), _age(a.quiet_seconds), _age(a.seconds), a.detail.replace("\n", " ")[:60])
    if not snap.agents:
        agents.add_row("(no polecats)", "", "", "", "", "", "")
    beads = Text("  ".join(f"{status} {n}" for status, n in snap.beads_by_status.items()) or "no beads yet")
    queue = Table(box=None, expand=True, show_header=False)
    for q in snap.queue:
        queue.add_row(q.bead_id, f"P{q.priority}", q.title)
    needs = Table(box=None, expand=True, show_header=False)
    for n in snap.needs_you:
        needs.add_row(Text(n.why, style="bold yellow"), n.bead_id, f"{n.title}: {n.text}".replace("\n", " ")[:100])
    parts = [Panel(agents, title=f"Agents ({len(snap.agents)})"), Panel(beads, title="Beads"),
             Panel(queue if snap.queue else Text("empty"), title=f"Merge queue ({len(snap.queue)})"),
             Panel(needs if snap.needs_you else Text("nothing"), title=f"Needs you ({len(snap.needs_you)})")]
    for scope, reason in snap.pauses.items():
        parts.append(Text(f"Dispatch paused for {scope}: {reason}", style="yellow"))
    return Group(*parts)


def _key_pressed(timeout: float) -> str | None:
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return sys.stdin.read(1) if ready else None


def run_feed(workspace: Path, *, once: bool, as_json: bool, interval: float = 1.0, stall_seconds: float = 120,
             console: Console | None = None) -> int:
    console = console or Console()
    snap = asyncio.run(take_snapshot(workspace, stall_seconds=stall_seconds))
    if as_json:
        console.print_json(snap.model_dump_json())
        return 0
    if once or not sys.stdin.isatty():
        console.print(render(snap))
        return 0
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        with Live(render(snap), console=console, screen=False, auto_refresh=False) as live:
            next_at = time.monotonic() + interval
            while True:
                key = _key_pressed(max(0.0, next_at - time.monotonic()))
                if key in ("q", "Q", "\x03"):
                    return 0
                if time.monotonic() >= next_at:
                    snap = asyncio.run(take_snapshot(workspace, stall_seconds=stall_seconds))
                    live.update(render(snap), refresh=True)
                    next_at = time.monotonic() + interval
    except KeyboardInterrupt:
        return 0
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
