"""OpenTelemetry traces of the town's work: one trace per goal, with spans for planning (the Mayor), each
bead, each polecat run and its tool calls, verification and merge (the Refinery); the Copilot CLI's own
spans join the same trace. Off by default (``telemetry.exporter``); when off, OpenTelemetry is not even
imported and every span is a no-op.

Span names: ``goal``, ``plan``, ``bead``, ``polecat.run``, ``polecat.tool``, ``refinery.verify``,
``refinery.merge``; attributes are named ``gastown.*`` (token counts also as ``gen_ai.usage.*``)."""

from __future__ import annotations

from pathlib import Path

from gastown.config import TelemetrySettings
from gastown.errors import GastownError
from gastown.telemetry.facade import NO_SPAN, NO_TRACER, CliExport, Span, Tracer, bead_key, goal_key

__all__ = ["NO_SPAN", "NO_TRACER", "CliExport", "Span", "TelemetryError", "Tracer", "bead_key", "goal_key",
           "default_file", "make_tracer"]


class TelemetryError(GastownError):
    """Telemetry settings that cannot be used (e.g. a file path whose folder cannot be made)."""


def default_file(state_dir: Path) -> Path:
    return state_dir / "telemetry" / "spans.jsonl"


def make_tracer(settings: TelemetrySettings, state_dir: Path) -> Tracer:
    """The town's tracer: the no-op one when ``telemetry.exporter`` is none."""
    if settings.exporter == "none":
        return NO_TRACER
    path = None
    if settings.exporter == "file":
        path = Path(settings.file_path).expanduser() if settings.file_path else default_file(state_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TelemetryError(f"telemetry.filePath: cannot create {path.parent}: {exc}") from None
        path = path.resolve()
    from gastown.telemetry.otel import OtelTracer

    return OtelTracer(settings, path)
