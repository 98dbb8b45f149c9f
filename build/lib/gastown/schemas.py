"""Write the JSON Schemas of the ledger and protocol models (schemas/ is generated, never hand-edited)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel


def all_models() -> dict[str, type[BaseModel]]:
    from gastown.ledger.model import Bead, BeadEvent, Comment, Dependency
    from gastown.lsp.protocol import SCHEMA_MODELS

    return {"Bead": Bead, "Dependency": Dependency, "Comment": Comment, "BeadEvent": BeadEvent, **SCHEMA_MODELS}


def render(model: type[BaseModel]) -> str:
    # Serialization mode: the shapes as they travel to the client and into JSONL.
    schema = model.model_json_schema(mode="serialization")
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in sorted(all_models().items()):
        path = out / f"{name}.schema.json"
        text = render(model)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written
