"""The Beads view's rows, encoded once.

A full `gastown/beads` answer with 10,000 beads must not build 10,000 models: each bead's row (its
BeadSummary as a JSON array, fields in ``BEAD_ROW`` order) is encoded with orjson when the bead changes,
and a full answer joins them. The join itself is kept until the next change, so a repeated first load
(a second window, a restarted extension) costs one copy. Kept in step with the ledger by the
LedgerChange events that also become `gastown/beadsChanged` deltas: an answer's version is the version of
the last delta sent before it.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from gastown.ledger.model import Bead, LedgerChange
from gastown.lsp.protocol import BeadRow as Row


def row_of(bead: Bead) -> Row:
    """A bead's BeadSummary as a row (the same fields, in BEAD_ROW order)."""
    return (bead.id, bead.title, bead.status, bead.priority, bead.issue_type, bead.parent_id, bead.assignee)


def encode_rows(beads: Iterable[Bead]) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps([row_of(b) for b in beads]))


class BeadRows:
    def __init__(self) -> None:
        self.version = 0
        self.beads: dict[str, Bead] = {}  # also what the code lenses look bead ids up in
        self._encoded: dict[str, bytes] = {}
        self._joined: bytes | None = None

    def reset(self, beads: Iterable[Bead], version: int) -> None:
        self.beads = {b.id: b for b in beads}
        self._encoded = {i: orjson.dumps(row_of(b)) for i, b in self.beads.items()}
        self._joined = None
        self.version = version

    def apply(self, change: LedgerChange) -> None:
        for bead in change.changed:
            self.beads[bead.id] = bead
            self._encoded[bead.id] = orjson.dumps(row_of(bead))
        for gone in change.removed:
            self.beads.pop(gone, None)
            self._encoded.pop(gone, None)
        self._joined = None
        self.version = max(self.version, change.version)

    def all(self) -> orjson.Fragment:
        """Every bead's row, as one pre-encoded JSON array."""
        if self._joined is None:
            self._joined = b"[" + b",".join(self._encoded.values()) + b"]"
        return orjson.Fragment(self._joined)

    def some(self, ids: Iterable[str]) -> orjson.Fragment:
        return orjson.Fragment(b"[" + b",".join(self._encoded[i] for i in ids if i in self._encoded) + b"]")

