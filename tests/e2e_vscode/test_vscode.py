"""The extension in real VS Code: code-server 4.100.3 (VS Code 1.100.3) driven by headless Chromium.

Submits a goal from the command palette and waits until the Beads view shows the plan's beads closed,
watching the Agents view and the status bar; then opens a bead's diff from the tree, a bead's page and a
polecat's log — with the real language server, the real Copilot CLI and the scripted local model behind it.

The built .vsix installed into a fresh extensions folder, on a workspace outside this repository with no
`gastown` on any Python path: its private environment is created from the wheels it carries, and a goal
merges against the scripted model as an `openai` provider, after the missing Copilot CLI's notification was
answered with **Set Path…** (test_the_built_vsix_brings_its_server).
A polecat that asks is answered through the notification's **Answer…** (test_a_polecat_asks_and_is_answered).

The review flow (auto-merge off: accept one hunk, reject another with a comment, the bead goes back to
work and closes, the accepted hunk is on the integration branch and the rejected one is not) is
test_review_accept_one_hunk_reject_another_with_a_comment.

Needs `dist/extension.js` (npm run build) and code-server (tests/e2e_vscode/install-code-server.sh);
`make test` provides both. Missing pieces fail the test with the command to run; it never skips.
Screenshots and logs: test-artifacts/vscode/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.vscode

REPO_ROOT = Path(__file__).resolve().parents[2]
CODE_SERVER_VERSION = "4.100.3"
CODE_SERVER_HOME = REPO_ROOT / ".cache" / "code-server"
CODE_SERVER = CODE_SERVER_HOME / "node_modules" / "code-server" / "out" / "node" / "entry.js"
CODE_SERVER_STAMP = CODE_SERVER_HOME / f".installed-{CODE_SERVER_VERSION}"
DIST = REPO_ROOT / "dist" / "extension.js"
VSIX = REPO_ROOT / "dist" / "gastown.vsix"
DRIVE = Path(__file__).with_name("drive.mjs")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "vscode"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
REVIEW_SCENARIO = Path(__file__).with_name("review_scenario.json")

USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "terminal.integrated.gpuAcceleration": "off",
}


def require(path: Path, what: str, fix: str) -> None:
    if not path.exists():
        pytest.fail(f"{what} not found at {path}; run: {fix}", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install_extension(extensions_dir: Path) -> Path:
    """The unpacked extension as VS Code expects it: <publisher>.<name>-<version>/ with the manifest and
    dist/ (esbuild bundles vscode-languageclient, so no node_modules are needed at run time)."""
    manifest = json.loads((REPO_ROOT / "package.json").read_text())
    target = extensions_dir / f"{manifest['publisher']}.{manifest['name']}-{manifest['version']}"
    target.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "package.json", target / "package.json")
    shutil.copytree(REPO_ROOT / "dist", target / "dist")
    return target


def wait_until_answers(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode} before answering:\n{tail(log)}", pytrace=False)
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"code-server did not answer on {url} within {timeout:.0f} s:\n{tail(log)}", pytrace=False)


def stop_group(proc: subprocess.Popen, grace: float = 15) -> None:
    """End code-server and everything it started (extension host, language server, Copilot CLI)."""
    pgid = proc.pid  # start_new_session=True: the process group id is code-server's pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_alive(pgid):
        proc.poll()
        time.sleep(0.2)
    if group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def collect_logs(user_data: Path, code_server_log: Path, artifacts: Path) -> None:
    """code-server's log and the extension's output channel ("Gas Town": client + server stderr)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    if code_server_log.exists():
        shutil.copy2(code_server_log, artifacts / "code-server.log")
    for found in sorted((user_data / "logs").rglob("*Gas Town*.log")):
        shutil.copy2(found, artifacts / "gastown-output.log")
    for found in sorted((user_data / "logs").rglob("exthost.log")):
        shutil.copy2(found, artifacts / "exthost.log")


def evidence(stdout: str) -> dict:
    """drive.mjs's EVIDENCE lines, merged into one dict."""
    facts: dict = {}
    for line in stdout.splitlines():
        if line.startswith("EVIDENCE "):
            facts.update(json.loads(line[len("EVIDENCE "):]))
    return facts


def install_vsix(vsix: Path, extensions_dir: Path, user_data: Path, env: dict[str, str]) -> None:
    """The .vsix as a user installs it: code-server --install-extension into a fresh extensions folder."""
    done = subprocess.run(
        [shutil.which("node") or "node", str(CODE_SERVER), "--install-extension", str(vsix),
         "--extensions-dir", str(extensions_dir), "--user-data-dir", str(user_data)],
        env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0 and "was successfully installed" in done.stdout, (done.stdout, done.stderr)


def drive_vscode(workspace: Path, env: dict[str, str], tmp_path: Path, artifacts: Path, settings: dict,
                 drive_args: list[str], timeout: float = 400, vsix: Path | None = None) -> str:
    """Install the extension (the unpacked build, or the .vsix), start code-server on the workspace, run
    drive.mjs, stop everything, keep the logs. Returns drive.mjs's stdout; fails the test with the logs when
    it fails. With the unpacked build the server runs on this checkout's Python (it has gastown)."""
    if vsix is None:
        require(DIST, "The built extension", "npm run build (or make dist/extension.js)")
    else:
        require(vsix, "The packaged extension", "make ext-package")
    require(CODE_SERVER_STAMP, "code-server", "tests/e2e_vscode/install-code-server.sh (or make code-server)")
    require(CODE_SERVER, "code-server", "FORCE=1 tests/e2e_vscode/install-code-server.sh")
    require(REPO_ROOT / "node_modules" / "playwright-core", "playwright-core", "npm ci")
    copilot = REPO_ROOT / "node_modules" / ".bin" / "copilot"
    require(copilot, "The Copilot CLI", "npm ci")
    require(CHROMIUM, "Chromium", "tests/e2e_vscode/install-code-server.sh")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH", pytrace=False)

    (workspace / ".vscode").mkdir()
    (workspace / ".vscode" / "settings.json").write_text(json.dumps({
        # The .vsix runs on the Python and the CLI it finds (or is given through its notifications).
        **({"gastown.server.pythonPath": sys.executable, "gastown.cliPath": str(copilot)} if vsix is None else {}),
        # The provider is the scripted local model: GASTOWN_SCENARIO in env makes the server start it.
        # GASTOWN_E2E_SERVER_LOG=INFO (or DEBUG) puts the server's own log in gastown-output.log.
        **({"gastown.server.logLevel": os.environ["GASTOWN_E2E_SERVER_LOG"]}
           if os.environ.get("GASTOWN_E2E_SERVER_LOG") else {}),
        **settings,
    }, indent=2))
    # Keep the editor's settings out of the repository the town manages.
    with open(workspace / ".git" / "info" / "exclude", "a") as exclude:
        exclude.write(".vscode/\n")

    extensions = tmp_path / "extensions"
    user_data = tmp_path / "user-data"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(json.dumps(USER_SETTINGS, indent=2))
    xdg = tmp_path / "xdg"  # code-server writes a config file and logs under XDG dirs
    env = {**env, "XDG_CONFIG_HOME": str(xdg / "config"), "XDG_DATA_HOME": str(xdg / "data")}
    if vsix is None:
        install_extension(extensions)
    else:
        install_vsix(vsix, extensions, user_data, env)

    artifacts.mkdir(parents=True, exist_ok=True)
    for stale in artifacts.glob("*"):
        if stale.is_file():
            stale.unlink()

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "code-server.log"
    started = time.monotonic()
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [node, str(CODE_SERVER), "--auth", "none", "--bind-addr", f"127.0.0.1:{port}",
             "--user-data-dir", str(user_data), "--extensions-dir", str(extensions),
             "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", str(workspace)],
            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_answers(url, proc, log)
        drive = subprocess.run(
            [node, str(DRIVE), url, "--out", str(artifacts), *drive_args],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
        )
        print(drive.stdout)
        if drive.returncode != 0:
            pytest.fail(
                f"drive.mjs failed ({drive.returncode}):\n{drive.stdout}\n{drive.stderr}\n"
                f"--- code-server log (tail) ---\n{tail(log)}\n"
                f"Screenshots and logs: {artifacts}",
                pytrace=False,
            )
    finally:
        stop_group(proc)
        collect_logs(user_data, log, artifacts)
        print(f"real VS Code run: {time.monotonic() - started:.1f} s (code-server start to shutdown)")
    return drive.stdout


def ledger_statuses(workspace: Path) -> list[str]:
    ledger = workspace / ".beads" / "issues.jsonl"
    assert ledger.exists(), "the town never exported its ledger to .beads/issues.jsonl"
    return [json.loads(line)["status"] for line in ledger.read_text().splitlines() if line.strip()]


def test_submit_goal_from_the_palette_fills_the_tree_until_closed(demo_workspace, tmp_path):
    workspace, env = demo_workspace
    stdout = drive_vscode(workspace, env, tmp_path, ARTIFACTS, {}, ["--timeout", "120"])
    facts = evidence(stdout)
    # The plan filled the tree, every task closed, and the Agents view and the status bar were live.
    assert facts["planned"] == 3 and facts["closed"] == 3, facts
    assert facts["polecats"], facts
    assert "running" in facts["statusBar"] and "ready" in facts["statusBar"], facts
    # The editor side: a bead's diff (base ↔ head, with the review lenses), its page, a polecat's log.
    assert facts["diffLens"], facts
    assert facts["beadTab"].endswith(".md") and facts["logTab"].endswith(".log"), facts
    assert facts["synced"] and facts["restarted"], facts
    # The town really did the work: the ledger's git-synced copy lists the beads as closed.
    statuses = ledger_statuses(workspace)
    assert statuses and all(s == "closed" for s in statuses), statuses
    for shot in ("05-beads", "06-closed", "07-diff", "08-bead", "09-agent-log", "10-restarted"):
        assert (ARTIFACTS / f"{shot}.png").exists(), shot


@pytest.fixture
def review_workspace(demo_workspace) -> tuple[Path, dict[str, str]]:
    """The demo repository with the review scenario (review_scenario.json): one bead whose branch changes
    tests/test_add.py in two places far apart (two hunks: a docstring at the top, a negative-numbers test
    at the end); told "Test zero instead", the polecat rewrites the file with a zero test instead."""
    workspace, env = demo_workspace
    return workspace, {**env, "GASTOWN_SCENARIO": str(REVIEW_SCENARIO)}


def test_review_accept_one_hunk_reject_another_with_a_comment(review_workspace, tmp_path):
    workspace, env = review_workspace
    artifacts = ARTIFACTS / "review"
    stdout = drive_vscode(
        workspace, env, tmp_path, artifacts, {"gastown.autoMerge": False},
        ["--review", "--goal", "Document the add tests and test one more case",
         "--comment", "Test zero instead: add(0, 0) == 0", "--timeout", "180"],
    )
    facts = evidence(stdout)
    assert facts.get("acceptedIn") and facts.get("rejectedIn"), facts
    statuses = facts["statuses"]
    assert statuses[0] == "review" and statuses[-1] == "closed", statuses
    # Back to work: seen in progress, or (a quick rework the tree's polling missed) a new revision reviewed.
    back = any(s in ("in_progress", "open") for s in statuses[statuses.index("decided"):])
    assert back or len(facts["revisions"]) > 1, facts
    assert all(s == "closed" for s in ledger_statuses(workspace))

    # What the extension sent (its review-verdict log lines) and what reached the integration branch.
    verdicts = [json.loads(line.split("review-verdict ", 1)[1])
                for line in (artifacts / "gastown-output.log").read_text().splitlines() if "review-verdict " in line]
    accepted = [h for v in verdicts if v["params"]["action"] == "accept" and v["params"]["scope"] == "hunk"
                for h in v["hunks"]]
    rejected = [h for v in verdicts if v["params"]["action"] == "reject" and v["params"]["scope"] == "hunk"
                for h in v["hunks"]]
    assert len(accepted) == 1 and len(rejected) == 1, verdicts
    assert rejected[0]["id"] != accepted[0]["id"]
    assert any(v["params"].get("comment") for v in verdicts if v["params"]["action"] == "reject")

    def on_integration(path: str) -> str:
        shown = subprocess.run(["git", "show", f"gastown/integration:{path}"], cwd=workspace,
                               capture_output=True, text=True)
        return shown.stdout if shown.returncode == 0 else ""

    kept = on_integration(accepted[0]["path"])
    assert all(line in kept.splitlines() for line in accepted[0]["added"] if line.strip()), (accepted, kept)
    dropped = on_integration(rejected[0]["path"])
    assert not any(line in dropped.splitlines() for line in rejected[0]["added"] if line.strip().startswith("def ")), (
        rejected, dropped)
    # The rework the comment asked for is what closed the bead.
    assert "def test_add_zero(self):" in dropped, dropped


def test_the_built_vsix_brings_its_server(demo_workspace, tmp_path):
    """A user's machine: the .vsix, a system python3 without gastown, no Copilot CLI on PATH, a repository
    elsewhere, BYOK."""
    from gastown.demo import DEMO_SCENARIO
    from gastown.runtime.scripted_model import Scenario, ScriptedModelServer

    workspace, env = demo_workspace
    copilot = REPO_ROOT / "node_modules" / ".bin" / "copilot"
    assert REPO_ROOT not in workspace.parents
    # Only system directories on PATH (node and git live there too): `python3` is the system's, and nothing
    # of this checkout (its .venv, PYTHONPATH, the scenario switch) is visible to the extension.
    node = shutil.which("node")
    assert node, "node is not on PATH"
    path = os.pathsep.join(dict.fromkeys([str(Path(node).parent), "/usr/bin", "/bin"]))
    hidden = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "GASTOWN_SCENARIO", "COPILOT_CLI_PATH")
    env = {k: v for k, v in env.items() if k not in hidden}
    env.update(PATH=path, HOME=str(tmp_path / "home"), GASTOWN_API_KEY="scripted")
    (tmp_path / "home").mkdir()
    python3 = shutil.which("python3", path=path)
    assert python3, f"no python3 on {path}"
    probe = subprocess.run([python3, "-c", "import gastown"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0, f"{python3} imports gastown: the test would not show the bundled server"

    scenario = Scenario.load(DEMO_SCENARIO)
    with ScriptedModelServer(scenario) as model:
        # No CLI path set and none on PATH: the first goal meets the missing-CLI notification, whose
        # Set Path… is given this checkout's CLI.
        settings = {"gastown.provider.type": "openai", "gastown.provider.baseUrl": model.base_url,
                    "gastown.provider.model": scenario.model}
        artifacts = ARTIFACTS / "vsix"
        stdout = drive_vscode(workspace, env, tmp_path, artifacts, settings,
                              ["--set-cli", str(copilot), "--until", "closed", "--timeout", "180"], vsix=VSIX)
        asked = len(model.requests)
    facts = evidence(stdout)
    assert "npm install -g @github/copilot@1.0.102" in facts["cliNotice"], facts
    assert {"Copy Command", "Set Path…"} <= set(facts["cliActions"]), facts
    assert facts["planned"] == 3 and facts["closed"] == 3, facts
    user_settings = json.loads((tmp_path / "user-data" / "User" / "settings.json").read_text())
    assert user_settings.get("gastown.cliPath") == str(copilot), user_settings
    assert asked > 0, "the scripted model server was never asked: the provider settings did not reach the server"
    assert all(s == "closed" for s in ledger_statuses(workspace))
    # The server ran from the private environment made from the bundled wheels, stamped with its version.
    manifest = json.loads((REPO_ROOT / "package.json").read_text())
    storage = tmp_path / "user-data" / "User" / "globalStorage" / f"{manifest['publisher']}.{manifest['name']}"
    stamps = list(storage.glob("server-*/.gastown-installed"))
    assert [s.read_text() for s in stamps] == [manifest["version"]], list(storage.rglob("*"))[:20]
    started = (artifacts / "gastown-output.log").read_text()
    assert "private environment" in started and str(stamps[0].parent) in started, started[-2000:]


def test_a_polecat_asks_and_is_answered_from_the_notification(demo_workspace, tmp_path):
    """A polecat calls ask_overseer; the notification's **Answer…** sends the typed answer; the same
    session goes on and the bead closes, with the question and the answer in its comments."""
    from tests.scenario_kit import create, done, mayor_rule, polecat_rule, propose, say, task

    workspace, env = demo_workspace
    question = "Should sub() accept floats or only ints?"
    answer = "Accept both ints and floats."
    sub = '"""sub."""\n\n\ndef sub(a, b):\n    return a - b\n'
    asking = [{"tool_calls": [{"name": "ask_overseer", "arguments": {"question": question}}]},
              say("I asked the Overseer."), create("calc/sub.py", sub), done("sub added"), say()]
    scenario = tmp_path / "asking.json"
    scenario.write_text(json.dumps({"name": "asking", "model": "scripted", "rules": [
        mayor_rule(propose("Subtract", [task("sub", "Add subtract", ["calc/sub.py"])]), say()),
        polecat_rule("Add subtract", asking)]}))
    artifacts = ARTIFACTS / "answer"
    stdout = drive_vscode(workspace, {**env, "GASTOWN_SCENARIO": str(scenario)}, tmp_path, artifacts, {},
                          ["--goal", "Add a subtract function", "--answer", answer, "--until", "closed",
                           "--timeout", "180"])
    facts = evidence(stdout)
    assert question in facts["question"] and facts["answered"] == answer, facts
    assert facts["planned"] == 1 and facts["closed"] == 1, facts
    beads = [json.loads(line) for line in (workspace / ".beads" / "issues.jsonl").read_text().splitlines() if line]
    task_bead = next(b for b in beads if b["title"] == "Add subtract")
    assert task_bead["status"] == "closed", task_bead
    said = json.dumps(task_bead.get("comments") or [])
    assert question in said and answer in said, said
    merged = subprocess.run(["git", "show", "gastown/integration:calc/sub.py"], cwd=workspace,
                            capture_output=True, text=True)
    assert "def sub(a, b):" in merged.stdout, merged
