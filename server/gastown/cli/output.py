"""How the command line shows things: JSON, one-line beads, a bead in full, events, trees, tables.

Beads are shown from their JSONL shape (a dict: what ``Bead.to_json_dict()`` gives, or a stored line
parsed by the light reader), so both read paths print byte-identical output.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # (typing is not imported at run time: a short command does not need it)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    Row = Mapping[str, Any]


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def bead_line(bead: Row) -> str:
    who = f" @{bead['assignee']}" if bead.get("assignee") else ""
    labels = bead.get("labels")
    tags = f"  #{' #'.join(labels)}" if labels else ""
    return (f"{bead['id']}  [P{bead.get('priority', 2)} {bead.get('issue_type', 'task')} "
            f"{bead.get('status', 'open')}]{who}  {bead['title']}{tags}")


def bead_text(bead: Row) -> str:
    out = [bead_line(bead)]
    for name in ("description", "design", "acceptance_criteria", "notes", "close_reason"):
        value = bead.get(name)
        if value:
            out.append(f"\n{name.replace('_', ' ').capitalize()}:\n{value}")
    if bead.get("labels"):
        out.append(f"\nLabels: {', '.join(bead['labels'])}")
    for dep in bead.get("dependencies") or ():
        out.append(f"Depends on: {dep['depends_on_id']} ({dep.get('type', 'blocks')})")
    for c in bead.get("comments") or ():
        out.append(f"\n[{c.get('created_at')}] {c.get('author', '')}: {c['text']}")
    return "\n".join(out)


def event_line(e: Any) -> str:
    detail = " ".join(
        x for x in (
            f"{e.old_value or ''} -> {e.new_value or ''}".strip() if e.old_value or e.new_value else "",
            f"({e.comment})" if e.comment else "",
        ) if x
    )
    return f"{e.created_at}  {e.event_type:<18} {e.actor or '-':<12} {detail}".rstrip()


def tree_lines(node: dict[str, Any], prefix: str = "", last: bool = True, root: bool = True) -> list[str]:
    if node.get("missing"):
        text = f"{node['id']} (not in the ledger)"
    else:
        text = f"{node['id']} [P{node['priority']} {node['issue_type']} {node['status']}] {node['title']}"
        if node.get("repeat"):
            text += " (shown above)"
        if node.get("truncated"):
            text += " …"
    if root:
        lines = [text]
        child_prefix = ""
    else:
        lines = [f"{prefix}{'└── ' if last else '├── '}{node['dep_type']}: {text}"]
        child_prefix = prefix + ("    " if last else "│   ")
    kids = node.get("children", [])
    for i, child in enumerate(kids):
        lines.extend(tree_lines(child, child_prefix, i == len(kids) - 1, root=False))
    return lines


# -- `gastown status | worktrees` --------------------------------------------------------------------------
def fmt_age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def render_status(report: dict[str, Any]) -> str:
    text = _render_runs(report) + _render_hosts(report.get("hosts"))
    for scope, reason in report["pauses"].items():
        text += f"\nDispatch paused for {scope}: {reason}"
    return text


def _render_hosts(hosts: list[dict[str, Any]] | None) -> str:
    if not hosts:
        return ""
    rows = [["HOST", "ADDRESS", "STATE", "SLOTS", "DETAIL"]]
    for h in hosts:
        used = "?" if h["used"] is None else str(h["used"])
        rows.append([h["name"], h["address"], "live" if h["up"] else "lost", f"{used}/{h['slots']}",
                     (h["why"] or "")[:70].replace("\n", " ")])
    return "\n\nRuntime hosts:\n" + table(rows)


def _render_runs(report: dict[str, Any]) -> str:
    if not report["runs"]:
        return "No polecat runs recorded yet."
    rows = [["AGENT", "BEAD", "STATE", "RUN", "RESTARTS", "TOKENS", "EVENTS", "QUIET", "TIME", "EXIT / DETAIL"]]
    for r in report["runs"]:
        detail = (r["exit_reason"] or "running") + (f": {r['detail']}" if r["detail"] else "")
        rows.append([r["agent"], f"{r['bead_id']} ({r['bead_status']})" if r["bead_status"] else r["bead_id"],
                     r["state"], f"#{r['id']}", str(r["restarts"]), str(r["tokens"]), str(r["events"]),
                     fmt_age(r["idle_seconds"]), fmt_age(r["seconds"]), detail[:70].replace("\n", " ")])
    return table(rows)


def render_worktrees(report: dict[str, Any]) -> str:
    lines = [f"Worktree root: {report['root']}"]
    if report["worktrees"]:
        rows = [["NAME", "STATE", "BRANCH", "HEAD", "UNMERGED", "DIRTY"]]
        for e in report["worktrees"]:
            rows.append([e["name"], e["state"], e["branch"] or "(detached)", (e["head"] or "")[:10],
                         str(e["unmerged"]), "yes" if e["dirty"] else ""])
        lines.append(table(rows))
    else:
        lines.append("No worktrees.")
    if report["archived"]:
        lines.append("Archived work (refs/gastown/archive, never deleted):")
        lines += [f"  {a['ref']}  {a['commit'][:10]}" for a in report["archived"]]
    return "\n".join(lines)
