"""The part of GitHub's published OpenAPI description (npm ``@octokit/openapi``, ``generated/api.github.com.json``)
that the loopback server speaks: the success responses of the operations used, with every schema they refer to.
Regenerate with ``python -m tests.github.openapi_subset PATH/TO/api.github.com.json [VERSION]`` (the lead's
node_modules has the package once it is a devDependency; ``npm pack @octokit/openapi`` gives the tarball)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SUBSET = HERE / "openapi-subset.json"
# (method, path template, success status) — the REST subset gastown.github.client uses.
OPERATIONS = [
    ("get", "/repos/{owner}/{repo}", "200"),
    ("get", "/repos/{owner}/{repo}/pulls", "200"),
    ("post", "/repos/{owner}/{repo}/pulls", "201"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}", "200"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}", "200"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", "200"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "201"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/comments", "200"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs", "200"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status", "200"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", "200"),
]


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def build(spec: dict[str, Any], source: str) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for method, path, status in OPERATIONS:
        response = spec["paths"][path][method]["responses"][status]
        if "$ref" in response:
            response = _resolve(spec, response["$ref"])
        operations[f"{method.upper()} {path}"] = {"status": status,
                                                  "schema": response["content"]["application/json"]["schema"]}
    components: dict[str, dict[str, Any]] = {}
    todo: set[str] = set()
    _refs(operations, todo)
    done: set[str] = set()
    while todo:
        ref = todo.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, kind, name = ref.split("/")
        target = _resolve(spec, ref)
        components.setdefault(kind, {})[name] = target
        _refs(target, todo)
    return {"source": source, "openapi": spec["openapi"], "operations": operations,
            "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())}}


if __name__ == "__main__":
    full = json.loads(Path(sys.argv[1]).read_text())
    version = sys.argv[2] if len(sys.argv) > 2 else "?"
    SUBSET.write_text(json.dumps(build(full, f"@octokit/openapi@{version} generated/api.github.com.json"),
                                 indent=1, sort_keys=False) + "\n")
    print(SUBSET, SUBSET.stat().st_size)
