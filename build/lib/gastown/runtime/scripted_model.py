"""The scripted model server: an OpenAI-compatible streaming chat-completions endpoint on 127.0.0.1.

It plays a scenario file so that the demo, the tests and CI drive the real Copilot CLI offline. It is
stateless per request: a rule is chosen by matching the conversation's first user message, and the step
played is the number of assistant turns already in the conversation, so many concurrent sessions (and
CLI retries) each get a deterministic answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gastown.errors import GastownError
from gastown.validation import describe


class ScenarioError(GastownError, ValueError):
    """A scenario file that cannot be played; the message names the file and the field."""


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


class Step(BaseModel):
    """One assistant turn: text, tool calls, or both. ``delay`` seconds before answering (stall tests)."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    delay: float = Field(default=0.0, ge=0)
    hang: bool = Field(default=False, description="Never answer (until the server stops): a stalled model")

    @model_validator(mode="after")
    def _not_empty(self) -> Step:
        if self.text is None and not self.tool_calls and not self.hang:
            raise ValueError("a step needs 'text', 'tool_calls' or 'hang'")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    match: str = Field(description="Regex searched in the conversation's first user message; named groups "
                       "fill {{name}} placeholders in the steps")
    steps: list[Step] = Field(min_length=1)
    final: str = Field(default="Done.", description="Text answered once the steps are used up")

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from exc
        return value


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "scenario"
    model: str = "scripted"
    rules: list[Rule] = Field(min_length=1)
    fallback: str = Field(default="I have nothing scripted for this.", description="Text when no rule matches")

    @classmethod
    def load(cls, path: Path) -> Scenario:
        try:
            raw = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ScenarioError(f"scenario file not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"scenario {path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ScenarioError(f"scenario {path}: {describe(exc)}") from None


def _fill(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{\{(\w+)\}\}", lambda m: env.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_fill(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, env) for k, v in value.items()}
    return value


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class Reply(BaseModel):
    rule: str | None
    step: int
    text: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    delay: float = 0.0
    hang: bool = False


def choose_reply(scenario: Scenario, messages: list[dict[str, Any]]) -> Reply:
    """Pure: which reply a conversation gets. The step is the count of assistant turns so far."""
    first_user = next((_text_of(m.get("content")) for m in messages if m.get("role") == "user"), "")
    turns = sum(1 for m in messages if m.get("role") == "assistant")
    for rule in scenario.rules:
        found = re.search(rule.match, first_user, re.S)
        if not found:
            continue
        env = {k: v for k, v in found.groupdict().items() if v is not None}
        if turns >= len(rule.steps):
            return Reply(rule=rule.name or rule.match, step=turns, text=_fill(rule.final, env))
        step = rule.steps[turns]
        return Reply(
            rule=rule.name or rule.match,
            step=turns,
            text=_fill(step.text, env) if step.text is not None else None,
            tool_calls=[ToolCall(name=c.name, arguments=_fill(c.arguments, env)) for c in step.tool_calls],
            delay=step.delay,
            hang=step.hang,
        )
    return Reply(rule=None, step=turns, text=scenario.fallback)


class ScriptedModelServer:
    """Serves a Scenario on 127.0.0.1 in a background thread. Use as a context manager or start()/stop()."""

    def __init__(self, scenario: Scenario, port: int = 0) -> None:
        self.scenario = scenario
        self.requests: list[dict[str, Any]] = []  # every chat request body, for tests and debugging
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedModelServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-model", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet: the CLI polls
                pass

            def _json(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [
                        {"id": server.scenario.model, "object": "model", "owned_by": "gastown"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._json(400, {"error": {"message": "request body is not JSON"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with server._lock:
                    server.requests.append(body)
                reply = choose_reply(server.scenario, body.get("messages") or [])
                if reply.hang:
                    server._stop.wait()
                    return
                if reply.delay and server._stop.wait(reply.delay):
                    return
                if body.get("stream"):
                    self._stream(reply, body)
                else:
                    self._json(200, _completion(reply, server.scenario.model))

            def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in _chunks(reply, server.scenario.model, body):
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def _usage(reply: Reply) -> dict[str, int]:
    out = len(reply.text or "") // 4 + sum(len(json.dumps(c.arguments)) // 4 for c in reply.tool_calls) + 1
    return {"prompt_tokens": 100, "completion_tokens": out, "total_tokens": 100 + out}


def _calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"index": i, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
         "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
        for i, c in enumerate(reply.tool_calls)
    ]


def _completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in _calls(reply)]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
        "usage": _usage(reply),
    }


def _chunks(reply: Reply, model: str, body: dict[str, Any]):
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    if reply.text:
        for piece in re.findall(r".{1,64}", reply.text, re.S):
            yield chunk({"content": piece})
    if reply.tool_calls:
        yield chunk({"tool_calls": _calls(reply)})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    yield {**base, "choices": [], "usage": _usage(reply)}
