"""Settings: one pydantic model, filled from the editor's initializationOptions, the CLI or the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "gpt-4.1"


class ProviderSettings(BaseModel):
    """Copilot login by default; BYOK (OpenAI-compatible, Azure AI Foundry, Anthropic, Ollama) when typed."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    type: Literal["copilot", "openai", "azure", "anthropic"] = "copilot"
    base_url: str | None = Field(default=None, alias="baseUrl")
    model: str = DEFAULT_MODEL
    api_key: str | None = Field(default=None, alias="apiKey", repr=False)
    api_key_env: str = Field(default="GASTOWN_API_KEY", alias="apiKeyEnv")
    azure_api_version: str | None = Field(default=None, alias="azureApiVersion")

    def sdk_provider(self) -> dict | None:
        """The SDK's per-session ``provider=`` (None = the user's Copilot login)."""
        if self.type == "copilot":
            return None
        if not self.base_url:
            raise ValueError(f"provider {self.type!r} needs a base URL (gastown.provider.baseUrl)")
        provider: dict = {"type": self.type, "base_url": self.base_url}
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


# --- Polecats and the Witness (issue 4) -----------------------------------------------------------
class BudgetSettings(BaseModel):
    """Caps; 0 = no cap. At a bead cap its polecat is stopped and the bead blocked; at a goal cap dispatch
    of that goal pauses and the Overseer is told."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    tokens_per_bead: int = Field(default=0, ge=0, alias="tokensPerBead")
    tokens_per_goal: int = Field(default=0, ge=0, alias="tokensPerGoal")
    seconds_per_bead: float = Field(default=0, ge=0, alias="secondsPerBead")
    seconds_per_goal: float = Field(default=0, ge=0, alias="secondsPerGoal")


class PolecatSettings(BaseModel):
    """The polecats' permission policy, the Witness's supervision, budgets and the worktree pool."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    deny_commands: list[str] = Field(default_factory=list, alias="denyCommands",
                                     description="Extra regexes a shell command must not match (added to the "
                                                 "built-in denials: git push, branch switching, sudo, installs, "
                                                 "network tools)")
    allow_commands: list[str] = Field(default_factory=list, alias="allowCommands",
                                      description="If set, a shell command must match one of these regexes")
    allow_urls: bool = Field(default=False, alias="allowUrls", description="Let polecats fetch URLs")
    readable_paths: list[str] = Field(default_factory=list, alias="readablePaths",
                                      description="Folders polecats may read besides their worktree and the "
                                                  "workspace")
    stall_seconds: float = Field(default=120, gt=0, alias="stallSeconds",
                                 description="No agent event for this long: the Witness nudges, then restarts")
    tool_stall_seconds: float = Field(default=900, gt=0, alias="toolStallSeconds",
                                      description="The same while a tool (e.g. a test run) is executing")
    max_restarts: int = Field(default=2, ge=0, le=10, alias="maxRestarts",
                              description="Restarts of a stuck polecat before the bead is escalated")
    nudge: str = Field(default="You have been quiet for a while. If you are stuck, say what blocks you and call "
                       "report_blocked; otherwise continue and call report_done when the bead is done.")
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    keep_idle_worktrees: int = Field(default=8, ge=0, alias="keepIdleWorktrees",
                                     description="Idle worktrees `gastown gc` keeps for reuse")


class Settings(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")
    provider: ProviderSettings = Field(default_factory=ProviderSettings)
    cli_path: str | None = Field(default=None, alias="cliPath")
    max_polecats: int = Field(default=4, ge=1, le=64, alias="maxPolecats")
    verify_command: str = Field(default="", alias="verifyCommand",
                                description="Run by the Refinery before a merge; empty = pytest/unittest/make test")
    verify_timeout_s: float = Field(default=600, gt=0, alias="verifyTimeout")
    integration_branch: str = Field(default="gastown/integration", alias="integrationBranch")
    worktree_root: str | None = Field(
        default=None, alias="worktreeRoot", description="Where polecat worktrees go (outside the workspace)"
    )
    turn_timeout_s: float = Field(default=300, gt=0, alias="turnTimeout")
    scenario: str | None = Field(
        default=None, description="Play this scenario file on a local scripted model server (offline)"
    )

    # --- Mayor, dispatcher and Refinery (issue 5) -------------------------------------------------
    max_plan_size: int = Field(default=30, ge=1, le=200, alias="maxPlanSize",
                               description="Most tasks one plan may have")
    plan_attempts: int = Field(default=3, ge=1, le=10, alias="planAttempts",
                               description="Invalid plans sent back to the Mayor before the goal fails")
    plan_approval: bool = Field(default=False, alias="planApproval",
                                description="Write plans as draft beads; dispatch only when the Overseer approves")
    conflict_radar: Literal["hold", "serialize", "off"] = Field(
        default="hold", alias="conflictRadar",
        description="A bead whose files overlap a running polecat's: hold it while that polecat works, "
                    "serialize it after that bead merges, or start it anyway (off)")
    auto_merge: bool = Field(default=True, alias="autoMerge",
                             description="Merge verified branches at once; off = wait for the Overseer's accept")
    merge_batch_size: int = Field(default=1, ge=1, le=64, alias="mergeBatchSize",
                                  description="Branches merged and verified together (bisected on failure)")
    merge_batch_window_s: float = Field(default=10, ge=0, alias="mergeBatchWindow",
                                        description="How long a batch may wait for running polecats to finish")
    rework_attempts: int = Field(default=2, ge=0, le=10, alias="reworkAttempts",
                                 description="Times a bead goes back to its polecat before it is blocked")
    review_agent: bool = Field(default=False, alias="reviewAgent",
                               description="A reviewer session scores each diff against the acceptance criteria")
    auto_land: bool = Field(default=False, alias="autoLand",
                            description="Land the integration branch on the current branch when a goal succeeds")

    # --- Polecats and the Witness (issue 4) -------------------------------------------------------
    polecats: PolecatSettings = Field(default_factory=PolecatSettings,
                                      description="Permission policy, Witness, budgets, worktree pool")

    @classmethod
    def from_env(cls, overrides: dict | None = None) -> Settings:
        data = dict(overrides or {})
        if os.environ.get("GASTOWN_SCENARIO") and not data.get("scenario"):
            data["scenario"] = os.environ["GASTOWN_SCENARIO"]
        if os.environ.get("GASTOWN_MAX_POLECATS") and "maxPolecats" not in data:
            data["maxPolecats"] = int(os.environ["GASTOWN_MAX_POLECATS"])
        return cls.model_validate(data)


def state_dir(workspace: Path) -> Path:
    """The town's own state, gitignored: ledger DB, session ids, logs."""
    return workspace / ".gastown"
