"""A verification command running when its town is killed with -9 is ended when the next town opens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from gastown.config import Settings, state_dir
from gastown.demo import make_sample_repo
from gastown.town.orphans import reap
from gastown.town.town import Town
from tests.support import wait_until

# A stand-in for a town in the middle of a merge: the Refinery's verification, as the Refinery runs it.
MERGING = """
import asyncio, sys
from pathlib import Path
from gastown.town.refinery import run_verification
asyncio.run(run_verification("sleep 300", Path(sys.argv[1]), 600, Path(sys.argv[2])))
"""


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has not collected it yet


async def test_a_verification_left_by_a_killed_town_is_ended_when_the_next_town_opens(tmp_path: Path):
    repo = make_sample_repo(tmp_path / "calc")
    groups = state_dir(repo) / "verifying"
    town_process = subprocess.Popen([sys.executable, "-c", MERGING, str(repo), str(groups)])
    try:
        pgid = int(wait_until(lambda: groups.is_dir() and next(iter(os.listdir(groups)), None), timeout=30,
                              what="the verification command started"))
        assert running(pgid)
    finally:
        town_process.send_signal(signal.SIGKILL)
        town_process.wait()
    assert running(pgid)  # the orphan a killed town leaves behind

    town = await Town(repo, Settings(worktree_root=str(tmp_path / "worktrees"), verify_command="true")).open()
    try:
        wait_until(lambda: not running(pgid), timeout=10, what="the orphaned verification ended")
        assert os.listdir(groups) == []
    finally:
        await town.close()


async def test_a_reused_pid_is_not_mistaken_for_an_orphan(tmp_path: Path):
    groups = tmp_path / "verifying"
    groups.mkdir()
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        (groups / str(bystander.pid)).write_text("1")  # same pid, another start time: not ours
        assert reap(groups) == []
        assert running(bystander.pid) and os.listdir(groups) == []
    finally:
        bystander.kill()
        bystander.wait()
