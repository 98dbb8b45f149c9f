"""Hash-based bead ids: ``<prefix>-<base36>``, like Beads.

The hash part is the sha256 of title + timestamp + nonce in base 36. It is 4 characters while the
ledger is small and grows (up to 8) as the ledger grows, so that the chance of a collision stays low;
a collision that happens anyway is retried with the next nonce (and, after a few, a longer id).
"""

from __future__ import annotations

import math

TYPE_CHECKING = False  # (typing is not imported at run time: natural_key serves short commands)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

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


# The birthday bound 1 - exp(-n² / 2·36^L) <= p  <=>  n² <= -2·36^L·ln(1 - p): the largest ledger size
# each length serves, computed once.
_MAX_SQUARED = {
    length: -2.0 * 36.0**length * math.log(1.0 - MAX_COLLISION_PROBABILITY)
    for length in range(MIN_LENGTH, MAX_LENGTH + 1)
}


def id_length(existing: int) -> int:
    """The shortest hash length (4..8) whose birthday collision probability stays under 25 %."""
    squared = float(existing) * existing
    for length in range(MIN_LENGTH, MAX_LENGTH + 1):
        if squared <= _MAX_SQUARED[length]:
            return length
    return MAX_LENGTH


_DIGITS = 50  # a sha256 in base 36 has at most 50 digits (36**50 > 2**256)
_SCALE = {length: 36 ** (_DIGITS - length) for length in range(1, _DIGITS + 1)}
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # every two base-36 digits, by value
_SHA256: list[Callable[[bytes], Any]] = []  # hashlib's, once the first id is made (not loaded for natural_key)


def hash_id(prefix: str, title: str, timestamp: str, nonce: int, length: int) -> str:
    """``prefix-`` and the first ``length`` digits of the hash written in base 36 with 50 digits (Beads'
    shape), computed from the top of the number instead of all 50 digits, two digits at a time."""
    if not _SHA256:
        import hashlib

        _SHA256.append(hashlib.sha256)
    digest = _SHA256[0](f"{title}\x00{timestamp}\x00{nonce}".encode()).digest()
    top = int.from_bytes(digest, "big") // _SCALE[length]
    digits = ""
    for _ in range(length >> 1):
        top, pair = divmod(top, 1296)
        digits = _PAIRS[pair] + digits
    if length & 1:
        digits = _ALPHABET[top] + digits  # (top < 36: the number had ``length`` digits)
    return f"{prefix}-{digits}"


def id_candidates(prefix: str, title: str, *, existing: int, timestamp: str | None = None) -> Iterator[str]:
    """Candidate ids in the order to try them: 10 nonces at the size-driven length, then longer ones."""
    if timestamp is None:
        from gastown.ledger.model import now_iso  # (the model is not loaded just for natural_key)

        timestamp = now_iso()
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


def natural_key(bead_id: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting hierarchical ids in their natural order: ``gt-x.2`` before ``gt-x.10``, a parent
    before its children. Each dot-separated part compares as a number when it is one."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in bead_id.split("."))
