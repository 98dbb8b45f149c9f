"""Settings: one pydantic model, filled from the editor's initializationOptions, the CLI or the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from gastown.github.settings import GitHubSettings

DEFAULT_MODEL = "gpt-4.1"

# Keys are camelCase as the editor sends them (initializationOptions); Python names work too. The few
# fields named after their unit (``turn_timeout_s``) keep an explicit alias without the suffix.
CAMEL = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="ignore")


class ProviderSettings(BaseModel):
    """Copilot login by default; BYOK (OpenAI-compatible, Azure AI Foundry, Anthropic, Ollama) when typed."""

    model_config = CAMEL
    type: Literal["copilot", "openai", "azure", "anthropic"] = "copilot"
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    api_key: str | None = Field(default=None, repr=False)
    api_key_env: str = "GASTOWN_API_KEY"
    azure_api_version: str | None = None

    def sdk_provider(self) -> dict[str, Any] | None:
        """The SDK's per-session ``provider=`` (None = the user's Copilot login)."""
        if self.type == "copilot":
            return None
        if not self.base_url:
            raise ValueError(f"provider {self.type!r} needs a base URL (gastown.provider.baseUrl)")
        provider: dict[str, Any] = {"type": self.type, "base_url": self.base_url}
        key = self.api_key or os.environ.get(self.api_key_env)
        if key:
            provider["api_key"] = key
        elif self.type != "openai":  # a local Ollama/OpenAI-compatible server may need no key
            raise ValueError(f"provider {self.type!r} needs an API key (set {self.api_key_env})")
        else:
            provider["api_key"] = "unused"
        if self.type == "azure" and self.azure_api_version:
            provider["azure"] = {"api_version": self.azure_api_version}
        return provider


# --- Polecats and the Witness ---------------------------------------------------------------------
class BudgetSettings(BaseModel):
    """Caps; 0 = no cap. At a bead cap its polecat is stopped and the bead blocked; at a goal cap dispatch
    of that goal pauses and the Overseer is told."""

    model_config = CAMEL
    tokens_per_bead: int = Field(default=0, ge=0)
    tokens_per_goal: int = Field(default=0, ge=0)
    seconds_per_bead: float = Field(default=0, ge=0)
    seconds_per_goal: float = Field(default=0, ge=0)


class PolecatSettings(BaseModel):
    """The polecats' permission policy, the Witness's supervision, budgets and the worktree pool."""

    model_config = CAMEL
    deny_commands: list[str] = Field(default_factory=list,
                                     description="Extra regexes a shell command must not match (added to the "
                                                 "built-in denials: git push, branch switching, sudo, installs, "
                                                 "network tools)")
    allow_commands: list[str] = Field(default_factory=list,
                                      description="If set, a shell command must match one of these regexes")
    allow_urls: bool = Field(default=False, description="Let polecats fetch URLs")
    readable_paths: list[str] = Field(default_factory=list,
                                      description="Folders polecats may read besides their worktree and the "
                                                  "workspace")
    stall_seconds: float = Field(default=120, gt=0,
                                 description="No agent event for this long: the Witness nudges, then restarts")
    tool_stall_seconds: float = Field(default=900, gt=0,
                                      description="The same while a tool (e.g. a test run) is executing")
    max_restarts: int = Field(default=2, ge=0, le=10,
                              description="Restarts of a stuck polecat before the bead is escalated")
    nudge: str = Field(default="You have been quiet for a while. If you are stuck, say what blocks you and call "
                       "report_blocked; otherwise continue and call report_done when the bead is done.")
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    keep_idle_worktrees: int = Field(default=8, ge=0,
                                     description="Idle worktrees `gastown gc` keeps for reuse")
    needs_input_timeout: float = Field(default=1800, gt=0, alias="needsInputTimeout",
                                       description="Seconds a polecat waits for the Overseer's answer before its "
                                                   "bead is escalated (waiting is not a stall)")
    sandbox: Literal["auto", "required", "off"] = Field(
        default="auto", description="Confine polecats' shell commands with bubblewrap: auto (where bwrap "
                                    "works, else a warning), required (refuse to start polecats without "
                                    "it) or off")


class TelemetrySettings(BaseModel):
    """OpenTelemetry traces (one trace per goal: planning, beads, polecat runs, tools, verification, merge),
    and the Copilot CLI's own spans sent to the same place. Off by default."""

    model_config = CAMEL
    exporter: Literal["none", "otlp", "file"] = Field(
        default="none", description="none (off), otlp (OTLP/HTTP to the endpoint) or file (JSON lines)")
    endpoint: str = Field(default="http://localhost:4318",
                          description="OTLP/HTTP base URL (e.g. Jaeger or a collector); /v1/traces is added")
    headers: str | None = Field(default=None, repr=False,
                                description="OTLP headers as key=value pairs separated by commas (e.g. "
                                            "Authorization=Bearer …); a secret: never in gastown.toml")
    file_path: str | None = Field(default=None,
                                  description="The JSON-lines file of exporter=file (default "
                                              ".gastown/telemetry/spans.jsonl); the Copilot CLI writes "
                                              "<name>.copilot.jsonl beside it")
    service_name: str = Field(default="gastown", min_length=1, description="service.name of the spans")
    copilot_cli: bool = Field(default=True, description="Also export the Copilot CLI's own spans, joined to "
                                                         "the goal's trace")


# --- Runtime hosts ---------------------------------------------------------------------------------
class HostEntry(BaseModel):
    """One `gastown host` the town may place polecats on."""

    model_config = CAMEL
    address: str = Field(description="host:port of the host's JSON-RPC port (off loopback: through TLS or a "
                                     "tunnel)")
    token_env: str | None = Field(default=None, description="Environment variable holding the host's token")
    token_file: str | None = Field(default=None, description="File holding the host's token (e.g. a mounted "
                                                             "Secret)")
    slots: int = Field(default=4, ge=0, le=256, description="Polecats placed on this host at once")
    name: str | None = Field(default=None, description="Shown in the Agents view (default: the host's own name)")

    def token(self) -> str:
        """The token, read now (never kept in the settings, never logged)."""
        if self.token_file:
            try:
                value = Path(self.token_file).read_text().strip()
            except OSError as exc:
                raise ValueError(f"host {self.address}: cannot read its token file {self.token_file}: "
                                 f"{exc.strerror}") from None
        else:
            value = os.environ.get(self.token_env or "GASTOWN_HOST_TOKEN", "").strip()
        if not value:
            where = self.token_file or f"${self.token_env or 'GASTOWN_HOST_TOKEN'}"
            raise ValueError(f"host {self.address}: no token in {where}")
        return value


class HostsSettings(BaseModel):
    """Runtime hosts: polecats on other machines, their branches travelling through a git remote."""

    model_config = CAMEL
    pool: list[HostEntry] = Field(default_factory=list, description="The hosts polecats may be placed on")
    remote: str = Field(default="origin", description="The git remote (name or URL) the hosts clone: the town "
                                                      "pushes the integration branch there and fetches polecat "
                                                      "branches from it")
    local_slots: int | None = Field(default=None, ge=0, le=64,
                                    description="Polecats run on this machine at once when hosts are set "
                                                "(default: maxPolecats)")
    probe_seconds: float = Field(default=5, gt=0, description="How often each host's health is asked")
    timeout_seconds: float = Field(default=20, gt=0,
                                   description="A host silent this long is lost: its polecats are requeued")


class Settings(BaseModel):
    model_config = CAMEL
    provider: ProviderSettings = Field(default_factory=ProviderSettings)
    cli_path: str | None = None
    max_polecats: int = Field(default=4, ge=1, le=64)
    verify_command: str = Field(default="",
                                description="Run by the Refinery before a merge; empty = pytest/unittest/make test")
    verify_timeout_s: float = Field(default=600, gt=0, alias="verifyTimeout")
    integration_branch: str = "gastown/integration"
    worktree_root: str | None = Field(
        default=None, description="Where polecat worktrees go (outside the workspace)"
    )
    turn_timeout_s: float = Field(default=300, gt=0, alias="turnTimeout")
    scenario: str | None = Field(
        default=None, description="Play this scenario file on a local scripted model server (offline)"
    )

    # --- Mayor, dispatcher and Refinery ----------------------------------------------------------
    max_plan_size: int = Field(default=30, ge=1, le=200,
                               description="Most tasks one plan may have")
    plan_attempts: int = Field(default=3, ge=1, le=10,
                               description="Invalid plans sent back to the Mayor before the goal fails")
    plan_approval: bool = Field(default=False,
                                description="Write plans as draft beads; dispatch only when the Overseer approves")
    conflict_radar: Literal["hold", "serialize", "off"] = Field(
        default="hold",
        description="A bead whose files overlap a running polecat's: hold it while that polecat works, "
                    "serialize it after that bead merges, or start it anyway (off)")
    auto_merge: bool = Field(default=True,
                             description="Merge verified branches at once; off = wait for the Overseer's accept")
    merge_batch_size: int = Field(default=1, ge=1, le=64,
                                  description="Branches merged and verified together (bisected on failure)")
    merge_batch_window_s: float = Field(default=10, ge=0, alias="mergeBatchWindow",
                                        description="How long a batch may wait for running polecats to finish")
    rework_attempts: int = Field(default=2, ge=0, le=10,
                                 description="Times a bead goes back to its polecat before it is blocked")
    review_agent: bool = Field(default=False,
                               description="A reviewer session scores each diff against the acceptance criteria")
    auto_land: bool = Field(default=False,
                            description="Land the integration branch on the current branch when a goal succeeds")
    discovered_work: Literal["hold", "dispatch"] = Field(
        default="hold", alias="discoveredWork",
        description="Beads a polecat files with bead_create: hold them (deferred, listed for the Overseer to "
                    "dispatch) or dispatch them within the same goal")

    # --- Polecats and the Witness ---------------------------------------------------------------
    polecats: PolecatSettings = Field(default_factory=PolecatSettings,
                                      description="Permission policy, Witness, budgets, worktree pool")
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings, description="OpenTelemetry traces")
    github: GitHubSettings = Field(default_factory=GitHubSettings, description="Landing through pull requests")
    hosts: HostsSettings = Field(default_factory=HostsSettings, description="Runtime hosts for polecats")

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> Settings:
        data = dict(overrides or {})
        if os.environ.get("GASTOWN_SCENARIO") and not data.get("scenario"):
            data["scenario"] = os.environ["GASTOWN_SCENARIO"]
        if os.environ.get("GASTOWN_MAX_POLECATS") and "maxPolecats" not in data:
            data["maxPolecats"] = int(os.environ["GASTOWN_MAX_POLECATS"])
        return cls.model_validate(data)


def state_dir(workspace: Path) -> Path:
    """The town's own state, gitignored: ledger DB, session ids, logs."""
    return workspace / ".gastown"
