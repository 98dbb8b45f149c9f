"""Shared by the benchmarks: git with an identity (bench machines may have none) and a N-file repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def git(cwd: Path, *args: str, env: dict | None = None, input: bytes | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, input=input,
                         env={**os.environ, **IDENTITY, **(env or {})})
    return out.stdout.decode().strip()


def make_repo(path: Path, files: int) -> Path:
    path.mkdir(parents=True)
    for i in range(files):
        target = path / "src" / f"pkg{i % 10}" / f"mod_{i:03d}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f'"""module {i}."""\n\nVALUE = {i}\n\n\ndef f(x):\n    return x + VALUE\n')
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", f"{files} files")
    return path
