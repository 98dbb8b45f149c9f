"""Hash-based bead ids: ``<prefix>-<base36>``, like Beads.

The hash part is the sha256 of title + timestamp + nonce in base 36. It is 4 characters while the
ledger is small and grows (up to 8) as the ledger grows, so that the chance of a collision stays low;
a collision that happens anyway is retried with the next nonce (and, after a few, a longer id).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator

from gastown.ledger.model import now_iso

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
MIN_LENGTH = 4
MAX_LENGTH = 8
MAX_COLLISION_PROBABILITY = 0.25
_TRIES_PER_LENGTH = 10


def base36(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(reversed(out)) or "0"


def id_length(existing: int) -> int:
    """The shortest hash length (4..8) whose birthday collision probability stays under 25 %."""
    for length in range(MIN_LENGTH, MAX_LENGTH + 1):
        space = 36.0**length
        p = 1.0 - math.exp(-(existing * existing) / (2.0 * space))
        if p <= MAX_COLLISION_PROBABILITY:
            return length
    return MAX_LENGTH


def hash_id(prefix: str, title: str, timestamp: str, nonce: int, length: int) -> str:
    digest = hashlib.sha256(f"{title}\x00{timestamp}\x00{nonce}".encode()).digest()
    return f"{prefix}-{base36(digest).rjust(50, '0')[:length]}"


def id_candidates(prefix: str, title: str, *, existing: int, timestamp: str | None = None) -> Iterator[str]:
    """Candidate ids in the order to try them: 10 nonces at the size-driven length, then longer ones."""
    timestamp = timestamp or now_iso()
    length = id_length(existing)
    nonce = 0
    while True:
        for _ in range(_TRIES_PER_LENGTH):
            yield hash_id(prefix, title, timestamp, nonce, length)
            nonce += 1
        if length < MAX_LENGTH:
            length += 1


def new_id(
    prefix: str,
    title: str,
    *,
    existing: int,
    taken: Callable[[str], bool],
    timestamp: str | None = None,
) -> str:
    """A fresh id not ``taken``; ``existing`` is the ledger size (drives the length)."""
    for tries, candidate in enumerate(id_candidates(prefix, title, existing=existing, timestamp=timestamp)):
        if not taken(candidate):
            return candidate
        if tries > 10_000:  # pragma: no cover - would need ~36**8 beads
            raise RuntimeError("could not find a free bead id")
    raise AssertionError("unreachable")  # pragma: no cover


def child_id(parent: str, n: int) -> str:
    """The id of a parent's n-th child, as Beads writes it: ``<parent>.<n>``."""
    if n < 1:
        raise ValueError("child numbers start at 1")
    return f"{parent}.{n}"
