"""Process groups the town starts outside any session (the Refinery's verification command), remembered on
disk while they run so that a town killed with -9 leaves none behind: the next town ends them on open.

One file per group in a folder: ``<pgid>`` holding the leader's start time (from /proc), so a reused pid is
never mistaken for ours."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _session_members(sid: int) -> list[int]:
    """Processes of the session ``sid`` (our groups are started with setsid: session = group = leader pid)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # fields after the name: state ppid pgrp session ...
                found.append(int(entry.name))
    return found


def remember(folder: Path | None, pgid: int) -> None:
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(pgid)).write_text(_start_time(pgid) or "")


def forget(folder: Path | None, pgid: int) -> None:
    if folder is not None:
        with contextlib.suppress(FileNotFoundError):
            (folder / str(pgid)).unlink()


def reap(folder: Path) -> list[int]:
    """End every remembered group still running (its leader, or what is left of its session). Returns the
    groups ended."""
    ended: list[int] = []
    if not folder.is_dir():
        return ended
    for entry in folder.iterdir():
        if not entry.name.isdigit():
            continue
        pgid = int(entry.name)
        recorded = entry.read_text().strip()
        leader = _start_time(pgid)
        if leader is None or leader == recorded:  # a live leader with another start time: a reused pid
            members = _session_members(pgid)
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if members:
                ended.append(pgid)
                log.warning("ended verification processes %s left by a town that stopped", members)
        entry.unlink(missing_ok=True)
    return ended
