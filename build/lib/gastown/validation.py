"""One way to put a pydantic ValidationError in words: `field.path: message; …`."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError, root: str = "<root>") -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or root}: {err['msg']}" for err in exc.errors())
