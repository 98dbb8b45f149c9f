"""`gastown feed` on a terminal: the live dashboard draws, redraws, and `q` quits (exit 0)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path


def read_until(fd: int, text: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} never shown; the terminal had: {seen[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_feed_draws_on_a_terminal_and_q_quits(repo: Path, cli_env: dict[str, str]):
    primary, secondary = os.openpty()
    env = {**cli_env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen([sys.executable, "-m", "gastown", "feed", "--interval", "0.2"], cwd=repo, env=env,
                            stdin=secondary, stdout=secondary, stderr=secondary, start_new_session=True)
    os.close(secondary)
    try:
        first = read_until(primary, b"Needs you (0)")
        assert b"Agents (0)" in first and b"Merge queue (0)" in first
        read_until(primary, b"Needs you (0)")  # redrawn at the next interval
        os.write(primary, b"q")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(primary)
