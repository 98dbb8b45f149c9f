from __future__ import annotations

import re

from gastown.ledger.ids import MAX_LENGTH, hash_id, id_candidates, id_length, new_id


def test_id_shape_and_determinism():
    a = hash_id("gt", "title", "2026-01-01T00:00:00Z", 0, 4)
    assert re.fullmatch(r"gt-[0-9a-z]{4}", a)
    assert a == hash_id("gt", "title", "2026-01-01T00:00:00Z", 0, 4)
    assert a != hash_id("gt", "title", "2026-01-01T00:00:00Z", 1, 4)
    assert a != hash_id("gt", "other", "2026-01-01T00:00:00Z", 0, 4)


def test_length_grows_with_ledger_size():
    assert id_length(0) == 4
    assert id_length(100) == 4
    sizes = [id_length(n) for n in (0, 1_000, 10_000, 100_000, 1_000_000, 10**9)]
    assert sizes == sorted(sizes)
    assert sizes[1] == 5 and sizes[-1] == MAX_LENGTH


def test_collision_retries_with_next_nonce_and_then_longer():
    first = next(id_candidates("gt", "t", existing=0, timestamp="ts"))
    assert new_id("gt", "t", existing=0, taken=lambda i: i == first, timestamp="ts") != first
    # If every 4-char candidate is taken, the id grows.
    got = new_id("gt", "t", existing=0, taken=lambda i: len(i) == 3 + 4, timestamp="ts")
    assert len(got) == 3 + 5
