"""A pull request's title and body, generated from the ledger: the goal, each bead with its acceptance criteria
and how it was verified, and the epic's id (a hidden marker ties the pull request back to it)."""

from __future__ import annotations

import re

from gastown.ledger.model import Bead, Status

MARKER = "<!-- gastown:epic={epic} -->"
_MARKER = re.compile(r"<!-- gastown:epic=(?P<epic>[\w.-]+) -->")
MAX_FIELD = 1500


def epic_of_body(body: str | None) -> str | None:
    m = _MARKER.search(body or "")
    return m.group("epic") if m else None


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD] + " …"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in _clip(text).splitlines())


def verification(bead: Bead) -> str:
    if bead.status in Status.DONE:
        return f"✅ verified and {bead.close_reason}" if bead.close_reason else "✅ closed"
    return f"⏳ {bead.status}"


def pr_title(epic: Bead) -> str:
    return f"{epic.title} [{epic.id}]"


def pr_body(epic: Bead, beads: list[Bead], *, verify_command: str = "", checks: str = "") -> str:
    lines = [
        f"**Goal** ({epic.id}): {epic.title}",
        "",
    ]
    if epic.description and epic.description.strip() != epic.title.strip():
        lines += [_quote(epic.description), ""]
    lines += [f"Planned by the Mayor into {len(beads)} bead{'s' if len(beads) != 1 else ''}, each worked by a "
              "polecat and verified by the Refinery" + (f" with `{verify_command}`" if verify_command else "") + ".",
              ""]
    for bead in beads:
        lines.append(f"### {bead.id} — {bead.title}")
        if bead.acceptance_criteria:
            lines += ["", "Acceptance criteria:", "", _quote(bead.acceptance_criteria)]
        lines += ["", f"Verification: {verification(bead)}", ""]
    if checks:
        lines += [f"Checks: {checks}", ""]
    lines += ["---", f"Opened by Gas Town for epic `{epic.id}`. Review comments on lines go back to the bead that "
              "wrote them.", MARKER.format(epic=epic.id)]
    return "\n".join(lines)
