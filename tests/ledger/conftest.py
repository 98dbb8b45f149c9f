from __future__ import annotations

from pathlib import Path

import pytest

from gastown.ledger.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "beads-issues-2026-01.jsonl"


@pytest.fixture
def fixture_path() -> Path:
    assert FIXTURE.is_file(), f"missing fixture {FIXTURE}"
    return FIXTURE


@pytest.fixture
async def store(tmp_path: Path):
    s = await Store.open(tmp_path / "town" / ".gastown" / "beads.db")
    try:
        yield s
    finally:
        await s.close()
