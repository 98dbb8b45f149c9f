"""Command-line benchmark: whole `gastown` processes against a bare `python -c pass`, in the same run.

Usage: ``python bench/cli.py [--runs N] [--beads N]``. A temporary git repository gets a ledger
imported with the ledger itself (`gastown bead import`) from the real Beads file in
``../shared/fixtures/`` (2,210 beads), topped up with generated beads to ``--beads`` (default 6,000).
Then each command runs ``--runs`` times, the commands taking turns so a busy machine slows them all
alike. Prints one JSON object per line: ``{"metric", "value", "unit", "floor", "x_floor", ...}`` with
``value`` the median wall time of the whole process and ``floor`` the median of ``python -c pass``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from gitrepo import git  # noqa: E402  (bench/ is on sys.path when a bench runs)

from gastown.ledger.bench import generate  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "beads-issues-2026-01.jsonl"
if not FIXTURE.is_file():
    FIXTURE = Path("/work/shared/fixtures/beads-issues-2026-01.jsonl")
TARGET = {"cli_ready_ms": 60.0}  # whole process, ~6K beads (this box)


def emit(metric: str, value: float, unit: str = "ms", **extra: Any) -> None:
    out: dict[str, Any] = {"metric": metric, "value": round(value, 2), "unit": unit}
    if metric in TARGET:
        out["target"] = TARGET[metric]
    for k, v in extra.items():
        out[k] = round(v, 2) if isinstance(v, float) else v
    if out.get("floor"):
        out["x_floor"] = round(value / out["floor"], 2)
    print(json.dumps(out), flush=True)


def gastown_argv() -> list[str]:
    """The installed console script next to this Python (what agents and scripts run), else -m."""
    script = Path(sys.executable).with_name("gastown")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gastown"]


def make_town(work: Path, beads: int) -> tuple[Path, str]:
    """A git repository whose ledger holds the fixture plus generated beads; returns it and one id."""
    repo = work / "town"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    extra = max(0, beads - len(lines))
    for row in generate(extra, seed=5):  # own prefix: no clash with the fixture's ids
        text = json.dumps(row).replace('"bd-', '"gx-')
        lines.append(text)
    src = work / "seed.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = subprocess.run([*gastown_argv(), "bead", "import", str(src), "--json"], cwd=repo,
                         capture_output=True, text=True, check=True)
    created = json.loads(out.stdout)["created"]
    assert created == len(lines), (created, len(lines))
    shown = subprocess.run([*gastown_argv(), "bead", "list", "--limit", "1", "--json"], cwd=repo,
                           capture_output=True, text=True, check=True)
    return repo, json.loads(shown.stdout)[0]["id"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/cli.py", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs per command (default 21)")
    parser.add_argument("--beads", type=int, default=6000, help="ledger size (default 6,000)")
    parser.add_argument("--baseline", help="also time these commands with PYTHONPATH=BASELINE (another "
                        "checkout's server/ folder), in the same rounds: rows named baseline_*")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="gastown-bench-cli-"))
    try:
        repo, some_id = make_town(work, args.beads)
        cmd = gastown_argv()
        commands = {
            "python_pass_ms": [sys.executable, "-c", "pass"],
            "cli_ready_ms": [*cmd, "bead", "ready", "--json", "--limit", "100"],
            "cli_show_ms": [*cmd, "bead", "show", some_id],
            "cli_list50_ms": [*cmd, "bead", "list", "--limit", "50"],
            "cli_status_ms": [*cmd, "status"],
        }
        # as installed: byte-code cached (a session that sets PYTHONDONTWRITEBYTECODE would otherwise
        # measure compiling every module on every run)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        runs = {name: (argv_, env) for name, argv_ in commands.items()}
        if args.baseline:
            base_env = {**env, "PYTHONPATH": args.baseline}
            runs.update({f"baseline_{name}": (argv_, base_env) for name, argv_ in commands.items()
                         if name != "python_pass_ms"})
        for argv_, env_ in runs.values():  # warm the page cache and write the byte-code once
            subprocess.run(argv_, cwd=repo, capture_output=True, check=True, env=env_)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.runs):
            for name, (argv_, env_) in runs.items():
                t = time.perf_counter()
                subprocess.run(argv_, cwd=repo, capture_output=True, check=True, env=env_)
                times[name].append((time.perf_counter() - t) * 1000)
        floor = statistics.median(times.pop("python_pass_ms"))
        emit("python_pass_ms", floor, runs=args.runs)
        for name, values in times.items():
            emit(name, statistics.median(values), floor=floor, runs=args.runs, beads=args.beads,
                 min=min(values))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
