"""The GitHub token: from the editor (VS Code's SecretStorage, handed over in memory), the environment
(``GH_TOKEN``, ``GITHUB_TOKEN``; ``GH_ENTERPRISE_TOKEN`` for other hosts) or the user's ``gh`` login. A token is
never logged, never written to the ledger, the JSONL, events or the repository: it lives in a :class:`Token`
whose ``repr`` and ``str`` hide it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

from gastown.errors import GastownError

GH_TIMEOUT = 10.0


class GitHubAuthError(GastownError):
    """No token, or the host refused it; the message says where a token is looked for."""


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    source: str  # "editor" | "GH_TOKEN" | "GITHUB_TOKEN" | "gh auth token" ...

    def __str__(self) -> str:
        return f"<token from {self.source}>"


def where_looked(host: str) -> str:
    login = "gh auth login" + ("" if host == "github.com" else f" --hostname {host}")
    return (f"no GitHub token for {host}: sign in with `{login}`, set GH_TOKEN or GITHUB_TOKEN, or sign in from "
            "the editor (Gas Town: Sign In to GitHub)")


def env_token(host: str, env: Mapping[str, str] | None = None) -> Token | None:
    env = os.environ if env is None else env
    names = ("GH_TOKEN", "GITHUB_TOKEN") if host == "github.com" else ("GH_ENTERPRISE_TOKEN", "GH_TOKEN",
                                                                        "GITHUB_TOKEN")
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return Token(value, name)
    return None


def gh_token(host: str, gh: str | None = None) -> Token | None:
    """``gh auth token --hostname HOST`` when gh is installed and signed in (its output is never echoed)."""
    gh = gh or shutil.which("gh")
    if gh is None:
        return None
    try:
        out = subprocess.run([gh, "auth", "token", "--hostname", host], capture_output=True, text=True,
                             timeout=GH_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = out.stdout.strip()
    return Token(value, "gh auth token") if out.returncode == 0 and value else None


def resolve_token(host: str, editor: str | None = None, env: Mapping[str, str] | None = None,
                  gh: str | None = None) -> Token:
    """The first token found: the editor's, the environment's, gh's. Raises GitHubAuthError saying where it
    looked when there is none."""
    if editor and editor.strip():
        return Token(editor.strip(), "editor")
    token = env_token(host, env) or gh_token(host, gh)
    if token is None:
        raise GitHubAuthError(where_looked(host))
    return token


def redact(text: str, *tokens: Token | str | None) -> str:
    """``text`` with every given token replaced by ***: for messages built from a server's words."""
    for token in tokens:
        value = token.value if isinstance(token, Token) else token
        if value:
            text = text.replace(value, "***")
    return text
