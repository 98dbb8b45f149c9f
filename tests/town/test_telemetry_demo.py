"""The demo with the JSON-lines exporter, end to end (real Copilot CLI + SDK, the scripted model, real git):
one trace for the goal — planning, three beads each with a polecat run (its tool calls) and a merge — whose
token counts match the run records, and the Copilot CLI's own spans (its file exporter, set through the
SDK's TelemetryConfig) in the same trace, under our runs (W3C traceparent sent with every turn). The same
over OTLP/HTTP to a local receiver: both exporters, one trace, the configured headers on every request."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gastown.config import TelemetrySettings
from gastown.demo import run_demo
from gastown.town.records import RunRecords
from tests.conftest import copilot_cli

pytestmark = pytest.mark.runtime


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_the_demo_traced_to_a_file(tmp_path: Path) -> None:
    copilot_cli()
    spans_file = tmp_path / "telemetry" / "spans.jsonl"
    result = await run_demo(tmp_path / "demo", False, out=io.StringIO(),
                            telemetry=TelemetrySettings(exporter="file", file_path=str(spans_file)))
    assert result["closed"] == result["beads"] == 3 and result["tests_passed"]

    spans = read(spans_file)
    by_id = {s["spanId"]: s for s in spans}
    names = Counter(s["name"] for s in spans)
    assert names["goal"] == 1 and names["plan"] == 1 and names["bead"] == 3
    assert names["polecat.run"] == 3 and names["refinery.merge"] == 3
    (goal,) = [s for s in spans if s["name"] == "goal"]
    assert goal["parentSpanId"] is None and goal["status"]["code"] != 2
    assert goal["attributes"]["gastown.goal.merged"] == 3 and goal["attributes"]["gastown.goal.ok"] is True
    assert {s["traceId"] for s in spans} == {goal["traceId"]}  # one trace per goal

    def children(parent: dict, name: str) -> list[dict]:
        return [s for s in spans if s["parentSpanId"] == parent["spanId"] and s["name"] == name]

    (plan,) = children(goal, "plan")
    assert plan["attributes"]["gastown.plan.beads"] == 3 and plan["attributes"]["gastown.tokens"] > 0
    beads = children(goal, "bead")
    assert len(beads) == 3
    for bead in beads:
        bead_id = bead["attributes"]["gastown.bead.id"]
        assert bead["attributes"]["gastown.bead.outcome"] == "merged"
        (run,) = children(bead, "polecat.run")
        (merge,) = children(bead, "refinery.merge")
        attrs = run["attributes"]
        assert attrs["gastown.bead.id"] == bead_id and attrs["gastown.run.exit_reason"] == "done"
        assert attrs["gastown.run.attempt"] == 1 and attrs["gastown.run.resumed"] is False
        assert attrs["gastown.run.duration_ms"] > 0
        assert attrs["gen_ai.usage.input_tokens"] + attrs["gen_ai.usage.output_tokens"] == attrs["gastown.tokens"]
        tools = children(run, "polecat.tool")
        assert tools and all(t["attributes"]["gastown.tool.success"] is True for t in tools)
        assert "report_done" in {t["attributes"]["gastown.tool.name"] for t in tools}
        assert merge["attributes"]["gastown.merge.result"] == "merged"
        assert merge["attributes"]["gastown.merge.sha"]
        verifies = children(merge, "refinery.verify")
        assert [v["attributes"]["gastown.verify.ok"] for v in verifies] == [True]
        assert merge["startTime"] >= run["endTime"]  # merged after the run finished

    # Tokens in the spans add up to the run records, run by run.
    records = await RunRecords.open(tmp_path / "demo" / "calc" / ".gastown" / "town.db")
    try:
        rows = await records.runs()
    finally:
        await records.close()
    runs = {s["attributes"]["gastown.run.id"]: s["attributes"] for s in spans if s["name"] == "polecat.run"}
    assert {r.id: r.tokens for r in rows} == {run_id: a["gastown.tokens"] for run_id, a in runs.items()}
    assert sum(r.tokens for r in rows) > 0

    # The CLI's own spans: written beside ours, all in the goal's trace, its agent turns under our spans.
    cli = [s for s in read(spans_file.with_name("spans.copilot.jsonl")) if s.get("type") == "span"]
    assert cli and {s["traceId"] for s in cli} == {goal["traceId"]}
    turns = [s for s in cli if s["name"] == "invoke_agent"]
    parents = Counter(by_id[s["parentSpanId"]]["name"] for s in turns if s.get("parentSpanId") in by_id)
    assert parents["plan"] >= 1 and parents["polecat.run"] >= 3
    for run in (s for s in spans if s["name"] == "polecat.run"):  # every run has the CLI's turn under it
        assert any(t.get("parentSpanId") == run["spanId"] for t in turns)
    cli_tokens = sum(s["attributes"].get("gen_ai.usage.input_tokens", 0) + s["attributes"].get(
        "gen_ai.usage.output_tokens", 0) for s in turns if by_id.get(s.get("parentSpanId"), {}).get("name") == "polecat.run")
    assert cli_tokens == sum(r.tokens for r in rows)  # the CLI counted the same tokens as our records


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: Gas Town's exporter posts protobuf, the Copilot CLI's posts JSON."""

    traces: list[tuple[dict[str, str], list[tuple[str, str, str]]]] = []  # headers, (trace id, span id, name)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path == "/v1/traces":
            if "json" in headers.get("content-type", ""):
                spans = [(s["traceId"], s["spanId"], s["name"]) for rs in json.loads(body)["resourceSpans"]
                         for ss in rs.get("scopeSpans", []) for s in ss.get("spans", [])]
            else:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

                request = ExportTraceServiceRequest.FromString(body)
                spans = [(s.trace_id.hex(), s.span_id.hex(), s.name) for rs in request.resource_spans
                         for ss in rs.scope_spans for s in ss.spans]
            self.traces.append((headers, spans))
        self.send_response(200)
        self.send_header("content-type", headers.get("content-type", "application/json"))
        self.end_headers()
        self.wfile.write(b"{}" if "json" in headers.get("content-type", "") else b"")

    def log_message(self, *args: object) -> None:
        pass


async def test_the_demo_traced_over_otlp_http_with_the_cli_in_the_same_trace(tmp_path: Path) -> None:
    copilot_cli()
    _Collector.traces = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = TelemetrySettings(exporter="otlp", endpoint=f"http://127.0.0.1:{server.server_address[1]}",
                                     headers="x-gastown-test=k1")
        result = await run_demo(tmp_path / "demo", False, out=io.StringIO(), telemetry=settings)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result["merged"] == 3
    assert _Collector.traces and all(h.get("x-gastown-test") == "k1" for h, _ in _Collector.traces)
    ours = [s for h, spans in _Collector.traces if "json" not in h.get("content-type", "") for s in spans]
    theirs = [s for h, spans in _Collector.traces if "json" in h.get("content-type", "") for s in spans]
    names = Counter(name for _, _, name in ours)
    assert names["goal"] == 1 and names["bead"] == 3 and names["polecat.run"] == 3 and names["refinery.merge"] == 3
    (trace_id,) = {t for t, _, _ in ours}
    assert theirs and {t for t, _, _ in theirs} == {trace_id}
    assert any(name == "invoke_agent" for _, _, name in theirs)
