"""The tracer the town sees: spans by name, parent and attributes, a few keyed spans that outlive one call (a
goal, a bead), and what the Copilot CLI needs to export its own spans to the same place. These classes are
the no-op (telemetry off: nothing is imported, nothing recorded); ``otel.py`` implements them with the
OpenTelemetry SDK. Nothing else in the town imports OpenTelemetry."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AttrValue = str | bool | int | float | Sequence[str]
Attributes = Mapping[str, AttrValue | None]


def goal_key(goal_id: str) -> str:
    return f"goal:{goal_id}"


def bead_key(bead_id: str) -> str:
    return f"bead:{bead_id}"


@dataclass(frozen=True)
class CliExport:
    """How the Copilot CLI exports its own spans: the SDK's ``TelemetryConfig`` keys, extra environment (OTLP
    headers) and folders the CLI must be able to write (its JSON-lines file) when it runs sandboxed."""

    config: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    writable: tuple[Path, ...] = ()


class Span:
    """A span that records nothing (telemetry off)."""

    recording = False

    def set(self, attributes: Attributes) -> None:
        """Set attributes (None values are left out)."""

    def event(self, name: str, attributes: Attributes | None = None) -> None:
        """A point in time on the span (e.g. a Witness action)."""

    def end(self, error: str | None = None, attributes: Attributes | None = None) -> None:
        """End it (once; later calls do nothing); ``error`` marks it failed with that message."""

    @contextmanager
    def current(self) -> Iterator[None]:
        """Make it the current span meanwhile: what the Copilot SDK sends then carries its trace context
        (W3C traceparent), so the CLI's spans become its children."""
        yield


NO_SPAN = Span()


class Tracer:
    """The no-op tracer (``telemetry.exporter = none``)."""

    enabled = False

    def start(self, name: str, parent: Span | None = None, attributes: Attributes | None = None) -> Span:
        """A new span; ``parent`` None starts a new trace."""
        return NO_SPAN

    def open(self, key: str, name: str, parent: Span | None = None, attributes: Attributes | None = None) -> Span:
        """The span kept under ``key`` (a goal, a bead), started now if there is none."""
        return NO_SPAN

    def get(self, key: str) -> Span:
        """The span kept under ``key``, or a no-op span."""
        return NO_SPAN

    def close(self, key: str, error: str | None = None, attributes: Attributes | None = None) -> None:
        """End the span kept under ``key`` (nothing if there is none)."""

    def cli_export(self) -> CliExport | None:
        """Where the Copilot CLI sends its own spans (None: it exports nothing)."""
        return None

    def shutdown(self) -> None:
        """End what is still open and flush the exporter (the town is closing)."""


NO_TRACER = Tracer()
