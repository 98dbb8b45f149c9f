"""Write the contracts the extension is generated from (schemas/ is generated, never hand-edited):
the JSON Schemas of the ledger and protocol models, the method names, and the editor's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel


def all_models() -> dict[str, type[BaseModel]]:
    from gastown.config import Settings
    from gastown.ledger.model import Bead, BeadEvent, Comment, Dependency
    from gastown.lsp.protocol import SCHEMA_MODELS

    return {"Bead": Bead, "Dependency": Dependency, "Comment": Comment, "BeadEvent": BeadEvent,
            "InitializationOptions": Settings, **SCHEMA_MODELS}


# What the client sends rather than receives: its shape as the server validates it (nothing required).
INPUT_MODELS = {"InitializationOptions"}


def render(model: type[BaseModel], mode: Literal["validation", "serialization"] = "serialization") -> str:
    # Serialization mode: the shapes as they travel to the client and into JSONL.
    return _json(model.model_json_schema(mode=mode))


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def contracts() -> dict[str, str]:
    """File name -> text of everything `gastown schemas` writes."""
    from gastown.lsp.editor_settings import editor_settings
    from gastown.lsp.protocol import BEAD_ROW, CREATE_BEAD, METHODS

    files = {f"{name}.schema.json": render(model, "validation" if name in INPUT_MODELS else "serialization")
             for name, model in sorted(all_models().items())}
    files["protocol.json"] = _json({"methods": {m.split("/", 1)[1]: m for m in METHODS},
                                    "commands": {CREATE_BEAD.split(".", 1)[1]: CREATE_BEAD},
                                    "beadRow": list(BEAD_ROW)})
    files["editor-settings.json"] = json.dumps(editor_settings(), indent=2) + "\n"  # in the table's order
    return files


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in contracts().items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written
