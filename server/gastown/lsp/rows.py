"""The Beads view's rows, encoded once.

A full `gastown/beads` answer with 10,000 beads must not build 10,000 models: each bead's row (its
BeadSummary as a JSON array, fields in ``BEAD_ROW`` order) is encoded with orjson when the bead changes,
and a full answer joins them. The join itself is kept until the next change, so a repeated first load
(a second window, a restarted extension) costs one copy. Kept in step with the ledger by the
LedgerChange events that also become `gastown/beadsChanged` deltas: an answer's version is the version of
the last delta sent before it.

A human step's row also says whether it needs the Overseer now (nothing blocks it). That can change when
*another* bead closes, so every change re-checks the (few) human steps and re-sends those that turned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from gastown.ledger.graph import is_workable
from gastown.ledger.model import Bead, DepType, LedgerChange, Status
from gastown.lsp.protocol import BeadRow as Row
from gastown.lsp.protocol import BeadSummary, HumanStep
from gastown.town.plan import is_human

NOT_HUMAN: HumanStep = 0
HUMAN_WAITING: HumanStep = 1  # or closed: a human step, nothing for the Overseer to do now
HUMAN_READY: HumanStep = 2  # needs you


def row_of(bead: Bead, human: HumanStep = NOT_HUMAN) -> Row:
    """A bead's BeadSummary as a row (the same fields, in BEAD_ROW order)."""
    return (bead.id, bead.title, bead.status, bead.priority, bead.issue_type, bead.parent_id, bead.assignee, human)


def encode_rows(beads: Iterable[Bead], *, ready: bool = False) -> orjson.Fragment:
    """Rows of a list of beads; ``ready``: they are the ledger's ready set (a human step there needs you)."""
    rows = [row_of(b, (HUMAN_READY if ready else HUMAN_WAITING) if is_human(b) else NOT_HUMAN) for b in beads]
    return orjson.Fragment(orjson.dumps(rows))


def blocked(bead: Bead, beads: Mapping[str, Bead]) -> bool:
    """Whether a blocking dependency of the bead or of an ancestor is still open (the ledger's rule for
    ``blocks``/``conditional-blocks`` and parent-child; ``waits-for`` is left to the ledger's own ready)."""
    seen: set[str] = set()
    cur: Bead | None = bead
    while cur is not None and cur.id not in seen:
        seen.add(cur.id)
        for dep in cur.dependencies or ():
            if dep.type in DepType.BLOCKING:
                target = beads.get(dep.depends_on_id)
                if target is not None and target.status not in Status.DONE:
                    return True
        parent = cur.parent_id
        cur = beads.get(parent) if parent else None
    return False


def human_step(bead: Bead, beads: Mapping[str, Bead]) -> HumanStep:
    if not is_human(bead):
        return NOT_HUMAN
    return HUMAN_READY if is_workable(bead) and not blocked(bead, beads) else HUMAN_WAITING


class BeadRows:
    def __init__(self) -> None:
        self.version = 0
        self.beads: dict[str, Bead] = {}  # also what the code lenses look bead ids up in
        self._encoded: dict[str, bytes] = {}
        self._joined: bytes | None = None
        self._human: dict[str, HumanStep] = {}  # human steps -> their state as last encoded

    def reset(self, beads: Iterable[Bead], version: int) -> None:
        self.beads = {b.id: b for b in beads}
        self._human = {i: human_step(b, self.beads) for i, b in self.beads.items() if is_human(b)}
        human = self._human
        self._encoded = {i: orjson.dumps(row_of(b, human.get(i, NOT_HUMAN))) for i, b in self.beads.items()}
        self._joined = None
        self.version = version

    def apply(self, change: LedgerChange) -> list[Bead]:
        """Take in a change; the beads whose rows it changed (its own, and human steps that turned)."""
        touched: dict[str, Bead] = {}
        for bead in change.changed:
            self.beads[bead.id] = bead
            touched[bead.id] = bead
            if is_human(bead):
                self._human.setdefault(bead.id, NOT_HUMAN)
            else:
                self._human.pop(bead.id, None)
        for gone in change.removed:
            self.beads.pop(gone, None)
            self._encoded.pop(gone, None)
            self._human.pop(gone, None)
        for bead_id, was in self._human.items():
            now = human_step(self.beads[bead_id], self.beads)
            if now != was:
                self._human[bead_id] = now
                touched[bead_id] = self.beads[bead_id]
        for bead_id, bead in touched.items():
            self._encoded[bead_id] = orjson.dumps(row_of(bead, self._human.get(bead_id, NOT_HUMAN)))
        self._joined = None
        self.version = max(self.version, change.version)
        return list(touched.values())

    def summary(self, bead: Bead) -> BeadSummary:
        """The bead's BeadSummary as its row says it (after ``apply``)."""
        return BeadSummary.of(bead, self._human.get(bead.id, NOT_HUMAN))

    def all(self) -> orjson.Fragment:
        """Every bead's row, as one pre-encoded JSON array."""
        if self._joined is None:
            self._joined = b"[" + b",".join(self._encoded.values()) + b"]"
        return orjson.Fragment(self._joined)

    def some(self, ids: Iterable[str]) -> orjson.Fragment:
        return orjson.Fragment(b"[" + b",".join(self._encoded[i] for i in ids if i in self._encoded) + b"]")
