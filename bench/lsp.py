"""The editor's first load over real LSP: ``gastown/beads`` with 10,000 beads, timed through stdio.

Usage: ``python bench/lsp.py [--beads N] [--runs R]``. Builds a temporary git repository whose
``.beads/issues.jsonl`` is the real Beads file (``/work/shared/fixtures``, or ``tests/ledger/fixtures``)
topped up to N beads with renamed copies, starts ``gastown serve`` over stdio with pygls' client, has the
server import the file (as after a git pull), then times requests from the write of the request to the
last byte of the answer (the client's own parsing is timed apart, as ``client_parse_ms``).

Prints JSON lines ``{"metric", "value", "unit", ...}`` with medians:
``beads_10k_ms`` (the view's first load, the ledger at rest), ``beads_after_change_ms`` (the first load
right after a bead changed), ``payload_kb``, ``noop_ms`` (``gastown/agents`` with no agents:
the floor, a trivial request's round trip in the same run) and ``x_floor`` = value / floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from gastown.vcs import git  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
FIXTURES = (HERE.parent / "shared" / "fixtures" / "beads-issues-2026-01.jsonl",
            Path("/work/shared/fixtures/beads-issues-2026-01.jsonl"),
            HERE / "tests" / "ledger" / "fixtures" / "beads-issues-2026-01.jsonl")
TARGET = {"beads_10k_ms": 50.0, "beads_after_change_ms": 50.0, "payload_kb": 1024.0}


def emit(metric: str, value: float, unit: str = "ms", **extra: Any) -> None:
    out: dict[str, Any] = {"metric": metric, "value": round(value, 3), "unit": unit}
    if metric in TARGET:
        out["target"] = TARGET[metric]
    for k, v in extra.items():
        out[k] = round(v, 3) if isinstance(v, float) else v
    if out.get("floor"):
        out["x_floor"] = round(value / out["floor"], 1)
    print(json.dumps(out), flush=True)


def fixture() -> Path:
    for path in FIXTURES:
        if path.exists():
            return path
    raise SystemExit(f"no Beads fixture found (looked at {', '.join(map(str, FIXTURES))})")


def topped_up(lines: list[str], n: int) -> list[str]:
    """The real beads, then renamed copies of them (ids and the ids they name) until there are ``n``."""
    beads = [json.loads(line) for line in lines if line.strip()]
    out = list(beads)
    copy = 0
    while len(out) < n:
        copy += 1
        suffix = f"c{copy}"
        for bead in beads:
            if len(out) >= n:
                break
            clone = json.loads(json.dumps(bead))
            clone["id"] = f"{bead['id']}{suffix}"
            for dep in clone.get("dependencies") or []:
                dep["issue_id"] = clone["id"]
                dep["depends_on_id"] = f"{dep['depends_on_id']}{suffix}"
            for comment in clone.get("comments") or []:
                comment["issue_id"] = clone["id"]
            out.append(clone)
    return [json.dumps(b, separators=(",", ":")) for b in out[:n]]


def make_repo(root: Path, n: int) -> Path:
    repo = root / "repo"
    (repo / ".beads").mkdir(parents=True)
    rows = topped_up(fixture().read_text().splitlines(), n)
    (repo / ".beads" / "issues.jsonl").write_text("\n".join(rows) + "\n")
    (repo / "README.md").write_text("bench\n")
    git(["init", "-q", "-b", "main"], repo)
    git(["-c", "user.name=bench", "-c", "user.email=bench@example.com", "add", "-A"], repo)
    git(["-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "beads"], repo)
    return repo


class Meter:
    """Wraps the server's stdout: notes when each message body has fully arrived, and its size."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.bodies: list[tuple[float, bytes]] = []

    async def readline(self) -> bytes:
        return await self.reader.readline()

    async def readexactly(self, n: int) -> bytes:
        body = await self.reader.readexactly(n)
        self.bodies.append((time.perf_counter(), body))
        return body


class BenchClient(LanguageClient):
    async def start_io(self, cmd: str, *args: str, **kwargs: Any) -> None:
        # pygls' start_io, with the server's stdout read through a Meter.
        from pygls.io_ import run_async

        server = await asyncio.create_subprocess_exec(cmd, *args, stdout=asyncio.subprocess.PIPE,
                                                      stdin=asyncio.subprocess.PIPE, **kwargs)
        assert server.stdout is not None and server.stdin is not None
        self.meter = Meter(server.stdout)
        self.protocol.set_writer(server.stdin)
        connection = asyncio.create_task(run_async(stop_event=self._stop_event, reader=self.meter,
                                                   protocol=self.protocol, error_handler=self.report_server_error))
        self._server = server
        self._async_tasks.extend([connection, asyncio.create_task(self._server_exit())])


async def timed(client: BenchClient, method: str, params: dict) -> tuple[float, bytes]:
    """Round trip of one request: from sending it to the last byte of its answer (ms), and the answer."""
    mark = len(client.meter.bodies)
    start = time.perf_counter()
    await client.protocol.send_request_async(method, params)
    for at, body in client.meter.bodies[mark:]:
        message = json.loads(body)  # after the clock stopped
        if "id" in message and "method" not in message:
            return (at - start) * 1000, body
    raise RuntimeError(f"no answer to {method} seen")


async def run(n: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gastown-bench-lsp-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, n)
        client = BenchClient("gastown-bench", "1")
        for method in ("gastown/beadsChanged", "gastown/agentStatus", "gastown/agentEvent"):
            client.feature(method)(lambda _params: None)  # followed by the editor, not by this bench
        env = {**os.environ, "GASTOWN_LOG": "WARNING"}
        await client.start_io(sys.executable, "-m", "gastown", "serve", "--stdio", cwd=str(repo), env=env)
        try:
            await client.initialize_async(types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=repo.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name="repo")],
                initialization_options={"worktreeRoot": str(root / "worktrees")},
            ))
            client.initialized(types.InitializedParams())
            jsonl = repo / ".beads" / "issues.jsonl"
            client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=jsonl.as_uri(), type=types.FileChangeType.Changed)]))
            deadline = time.monotonic() + 300
            while True:  # the import is one transaction: the list is empty, then complete
                _, body = await timed(client, "gastown/beads", {"filter": "all"})
                result = json.loads(body)["result"]
                count = len(result.get("rows", result.get("beads", [])))
                if count >= n:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"the server imported {count} of {n} beads in 300 s")
                await asyncio.sleep(0.2)  # polling interval while the server imports

            noop = [(await timed(client, "gastown/agents", {}))[0] for _ in range(runs * 2)]
            # The first load with the ledger at rest (a second window, a restarted extension).
            warm, parse, sizes = [], [], []
            for _ in range(runs):
                ms, body = await timed(client, "gastown/beads", {"filter": "all"})
                warm.append(ms)
                sizes.append(len(body))
                t0 = time.perf_counter()
                json.loads(body)
                parse.append((time.perf_counter() - t0) * 1000)
            # One bead changes (as a polecat's claim would), then the view loads: the first load after a
            # change. The town's JSONL export of the change runs meanwhile, as it would.
            cold = []
            ids = [json.loads(line)["id"] for line in jsonl.read_text().splitlines()[:runs]]
            for i in range(runs):
                await client.protocol.send_request_async("gastown/updateBead", {"id": ids[i], "priority": i % 5})
                ms, _ = await timed(client, "gastown/beads", {"filter": "all"})
                cold.append(ms)
            floor = statistics.median(noop)
            emit("noop_ms", floor, request="gastown/agents")
            emit("beads_10k_ms", statistics.median(warm), floor=floor, beads=n, runs=runs)
            emit("beads_after_change_ms", statistics.median(cold), floor=floor, beads=n, runs=runs)
            emit("payload_kb", statistics.median(sizes) / 1024, unit="KiB", beads=n,
                 bytes_per_bead=round(statistics.median(sizes) / n, 1))
            emit("client_parse_ms", statistics.median(parse), note="json.loads of the answer, client side")
        finally:
            await client.shutdown_async(None)
            client.exit(None)
            await client.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beads", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    asyncio.run(run(args.beads, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
