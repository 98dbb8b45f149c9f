"""The JSON-lines span exporter: one finished span per line, in the shape the Copilot CLI's own file exporter
writes (so one reader handles both files):

    {"type": "span", "traceId": "<32 hex>", "spanId": "<16 hex>", "parentSpanId": "<16 hex>" | null,
     "name": "polecat.run", "kind": 0, "startTime": [seconds, nanoseconds], "endTime": [seconds, nanoseconds],
     "attributes": {...}, "status": {"code": 0 | 1 | 2, "message"?: "..."},
     "events": [{"name": "...", "time": [s, ns], "attributes": {...}}],
     "resource": {"attributes": {"service.name": "gastown", ...}},
     "instrumentationScope": {"name": "gastown", "version": "..."}}

``kind`` and ``status.code`` are OpenTelemetry's numbers (0 internal; 0 unset, 1 ok, 2 error). Lines are
appended, each with one write, so the file can be followed while the town runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


def _time(ns: int | None) -> list[int]:
    ns = ns or 0
    return [ns // 1_000_000_000, ns % 1_000_000_000]


def _attrs(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attributes or {}).items()}


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as its JSON line (a dict)."""
    ctx = span.get_span_context()
    assert ctx is not None  # a finished SDK span always has one
    status: dict[str, Any] = {"code": span.status.status_code.value}
    if span.status.description:
        status["message"] = span.status.description
    scope = span.instrumentation_scope
    return {
        "type": "span",
        "traceId": format(ctx.trace_id, "032x"),
        "spanId": format(ctx.span_id, "016x"),
        "parentSpanId": format(span.parent.span_id, "016x") if span.parent is not None else None,
        "name": span.name,
        "kind": span.kind.value,
        "startTime": _time(span.start_time),
        "endTime": _time(span.end_time),
        "attributes": _attrs(span.attributes),
        "status": status,
        "events": [{"name": e.name, "time": _time(e.timestamp), "attributes": _attrs(e.attributes)}
                   for e in span.events],
        "resource": {"attributes": _attrs(span.resource.attributes)},
        "instrumentationScope": {"name": scope.name if scope else "", "version": scope.version if scope else None},
    }


class JsonLinesExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        text = "".join(json.dumps(span_record(s), ensure_ascii=False, default=str) + "\n" for s in spans)
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
