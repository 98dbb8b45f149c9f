"""The editor's `gastown.*` settings, described once: which server setting each one fills and how.

`gastown schemas` turns this table plus the `Settings` model (type, default, bounds, choices) into
schemas/editor-settings.json, from which `npm run gen:types` writes package.json's
`contributes.configuration` and the table the extension reads its settings with (extension/src/contracts.ts).
So a bound or a choice changed in config.py reaches the settings UI and the extension's validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gastown.config import Settings


@dataclass(frozen=True)
class EditorSetting:
    key: str
    """Under `gastown.` in VS Code's settings: the server's own dotted camelCase key where there is one, so the
    same key works in gastown.toml, GASTOWN_ variables and the editor."""
    option: str | None
    """Dotted camelCase path in the server's initializationOptions; None: read by the extension only."""
    description: str
    markdown: bool = False
    send: Literal["set", "always", "never"] = "set"
    """`set`: sent only when the user set it (the server keeps its default otherwise); `always`: sent by
    the extension's own code (provider, CLI path); `never`: the extension's own setting."""
    schema: dict[str, Any] = field(default_factory=dict)
    """JSON Schema of a setting without a server field, or what the editor does differently (an empty
    string for "unset" where the server has a default)."""


SETTINGS: tuple[EditorSetting, ...] = (
    EditorSetting(
        "server.pythonPath", None, send="never", markdown=True, schema={"type": "string", "default": ""},
        description="Python interpreter that runs `gastown serve`. Empty: the Python extension's interpreter, then "
                    "`.venv/bin/python` in the workspace, then `python3`."),
    EditorSetting(
        "server.logLevel", None, send="never", markdown=True,
        schema={"type": "string", "enum": ["DEBUG", "INFO", "WARNING", "ERROR"], "default": "WARNING"},
        description="Log level of the server (its `GASTOWN_LOG`), shown in the **Gas Town** output channel. "
                    "`INFO` and `DEBUG` include pygls' own messages."),
    EditorSetting(
        "provider.type", "provider.type", send="always", markdown=True,
        description="Model provider for the agents: GitHub Copilot, or bring-your-own-key (OpenAI-compatible, "
                    "Azure/Foundry, Anthropic). A BYOK key is set with **Gas Town: Set Provider API Key** (kept in "
                    "VS Code's secret storage, never in settings)."),
    EditorSetting("provider.baseUrl", "provider.baseUrl", send="always",
                  description="Endpoint of a bring-your-own-key provider, e.g. http://127.0.0.1:11434/v1."),
    EditorSetting("provider.model", "provider.model", send="always", schema={"default": ""},
                  description="Model name for the agents' sessions."),
    EditorSetting("cliPath", "cliPath", send="always",
                  description="Path of the Copilot CLI (empty: the server looks for node_modules/.bin/copilot)."),
    EditorSetting("maxPolecats", "maxPolecats",
                  description="Most polecats working at once. Sent to the server only when set."),
    EditorSetting("verifyCommand", "verifyCommand", markdown=True,
                  description="Command the Refinery runs before a merge (empty: the server detects pytest, "
                              "unittest or `make test`)."),
    EditorSetting("autoMerge", "autoMerge", markdown=True,
                  description="Merge verified branches at once. Off: each bead waits in `review` for your verdict "
                              "(**Gas Town: Review Next Diff**)."),
    EditorSetting("planApproval", "planApproval",
                  description="Write plans as draft beads; dispatch only when you approve them."),
    EditorSetting("turnTimeout", "turnTimeout",
                  description="Longest one agent turn may take, in seconds."),
    EditorSetting("verifyTimeout", "verifyTimeout",
                  description="Longest the verification command may run, in seconds."),
    EditorSetting("reworkAttempts", "reworkAttempts",
                  description="Times a bead goes back to its polecat before it is blocked."),
    EditorSetting("maxPlanSize", "maxPlanSize", description="Most tasks one plan may have."),
    EditorSetting("polecats.budget.tokensPerBead", "polecats.budget.tokensPerBead", markdown=True,
                  description="Token cap per bead (0 = none). At the cap the polecat is stopped and the bead blocked."),
    EditorSetting("polecats.budget.tokensPerGoal", "polecats.budget.tokensPerGoal", markdown=True,
                  description="Token cap per goal (0 = none). At the cap dispatch pauses and you are told."),
    EditorSetting("polecats.budget.secondsPerBead", "polecats.budget.secondsPerBead", markdown=True,
                  description="Wall-time cap per bead in seconds (0 = none)."),
    EditorSetting("polecats.budget.secondsPerGoal", "polecats.budget.secondsPerGoal", markdown=True,
                  description="Wall-time cap per goal in seconds (0 = none)."),
    EditorSetting("polecats.stallSeconds", "polecats.stallSeconds", markdown=True,
                  description="No agent event for this long: the Witness nudges the polecat, then restarts it."),
    EditorSetting("polecats.maxRestarts", "polecats.maxRestarts", markdown=True,
                  description="Restarts of a stuck polecat before its bead is escalated to you."),
    EditorSetting("polecats.sandbox", "polecats.sandbox", markdown=True,
                  description="Confine polecats' shell commands with bubblewrap: `auto` (where `bwrap` works, else a "
                              "warning once), `required` (refuse to start polecats without it) or `off`."),
    EditorSetting("polecats.needsInputTimeout", "polecats.needsInputTimeout", markdown=True,
                  description="Seconds a polecat waits for your answer before its bead is escalated (waiting is "
                              "not a stall)."),
    EditorSetting("discoveredWork", "discoveredWork", markdown=True,
                  description="Beads a polecat discovers (`bead_create`): `hold` them for you to dispatch, or "
                              "`dispatch` them within the same goal."),
    EditorSetting("conflictRadar", "conflictRadar", markdown=True,
                  description="A bead whose files overlap a running polecat's: `hold` it while that polecat works, "
                              "`serialize` it until that bead merges, or start it anyway (`off`)."),
    EditorSetting("mergeBatchSize", "mergeBatchSize", markdown=True,
                  description="Branches the Refinery merges and verifies together (bisected on failure)."),
    EditorSetting("reviewAgent", "reviewAgent", markdown=True,
                  description="A reviewer session scores each diff against the bead's acceptance criteria."),
    EditorSetting("autoLand", "autoLand", markdown=True,
                  description="Land the integration branch on your current branch when a goal succeeds (never "
                              "forced, never over your uncommitted changes)."),
    EditorSetting("telemetry.exporter", "telemetry.exporter", markdown=True,
                  description="OpenTelemetry traces of each goal (planning, beads, polecat runs, tools, merges, and "
                              "the Copilot CLI's own spans): `otlp` to `telemetry.endpoint` (e.g. Jaeger), `file` "
                              "for JSON lines, `none` for off. OTLP headers (a secret) go in the environment: "
                              "`GASTOWN_TELEMETRY__HEADERS`."),
    EditorSetting("telemetry.endpoint", "telemetry.endpoint", markdown=True,
                  description="OTLP/HTTP base URL of `telemetry.exporter` = `otlp` (`/v1/traces` is added)."),
    EditorSetting("telemetry.filePath", "telemetry.filePath", markdown=True, schema={"default": ""},
                  description="JSON-lines file of `telemetry.exporter` = `file` (empty: "
                              "`.gastown/telemetry/spans.jsonl`)."),
)

_KEPT = ("type", "enum", "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _server_field(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The JSON Schema of one Settings field, found by its dotted camelCase path."""
    defs = schema.get("$defs", {})
    node = schema
    for part in path.split("."):
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[1]]
        props = node.get("properties", {})
        if part not in props:
            raise KeyError(f"editor setting option {path!r}: Settings has no key {part!r}")
        node = props[part]
    nullable = False
    if "anyOf" in node:  # `str | None`: the editor says "unset" with an empty string
        kinds = [k for k in node["anyOf"] if k.get("type") != "null"]
        nullable = len(kinds) < len(node["anyOf"])
        node = {**node, **kinds[0]}
    out = {k: node[k] for k in _KEPT if k in node}
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if nullable and out.get("default") is None:
        out["default"] = ""
    return out


def describe(setting: EditorSetting, schema: dict[str, Any]) -> dict[str, Any]:
    """One setting as the generator needs it: its configuration schema and how the extension sends it."""
    conf = _server_field(schema, setting.option) if setting.option else {}
    conf.update(setting.schema)
    conf["markdownDescription" if setting.markdown else "description"] = setting.description
    return {"key": setting.key, "option": setting.option, "send": setting.send, "configuration": conf}


def editor_settings() -> list[dict[str, Any]]:
    schema = Settings.model_json_schema(mode="validation", by_alias=True)
    return [describe(s, schema) for s in SETTINGS]
