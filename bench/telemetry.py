"""Telemetry's cost on the demo: whole `gastown demo` processes with telemetry off (the floor, measured in the
same run) and on (the JSON-lines exporter, the Copilot CLI's spans included), taking turns so a busy machine
slows both alike.

Usage: ``python bench/telemetry.py [--runs N] [--baseline CHECKOUT]`` (default 3 runs; the baseline, a
checkout of the code before telemetry, is measured against telemetry off). Prints one JSON object per line:
``{"metric", "value", "unit", "floor", "x_floor", "runs"}`` with ``value`` the median wall time (then CPU
time, the Copilot CLI's included: steadier on a busy machine) of the demo with telemetry on and ``floor`` the
median with it off; also the spans written per demo."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def demo(env: dict[str, str], server: Path | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the demo and everything it ran, the CLI included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    if server is not None:  # another checkout's code (imported before the installed one)
        env = {**env, "PYTHONPATH": str(server)}
    done = subprocess.run([sys.executable, "-m", "gastown", "demo", "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"demo failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="a checkout without telemetry (e.g. `git worktree add "
                        "/tmp/base <commit>`): its demo is measured too, against telemetry off")
    args = parser.parse_args()
    base_runs: list[tuple[float, float]] = []
    base = {k: v for k, v in os.environ.items() if not k.startswith("GASTOWN_TELEMETRY__")}
    off: list[tuple[float, float]] = []
    on: list[tuple[float, float]] = []
    spans: list[int] = []
    with tempfile.TemporaryDirectory(prefix="gastown-bench-telemetry-") as tmp:
        for i in range(args.runs):
            if args.baseline is not None:
                base_runs.append(demo(base, args.baseline.resolve() / "server"))
            off.append(demo(base))
            path = Path(tmp) / f"spans-{i}.jsonl"
            on.append(demo({**base, "GASTOWN_TELEMETRY__EXPORTER": "file",
                            "GASTOWN_TELEMETRY__FILE_PATH": str(path)}))
            cli = path.with_name(f"{path.stem}.copilot.jsonl")
            spans.append(sum(1 for _ in path.open()) + sum(1 for line in cli.open() if '"type":"span"' in line))
    for i, kind in enumerate(("wall", "cpu")):
        floor, value = statistics.median(x[i] for x in off), statistics.median(x[i] for x in on)
        print(json.dumps({"metric": f"demo_{kind}_s_telemetry_file", "value": round(value, 2), "unit": "s",
                          "floor": round(floor, 2), "x_floor": round(value / floor, 3), "runs": args.runs,
                          "off": [round(x[i], 2) for x in off], "on": [round(x[i], 2) for x in on]}))
    for i, kind in enumerate(("wall", "cpu")) if base_runs else ():
        floor, value = statistics.median(x[i] for x in base_runs), statistics.median(x[i] for x in off)
        print(json.dumps({"metric": f"demo_{kind}_s_telemetry_off_vs_baseline", "value": round(value, 2),
                          "unit": "s", "floor": round(floor, 2), "x_floor": round(value / floor, 3),
                          "runs": args.runs, "baseline": [round(x[i], 2) for x in base_runs]}))
    print(json.dumps({"metric": "demo_spans_written", "value": statistics.median(spans), "unit": "spans"}))


if __name__ == "__main__":
    main()
