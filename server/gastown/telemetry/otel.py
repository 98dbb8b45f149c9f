"""The tracer over the OpenTelemetry SDK: its own TracerProvider per town (never the global one), a batch
processor (export runs on the SDK's thread, off the event loop), and an OTLP/HTTP or JSON-lines exporter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.re import parse_env_headers

from gastown.config import TelemetrySettings
from gastown.telemetry.facade import Attributes, CliExport, Span, Tracer
from gastown.telemetry.jsonl import JsonLinesExporter

TRACES_PATH = "/v1/traces"


def _clean(attributes: Attributes | None) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in (attributes or {}).items() if v is not None}


class OtelSpan(Span):
    recording = True

    def __init__(self, span: otel_trace.Span) -> None:
        self.span = span
        self._ended = False

    def set(self, attributes: Attributes) -> None:
        self.span.set_attributes(_clean(attributes))

    def event(self, name: str, attributes: Attributes | None = None) -> None:
        self.span.add_event(name, _clean(attributes))

    def end(self, error: str | None = None, attributes: Attributes | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        if attributes:
            self.set(attributes)
        if error:
            self.span.set_status(Status(StatusCode.ERROR, error))
        self.span.end()

    @contextmanager
    def current(self) -> Iterator[None]:
        with otel_trace.use_span(self.span, end_on_exit=False, record_exception=False,
                                 set_status_on_exception=False):
            yield


def otlp_base(endpoint: str) -> str:
    """The OTLP base URL (what OTEL_EXPORTER_OTLP_ENDPOINT means), whether or not /v1/traces was given."""
    base = endpoint.rstrip("/")
    return base[: -len(TRACES_PATH)] if base.endswith(TRACES_PATH) else base


def cli_file(path: Path) -> Path:
    """Where the Copilot CLI writes its own spans beside ours: spans.jsonl → spans.copilot.jsonl."""
    return path.with_name(f"{path.stem}.copilot{path.suffix or '.jsonl'}")


class OtelTracer(Tracer):
    enabled = True

    def __init__(self, settings: TelemetrySettings, file_path: Path | None) -> None:
        self.settings = settings
        self.file_path = file_path
        self.headers = parse_env_headers(settings.headers or "", liberal=True)
        exporter: SpanExporter
        if settings.exporter == "file":
            assert file_path is not None
            exporter = JsonLinesExporter(file_path)
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=otlp_base(settings.endpoint) + TRACES_PATH,
                                        headers=self.headers or None, timeout=10)
        from gastown import __version__

        resource = Resource.create({"service.name": settings.service_name, "service.version": __version__})
        self._provider = TracerProvider(resource=resource)
        self._provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
        self._tracer = self._provider.get_tracer("gastown", __version__)
        self._open: dict[str, OtelSpan] = {}

    def start(self, name: str, parent: Span | None = None, attributes: Attributes | None = None) -> Span:
        # No parent: a new trace, whatever span happens to be current.
        ctx = (otel_trace.set_span_in_context(parent.span) if isinstance(parent, OtelSpan)
               else otel_context.Context())
        return OtelSpan(self._tracer.start_span(name, context=ctx, attributes=_clean(attributes)))

    def open(self, key: str, name: str, parent: Span | None = None, attributes: Attributes | None = None) -> Span:
        span = self._open.get(key)
        if span is None:
            started = self.start(name, parent, attributes)
            assert isinstance(started, OtelSpan)
            span = self._open[key] = started
        elif attributes:
            span.set(attributes)
        return span

    def get(self, key: str) -> Span:
        return self._open.get(key) or super().get(key)

    def close(self, key: str, error: str | None = None, attributes: Attributes | None = None) -> None:
        span = self._open.pop(key, None)
        if span is not None:
            span.end(error, attributes)

    def cli_export(self) -> CliExport | None:
        if not self.settings.copilot_cli:
            return None
        if self.settings.exporter == "file":
            assert self.file_path is not None
            target = cli_file(self.file_path)
            return CliExport(config={"file_path": str(target), "exporter_type": "file"},
                             writable=(target.parent,))
        env = {"OTEL_EXPORTER_OTLP_HEADERS": self.settings.headers} if self.settings.headers else {}
        return CliExport(config={"otlp_endpoint": otlp_base(self.settings.endpoint), "exporter_type": "otlp-http"},
                         env=env)

    def shutdown(self) -> None:
        for key in list(self._open):
            self.close(key, "the town closed before this finished")
        self._provider.shutdown()  # flushes the batch processor
