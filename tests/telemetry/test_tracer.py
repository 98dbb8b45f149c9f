"""The tracer on its own: off is the no-op, the JSON-lines file has the documented shape, OTLP/HTTP reaches a
real HTTP endpoint with the configured headers, and the settings keep the headers secret."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gastown.config import TelemetrySettings
from gastown.config_sources import ConfigError, load_settings
from gastown.telemetry import NO_TRACER, TelemetryError, goal_key, make_tracer

SHAPE = {"type", "traceId", "spanId", "parentSpanId", "name", "kind", "startTime", "endTime", "attributes",
         "status", "events", "resource", "instrumentationScope"}


def read_spans(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_off_is_the_no_op_tracer(tmp_path: Path) -> None:
    tracer = make_tracer(TelemetrySettings(), tmp_path)
    assert tracer is NO_TRACER and not tracer.enabled and tracer.cli_export() is None
    span = tracer.open(goal_key("g"), "goal")
    with span.current():
        span.set({"a": 1})
    span.end("x")
    tracer.shutdown()
    assert not span.recording and list(tmp_path.iterdir()) == []  # nothing written, not even a folder


def test_file_exporter_writes_one_span_a_line_in_the_documented_shape(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "spans.jsonl"
    tracer = make_tracer(TelemetrySettings(exporter="file", file_path=str(path), service_name="town-x"), tmp_path)
    goal = tracer.open(goal_key("g1"), "goal", attributes={"gastown.goal.id": "g1"})
    assert tracer.open(goal_key("g1"), "goal") is goal  # keyed: one span per goal
    child = tracer.start("bead", goal, {"gastown.bead.id": "b1", "skipped": None, "files": ("a", "b")})
    child.event("witness.nudge", {"gastown.witness.text": "quiet"})
    child.end("blocked")
    child.end()  # a second end changes nothing
    tracer.close(goal_key("g1"), attributes={"gastown.goal.ok": False})
    tracer.shutdown()
    spans = {s["name"]: s for s in read_spans(path)}
    assert set(spans) == {"goal", "bead"}
    for span in spans.values():
        assert set(span) == SHAPE and span["type"] == "span" and span["kind"] == 0
        assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16
        assert span["resource"]["attributes"]["service.name"] == "town-x"
        assert span["startTime"] <= span["endTime"]
    goal_row, bead_row = spans["goal"], spans["bead"]
    assert goal_row["parentSpanId"] is None and goal_row["status"] == {"code": 0}
    assert goal_row["attributes"] == {"gastown.goal.id": "g1", "gastown.goal.ok": False}
    assert bead_row["traceId"] == goal_row["traceId"] and bead_row["parentSpanId"] == goal_row["spanId"]
    assert bead_row["attributes"] == {"gastown.bead.id": "b1", "files": ["a", "b"]}
    assert bead_row["status"] == {"code": 2, "message": "blocked"}
    assert bead_row["events"][0]["name"] == "witness.nudge"
    # The CLI writes its own spans beside ours; its folder is the one it must be able to write.
    cli = tracer.cli_export()
    assert cli is not None and cli.config == {"file_path": str(path.with_name("spans.copilot.jsonl")),
                                              "exporter_type": "file"}
    assert cli.writable == (path.parent,)


def test_shutdown_ends_what_is_still_open(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    tracer = make_tracer(TelemetrySettings(exporter="file", file_path=str(path)), tmp_path)
    tracer.open(goal_key("g"), "goal")
    tracer.shutdown()
    (row,) = read_spans(path)
    assert row["status"]["code"] == 2 and "closed before" in row["status"]["message"]


def test_default_file_is_in_the_state_dir(tmp_path: Path) -> None:
    tracer = make_tracer(TelemetrySettings(exporter="file"), tmp_path / ".gastown")
    tracer.start("x").end()
    tracer.shutdown()
    assert read_spans(tmp_path / ".gastown" / "telemetry" / "spans.jsonl")[0]["name"] == "x"


def test_a_file_path_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TelemetryError, match=r"telemetry.filePath: cannot create .*file"):
        make_tracer(TelemetrySettings(exporter="file", file_path=str(blocker / "spans.jsonl")), tmp_path)


class _Collector(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_otlp_http_exporter_posts_traces_with_the_headers(tmp_path: Path) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    _Collector.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        tracer = make_tracer(TelemetrySettings(exporter="otlp", endpoint=endpoint,
                                               headers="Authorization=Bearer%20s3cret,x-tenant=t1"), tmp_path)
        goal = tracer.open(goal_key("g"), "goal")
        tracer.start("plan", goal).end()
        tracer.close(goal_key("g"))
        tracer.shutdown()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [p[0] for p in _Collector.posts] == ["/v1/traces"]
    _, headers, body = _Collector.posts[0]
    assert headers["authorization"] == "Bearer s3cret" and headers["x-tenant"] == "t1"
    request = ExportTraceServiceRequest.FromString(body)
    names = sorted(s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans)
    assert names == ["goal", "plan"]
    # The CLI gets the same endpoint (its base) and the headers through its environment.
    cli = tracer.cli_export()
    assert cli is not None and cli.config == {"otlp_endpoint": endpoint, "exporter_type": "otlp-http"}
    assert cli.env == {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20s3cret,x-tenant=t1"}


def test_copilot_cli_export_can_be_turned_off(tmp_path: Path) -> None:
    tracer = make_tracer(TelemetrySettings(exporter="file", copilot_cli=False), tmp_path)
    assert tracer.enabled and tracer.cli_export() is None
    tracer.shutdown()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def test_settings_from_the_environment_with_the_headers_masked(workspace: Path) -> None:
    env = {"GASTOWN_TELEMETRY__EXPORTER": "otlp", "GASTOWN_TELEMETRY__HEADERS": "Authorization=Bearer s3cr3t",
           "GASTOWN_TELEMETRY__ENDPOINT": "http://collector:4318"}
    loaded = load_settings(workspace, None, env=env)
    assert loaded.settings.telemetry.exporter == "otlp"
    assert loaded.settings.telemetry.headers == "Authorization=Bearer s3cr3t"
    rows = {r["key"]: r for r in loaded.show()}
    assert rows["telemetry.headers"]["value"] == "***" and rows["telemetry.headers"]["source"] == "environment"
    assert rows["telemetry.endpoint"]["value"] == "http://collector:4318"
    assert "s3cr3t" not in repr(loaded.settings)


def test_repository_file_may_not_hold_the_headers(workspace: Path) -> None:
    (workspace / "gastown.toml").write_text('[telemetry]\nexporter = "otlp"\nheaders = "Authorization=Bearer x"\n')
    with pytest.raises(ConfigError, match=r"telemetry.headers is a secret.*GASTOWN_TELEMETRY__HEADERS"):
        load_settings(workspace, None, env={})


def test_an_unknown_exporter_names_the_key(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=r"telemetry.exporter = 'jaeger' \(from environment\)"):
        load_settings(workspace, None, env={"GASTOWN_TELEMETRY__EXPORTER": "jaeger"})
