"""The ledger benchmark of this tree against an older commit's, in the same run.

Usage: ``python bench/against.py REV [--rounds N]``. ``REV`` is checked out into a temporary git worktree
(removed afterwards); ``bench/ledger.py --skip-100k`` then runs ``--rounds`` times from each tree, the two
taking turns so that a busy or slowing machine weighs on both alike. Each tree builds its own ledgers with
its own code (an older schema included). Prints one JSON object per line and metric:
``{"metric", "value", "unit", "against", "against_value", "ratio"}`` — ``value`` the median of this tree,
``against_value`` the median of ``REV``, ``ratio`` = value / against_value.

Why: the machines are shared and their speed drifts (the same code can run twice as slow as a month
ago), so a figure measured then and a target derived from it are best compared with the old code run
here, now.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("create_10k_ms", "close100_ms", "update_10k_ms", "ready_10k_ms", "search_10k_ms", "cycle5000_ms",
           "import_fixture_ms", "aiosqlite_update_ms")


def run_bench(tree: Path) -> dict[str, dict[str, float | str]]:
    out = subprocess.run([sys.executable, "bench/ledger.py", "--skip-100k"], cwd=tree, capture_output=True,
                         text=True, check=True, timeout=1800)
    rows = (json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))
    return {row["metric"]: row for row in rows if row.get("metric") in METRICS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/against.py", description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare with (any git revision)")
    parser.add_argument("--rounds", type=int, default=4, help="runs of each tree (default 4)")
    args = parser.parse_args(argv)
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{args.rev}^{{commit}}"], cwd=ROOT,
                         capture_output=True, text=True)
    if sha.returncode != 0:
        print(f"bench/against.py: {args.rev!r} is not a commit of {ROOT}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="gastown-against-"))
    old = work / "tree"
    try:
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old), sha.stdout.strip()], cwd=ROOT,
                       check=True)
        values: dict[tuple[str, str], list[float]] = defaultdict(list)
        units: dict[str, str] = {}
        for _ in range(args.rounds):
            for name, tree in (("now", ROOT), ("against", old)):
                for metric, row in run_bench(tree).items():
                    values[(metric, name)].append(float(row["value"]))
                    units[metric] = str(row.get("unit", "ms"))
        for metric in METRICS:
            now, then = values.get((metric, "now")), values.get((metric, "against"))
            if not now or not then:
                continue
            value, against = statistics.median(now), statistics.median(then)
            print(json.dumps({"metric": metric, "value": round(value, 4), "unit": units[metric],
                              "against": args.rev, "against_value": round(against, 4),
                              "ratio": round(value / against, 3) if against else None, "rounds": args.rounds}),
                  flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
