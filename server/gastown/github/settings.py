"""The code host's settings (``github.*``): how goals land, where, and how the Refinery follows the checks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Landing = Literal["local", "pr", "pr-per-bead"]


class GitHubSettings(BaseModel):
    """Landing through pull requests. ``local`` keeps today's way (``gastown land`` merges the integration branch
    into your branch); ``pr`` opens one pull request per goal; ``pr-per-bead`` one per bead, stacked on the
    pull requests of the beads it depends on."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True,
                              extra="ignore")
    landing: Landing = Field(default="local",
                             description="local (merge into your branch), pr (one pull request per goal) or "
                                         "pr-per-bead (one per bead, stacked on its dependencies' pull requests)")
    auto_land: bool = Field(default=False,
                            description="Merge the pull request when its checks pass (with a merge method the "
                                        "repository allows)")
    remote: str = Field(default="origin", description="The git remote pull request branches are pushed to")
    base: str = Field(default="", description="The branch pull requests target; empty = the repository's default")
    repository: str = Field(default="", description="owner/name on the host; empty = read from the remote's URL")
    api_url: str = Field(default="", description="The REST API's base URL; empty = https://api.github.com, or "
                                                 "https://HOST/api/v3 for a GitHub Enterprise remote")
    poll_seconds: float = Field(default=30, gt=0, description="Seconds between looks at a pull request's checks "
                                                              "and review comments")
    checks_timeout_s: float = Field(default=3600, gt=0, alias="checksTimeout",
                                    description="Checks still pending after this long: the pull request is marked "
                                                "'checks pending too long' and the Overseer is told")
    max_retry_after_s: float = Field(default=300, ge=0, alias="maxRetryAfter",
                                     description="The longest Retry-After (rate limit) waited for before a request "
                                                 "fails with a clear error")
    reviewers: list[str] = Field(default_factory=list, description="Reviewers requested on every pull request")
    copilot_review: bool = Field(default=True, description="Ask for a Copilot review on new pull requests (where "
                                                           "the host allows it)")
    draft: bool = Field(default=False, description="Open pull requests as drafts")
