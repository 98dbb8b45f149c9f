"""The generated launcher and shell wrapper under the real bwrap, with bash standing in for the CLI: the
CLI starts every shell command as `/bin/bash … -c CMD` in the session's checkout, and so does this test.
`make test` installs bubblewrap; a machine without it fails here, it does not skip."""

from __future__ import annotations

import shlex
import subprocess
import uuid
from pathlib import Path

import pytest

from gastown.runtime.sandbox import blocked_writes, choose_sandbox, find_bwrap


@pytest.fixture
def box(tmp_path: Path):
    if find_bwrap() is None:
        pytest.fail("bubblewrap (bwrap) is not installed: run `make test` (it installs it) or "
                    "`sudo apt-get install bubblewrap`")
    root = tmp_path / "checkouts"
    for name in ("wt-01", "wt-02"):
        (root / name / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "app.py").write_text("v1\n")
    choice = choose_sandbox("required", checkout_root=root, cli_home=tmp_path / "home",
                            state_dir=tmp_path / "state", readable=(tmp_path / "ws",))
    assert choice.sandbox is not None and choice.sandbox.per_session
    return choice.sandbox, choice.sandbox.launcher("/bin/bash")


def run(launcher: Path, cwd: Path, command: str) -> subprocess.CompletedProcess:
    """What the CLI does for a bash tool call, inside the CLI's sandbox."""
    return subprocess.run([str(launcher), "--norc", "--noprofile", "-c", command], cwd=cwd, capture_output=True,
                          text=True, timeout=30)


def test_a_command_writes_its_own_checkout_and_nothing_else(box, tmp_path: Path):
    _, launcher = box
    own, other, ws = tmp_path / "checkouts" / "wt-01", tmp_path / "checkouts" / "wt-02", tmp_path / "ws"
    real_tmp = Path("/tmp") / f"gastown-sandbox-{uuid.uuid4().hex}"
    commands = [
        "echo mine > mine.txt",
        "echo x > ../wt-02/evil.txt",
        f"echo x > {shlex.quote(str(ws / 'app.py'))}",
        "ln -s ../wt-02 link && echo x > link/via-link.txt",
        f"echo private > {real_tmp} && cat {real_tmp}",
        "mount -o remount,rw / 2>&1; echo x > ../wt-02/after-remount.txt",
    ]
    result = run(launcher, own, " ; ".join(commands))

    assert (own / "mine.txt").read_text() == "mine\n"
    assert sorted(p.name for p in other.iterdir()) == [".git"]
    assert (ws / "app.py").read_text() == "v1\n"
    assert "private" in result.stdout and not real_tmp.exists()
    blocked = {b.path for b in blocked_writes(result.stderr + result.stdout, own)}
    assert {str(other / "evil.txt"), str(ws / "app.py"), str(other / "after-remount.txt")} <= blocked


def test_a_command_started_outside_a_checkout_writes_nothing(box, tmp_path: Path):
    _, launcher = box
    root = tmp_path / "checkouts"
    at_root = run(launcher, root, "echo x > wt-01/from-root.txt")
    at_ws = run(launcher, tmp_path / "ws", "echo x > new.txt")
    assert "Read-only file system" in at_root.stderr and "Read-only file system" in at_ws.stderr
    assert not (root / "wt-01" / "from-root.txt").exists() and not (tmp_path / "ws" / "new.txt").exists()


def test_the_exit_status_and_output_come_through(box, tmp_path: Path):
    _, launcher = box
    result = run(launcher, tmp_path / "checkouts" / "wt-01", "echo out; echo err >&2; exit 7")
    assert (result.returncode, result.stdout, result.stderr) == (7, "out\n", "err\n")


def test_a_town_command_can_be_confined_to_one_folder(box, tmp_path: Path):
    sandbox, _ = box
    folder = tmp_path / "checkouts" / "wt-01"
    argv = sandbox.confine_command(["/bin/sh", "-c", "echo ok > verified.txt; echo x > ../wt-02/x.txt; "
                                    "echo y > /tmp/y.txt && cat /tmp/y.txt"], folder)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert (folder / "verified.txt").read_text() == "ok\n"
    assert not (tmp_path / "checkouts" / "wt-02" / "x.txt").exists()
    assert "Read-only file system" in result.stderr and result.stdout == "y\n"


def test_a_command_cannot_touch_its_own_checkouts_git_data(box, tmp_path: Path):
    """The town runs git in the checkout unconfined: a hook, a core.fsmonitor or a `.git` file of the
    polecat's would run with it. So `.git` is read-only for the polecat's commands (the town commits)."""
    _, launcher = box
    own = tmp_path / "checkouts" / "wt-01"
    result = run(launcher, own, "printf '#!/bin/sh\\ntouch /tmp/escaped\\n' > .git/hooks/pre-commit; "
                                "echo '[core] fsmonitor = evil' >> .git/config; rm -rf .git; echo ok > work.txt")
    assert sorted(p.name for p in (own / ".git").iterdir()) == ["hooks"] and not list((own / ".git" / "hooks").iterdir())
    assert (own / "work.txt").read_text() == "ok\n"
    assert {str(own / ".git" / "hooks" / "pre-commit"), str(own / ".git" / "config")} <= {
        b.path for b in blocked_writes(result.stderr, own)}


def test_a_cli_installed_under_tmp_through_an_npm_link_still_starts(tmp_path: Path):
    """The private /tmp hides everything under /tmp: a checkout (or a CI clone) there with the CLI in its
    node_modules must still start, through the `.bin` link and the package folder behind it."""
    if find_bwrap() is None:
        pytest.fail("bubblewrap (bwrap) is not installed: run `make test` or `sudo apt-get install bubblewrap`")
    modules = tmp_path / "project" / "node_modules"
    package = modules / "@github" / "copilot"
    platform = modules / "@github" / "copilot-linux-x64"
    package.mkdir(parents=True)
    platform.mkdir(parents=True)
    (platform / "marker").write_text("native\n")
    cli = package / "index.sh"
    # The npm launcher runs its platform package from a sibling folder, as @github/copilot does.
    cli.write_text(f"#!/bin/sh\ncat {platform / 'marker'}\necho \"args: $*\"\n")
    cli.chmod(0o755)
    (modules / ".bin").mkdir()
    (modules / ".bin" / "copilot").symlink_to("../@github/copilot/index.sh")
    choice = choose_sandbox("required", checkout_root=tmp_path / "checkouts", cli_home=tmp_path / "home",
                            state_dir=tmp_path / "state", readable=())
    assert choice.sandbox is not None
    launcher = choice.sandbox.launcher(str(modules / ".bin" / "copilot"))
    out = subprocess.run([str(launcher), "--headless"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["native", "args: --headless"]


def test_a_town_command_may_run_a_tool_that_lives_under_tmp(box, tmp_path: Path):
    """The Refinery's verification names an interpreter that may live under /tmp (a CI clone's .venv): it
    stays readable and runnable, while the folder it is run in is the only one it may write."""
    sandbox, _ = box
    tool = tmp_path / "venv" / "bin" / "tool"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho ran > result.txt\necho x > \"$0.bak\"\n")
    tool.chmod(0o755)
    folder = tmp_path / "checkouts" / "wt-01"
    result = subprocess.run(sandbox.confine_command([str(tool)], folder), capture_output=True, text=True,
                            timeout=30)
    assert (folder / "result.txt").read_text() == "ran\n"
    assert "Read-only file system" in result.stderr and not tool.with_suffix(".bak").exists()
