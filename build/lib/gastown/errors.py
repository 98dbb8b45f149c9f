"""The errors a user can cause and fix: the CLI prints their message, no traceback.

Every layer's own user-facing error derives from :class:`GastownError`, so this module imports nothing
from the layers (a ledger command must not load the town to know what to catch)."""

from __future__ import annotations


class GastownError(Exception):
    """Something the user can fix; its message says what and how."""


def user_errors() -> tuple[type[Exception], ...]:
    """What the CLI turns into a one-line message. pydantic is imported only when an error is caught."""
    from pydantic import ValidationError

    return (GastownError, ValidationError, ValueError, OSError)
