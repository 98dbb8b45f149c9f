"""Where the Copilot CLI is, and what to tell the user when it is not there (no SDK import: cheap)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gastown.runtime.base import AgentRuntimeError

PINNED_CLI_VERSION = "1.0.102"
CLI_INSTALL = f"npm install -g @github/copilot@{PINNED_CLI_VERSION}"
REPO_ROOT = Path(__file__).resolve().parents[3]
TOKEN_VARS = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")  # tokens the CLI uses instead of a login


class CliMissing(AgentRuntimeError):
    """No Copilot CLI: the message carries the exact install command; editors offer Set Path…."""


def resolve_cli_path(setting: str | None = None) -> str:
    """Setting, then COPILOT_CLI_PATH, then the npm-installed launcher (checkout or cwd), then PATH."""
    for source, path in (("setting cliPath", setting), ("COPILOT_CLI_PATH", os.environ.get("COPILOT_CLI_PATH"))):
        if path and not os.access(path, os.X_OK):
            raise CliMissing(f"Copilot CLI from {source} is not an executable file: {path}. "
                             f"Install it with `{CLI_INSTALL}` or fix the path.")
        if path:
            return path
    for where in (REPO_ROOT, Path.cwd()):
        path = str(where / "node_modules" / ".bin" / "copilot")
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("copilot")
    if found:
        return found
    raise CliMissing(f"Copilot CLI not found: install it with `{CLI_INSTALL}`, or set cliPath "
                     "(editor: gastown.cliPath; terminal: GASTOWN_CLI_PATH or --cli-path) to the copilot executable")


LOGIN_HELP = ("log in once with `copilot` and type /login (or set COPILOT_GITHUB_TOKEN, GH_TOKEN or GITHUB_TOKEN to a "
              "token with Copilot access), or use your own model (BYOK): set provider.type = openai|azure|anthropic "
              "and provider.baseUrl (editor: gastown.provider.*; terminal: gastown.toml or --provider-type/--base-url; "
              "`gastown config show` lists them)")
# What the CLI says when a session has neither a GitHub login nor a BYOK provider.
_NO_LOGIN = ("No GitHub OAuth token", "Copilot HMAC key", "Not authenticated", "not logged in")


class NotLoggedIn(AgentRuntimeError):
    """The CLI has no GitHub login and no BYOK provider is set: the message says how to get one."""


def login_error(message: str) -> NotLoggedIn | None:
    """The CLI's raw "no login" error (e.g. "Execution failed: InvalidArg, No GitHub OAuth token or Copilot HMAC
    key provided") as an error saying what to do; None for any other message."""
    if not any(marker.lower() in message.lower() for marker in _NO_LOGIN):
        return None
    return NotLoggedIn(f"GitHub Copilot is not logged in here: {LOGIN_HELP}. (The Copilot CLI said: {message.strip()})")
