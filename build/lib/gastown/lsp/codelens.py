"""Code lenses in the Overseer's files: bead ids in comments show their status and title; TODO/FIXME
comments offer "Create bead". Pure functions over text, so they are tested without a server."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gastown.ledger.model import Bead

COMMENT = r"(?:#|//|/\*|--|<!--|;|\*)"
TODO = re.compile(COMMENT + r"\s*(TODO|FIXME)\b[:(\s]*(?:[^)]*\))?[:\s]*(?P<text>.*?)\s*(?:\*/|-->)?$")


@dataclass(frozen=True)
class Lens:
    line: int
    start: int
    end: int
    title: str
    command: str
    arguments: list


def bead_id_pattern(prefixes: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(set(prefixes)) if p)
    return re.compile(rf"\b(?:{alternatives})-[0-9a-z]{{3,8}}(?:\.\d+)*\b")


def lenses_for(text: str, bead_ids: re.Pattern[str], lookup: Callable[[str], Bead | None]) -> list[Lens]:
    found: list[Lens] = []
    for number, line in enumerate(text.splitlines()):
        comment = re.search(COMMENT, line)
        if not comment:
            continue
        tail = line[comment.start():]
        for m in bead_ids.finditer(tail):
            bead = lookup(m.group(0))
            if bead is None:
                continue
            start = comment.start() + m.start()
            found.append(Lens(number, start, start + len(m.group(0)),
                              f"{bead.id} · {bead.status} · P{bead.priority} · {bead.title}",
                              "gastown.showBead", [bead.id]))
        todo = TODO.search(line)
        if todo and todo.group("text"):
            title = todo.group("text")[:200]
            found.append(Lens(number, todo.start(), len(line), "Create bead", "gastown.createBead",
                              [{"title": title, "line": number}]))
    return found
