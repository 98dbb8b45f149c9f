"""deploy/: the Kubernetes manifests validate offline against the Kubernetes schemas (kubernetes-validate
bundles them), and agree with `gastown host` (ports, health path, pinned CLI, the token file)."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from gastown.cli import build_parser
from gastown.runtime.cli_path import PINNED_CLI_VERSION

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.31.0"


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()) if d]


@pytest.mark.parametrize("name", ["hosts.yaml", "secrets.example.yaml"])
def test_manifests_validate_against_the_kubernetes_schemas(name):
    docs = documents(name)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError naming the field


def test_an_invalid_manifest_is_caught():
    stateful = next(d for d in documents("hosts.yaml") if d["kind"] == "StatefulSet")
    stateful["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(stateful, K8S_VERSION, strict=True)


def test_the_stateful_set_matches_the_host():
    docs = {d["kind"]: d for d in documents("hosts.yaml")}
    pod = docs["StatefulSet"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = dict(a.removeprefix("--").split("=", 1) for a in container["args"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"rpc": int(args["port"]), "cli": int(args["cli-port"]), "health": int(args["health-port"])}
    # Readiness comes from the host's own health endpoint.
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] == "/healthz" and probe["port"] == "health"
    # A volume per pod for the clone, mounted where the host keeps it; the token from a Secret file.
    claim = docs["StatefulSet"]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim] == args["root"]
    assert Path(args["token-file"]).parent == Path(mounts["token"])
    # Resource requests sized per slot (0.5 CPU each).
    assert float(container["resources"]["requests"]["cpu"]) == 0.5 * int(args["slots"])
    # Every flag is one `gastown host` accepts.
    parsed = build_parser(["host"]).parse_args(["host", *[a for a in container["args"] if "$(" not in a],
                                                "--remote", "x"])
    assert parsed.port == 7411 and parsed.sandbox == "auto"
    service = docs["Service"]
    assert service["spec"]["clusterIP"] == "None" and docs["StatefulSet"]["spec"]["serviceName"] == \
        service["metadata"]["name"]


def test_the_image_pins_the_cli_and_has_what_a_host_needs():
    text = (DEPLOY / "Dockerfile").read_text()
    assert f"@github/copilot@{PINNED_CLI_VERSION}" in text
    installed = re.search(r"apt-get install[^\n]*", text)
    assert installed and all(p in installed.group(0) for p in ("git", "bubblewrap"))
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert '"gastown", "host"' in text
