"""Building blocks for scripted-model scenarios (rules and steps as dicts), shared by the test tiers."""

from __future__ import annotations

import os


def polecat_rule(title: str, steps: list[dict], also: str = "") -> dict:
    """Steps for the polecat whose prompt has this title; ``also`` = a regex its prompt must also contain."""
    import re

    match = rf"Title: {re.escape(title)}\n.*?Worktree: (?P<wt>\S+)" + (rf".*?{also}" if also else "")
    return {"name": f"{title} {also}".strip(), "match": match, "steps": steps}


def create(rel: str, text: str) -> dict:
    return {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/" + rel, "file_text": text}}]}


def edit(rel: str, old: str, new: str) -> dict:
    return {"tool_calls": [{"name": "edit", "arguments": {"path": "{{wt}}/" + rel, "old_str": old,
                                                           "new_str": new}}]}


def write(rel: str, text: str) -> dict:
    """Write a whole file with the shell (works whether or not it exists: the rework steps' way)."""
    folder = os.path.dirname(rel) or "."
    command = f"mkdir -p {folder} && cat > {rel} <<'GASTOWN_EOF'\n{text}GASTOWN_EOF"
    return {"tool_calls": [{"name": "bash", "arguments": {"command": command, "description": f"write {rel}"}}]}


def done(summary: str) -> dict:
    return {"tool_calls": [{"name": "report_done", "arguments": {"summary": summary}}]}


def say(text: str = "Done.") -> dict:
    return {"text": text}


def task(key: str, title: str, files: list[str], deps: list[str] | None = None, priority: int = 2,
         criteria: str = "it works and the tests pass") -> dict:
    return {"key": key, "title": title, "description": title, "acceptance_criteria": criteria,
            "priority": priority, "files": files, "depends_on": deps or []}


def propose(title: str, tasks: list[dict]) -> dict:
    return {"tool_calls": [{"name": "propose_plan", "arguments": {"title": title, "tasks": tasks}}]}


def mayor_rule(*steps: dict) -> dict:
    return {"name": "mayor", "match": "Plan this goal", "steps": list(steps)}
