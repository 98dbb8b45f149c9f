"""The errors a user can cause and fix: the CLI prints their message, no traceback."""

from __future__ import annotations

from pydantic import ValidationError

from gastown.ledger.model import LedgerError
from gastown.runtime.base import RuntimeError_
from gastown.runtime.scripted_model import ScenarioError
from gastown.town.git import GitError
from gastown.town.mayor import PlanError

USER_ERRORS: tuple[type[Exception], ...] = (
    GitError, LedgerError, RuntimeError_, ScenarioError, PlanError, ValidationError, ValueError, OSError,
)
