"""Where pull requests go: the remote's URL read as host, owner and repository; the REST API's base URL for
that host (GitHub Enterprise by its own URL); pushing a branch without force."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gastown.errors import GastownError
from gastown.github.settings import GitHubSettings
from gastown.vcs import git, git_text

DOTCOM = "github.com"
_SCP = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")  # git@github.com:owner/name.git
_USERINFO = re.compile(r"://[^@/\s]+@")  # credentials written into a remote's URL: never repeated in a message
_URL = re.compile(r"^(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>.+)$")


class GitHubError(GastownError):
    """The code host refused or could not do something; the message names what and what to do."""


class PushRejected(GitHubError):
    """The remote branch has commits that are not ours: nothing was pushed, nothing was forced."""


@dataclass(frozen=True)
class Where:
    host: str
    owner: str
    name: str
    api_url: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def parse_remote_url(url: str) -> tuple[str, str] | None:
    """(host, "owner/name") of a GitHub-style remote URL, or None (e.g. a file:// remote)."""
    url = url.strip()
    m = _URL.match(url) or (None if "://" in url else _SCP.match(url))
    if m is None:
        return None
    path = m.group("path").strip("/").removesuffix(".git")
    if path.count("/") != 1:
        return None
    return m.group("host").lower(), path


def api_url_for(host: str) -> str:
    return "https://api.github.com" if host == DOTCOM else f"https://{host}/api/v3"


def remote_url(workdir: Path, remote: str) -> str:
    url = git_text(["remote", "get-url", remote], workdir, check=False)
    if not url:
        raise GitHubError(f"no git remote named {remote!r} in {workdir}; add it (git remote add {remote} URL) or "
                          "set github.remote")
    return url


def locate(workdir: Path, settings: GitHubSettings) -> Where:
    """Host, repository and API URL from the settings, else from the remote's URL."""
    parsed = parse_remote_url(remote_url(workdir, settings.remote))
    full = settings.repository or (parsed[1] if parsed else "")
    if full.count("/") != 1 or not all(full.split("/")):
        raise GitHubError(f"cannot tell the GitHub repository of remote {settings.remote!r}; set github.repository "
                          "to owner/name")
    api = settings.api_url.rstrip("/")
    host = parsed[0] if parsed else ""
    if not api:
        if not host:
            raise GitHubError(f"remote {settings.remote!r} is not on a GitHub host; set github.apiUrl")
        api = api_url_for(host)
    if not host:  # e.g. https://ghe.example.com/api/v3 → ghe.example.com
        m = re.match(r"^https?://(?:api\.)?(?P<host>[^/:]+)", api)
        host = m.group("host") if m else DOTCOM
    owner, name = full.split("/")
    return Where(host=host, owner=owner, name=name, api_url=api)


def push(workdir: Path, remote: str, sha: str, branch: str) -> bool:
    """Push ``sha`` to ``branch`` on ``remote``, never forced. Returns False when the branch was already there;
    raises PushRejected when the remote branch has commits that ``sha`` does not contain."""
    out = git(["push", "--porcelain", remote, f"{sha}:refs/heads/{branch}"], workdir, check=False,
              env={"GIT_TERMINAL_PROMPT": "0"})
    text = _USERINFO.sub("://***@", (out.stdout + out.stderr).decode(errors="replace"))
    if out.returncode != 0:
        if "non-fast-forward" in text or "[rejected]" in text or "fetch first" in text:
            raise PushRejected(f"{remote}/{branch} has commits that are not on the integration branch (someone "
                               "else pushed there); nothing was pushed and nothing was forced — merge them into "
                               f"the integration branch or delete {branch} on the remote")
        raise GitHubError(f"git push {remote} {branch} failed: {text.strip()[-500:]}")
    return "[up to date]" not in text
