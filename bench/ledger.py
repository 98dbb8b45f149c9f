"""Ledger benchmark: one JSON object per line (``{"metric", "value", "unit", ...}``).

Usage: ``python bench/ledger.py [--skip-100k]``. The code lives in ``gastown.ledger.bench`` so that
``gastown bench ledger`` can run the same thing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from gastown.ledger.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
