"""The sandbox's pure parts: the `polecats.sandbox` modes, the bwrap argv, the generated scripts, and
reading blocked writes out of a shell command's output."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from gastown.config import PolecatSettings, Settings
from gastown.runtime import sandbox as sb
from gastown.runtime.sandbox import (
    REAL_BASH,
    Sandbox,
    SandboxUnavailable,
    blocked_writes,
    choose_sandbox,
    find_bwrap,
)


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch) -> Path:
    missing = tmp_path / "no" / "bwrap"
    monkeypatch.setenv(sb.BWRAP_ENV, str(missing))
    return missing


def choose(tmp_path: Path, mode: str, **kw) -> sb.SandboxChoice:
    return choose_sandbox(mode, checkout_root=tmp_path / "checkouts", cli_home=tmp_path / "home",  # type: ignore[arg-type]
                          state_dir=tmp_path / "state", **kw)


def test_the_setting_defaults_to_auto_and_rejects_other_values():
    assert Settings().polecats.sandbox == "auto"
    assert Settings.model_validate({"polecats": {"sandbox": "required"}}).polecats.sandbox == "required"
    with pytest.raises(ValueError, match="sandbox"):
        PolecatSettings.model_validate({"sandbox": "yes"})


def test_a_missing_bwrap_is_not_found(no_bwrap: Path):
    assert find_bwrap() is None
    assert find_bwrap(str(no_bwrap)) is None


def test_auto_without_bwrap_runs_unconfined_and_says_how_to_install_it_once(tmp_path, no_bwrap, caplog):
    sb._logged.clear()
    with caplog.at_level(logging.WARNING, logger="gastown.runtime.sandbox"):
        first, second = choose(tmp_path, "auto"), choose(tmp_path, "auto")
    assert first.sandbox is None and second.sandbox is None
    assert first.warning and "NOT confined" in first.warning
    assert "sudo apt-get install bubblewrap" in first.warning and "gastown.polecats.sandbox" in first.warning
    assert second.warning == first.warning  # returned each time, for the town to forward
    assert [r.getMessage() for r in caplog.records] == [first.warning]  # logged once per process


def test_required_without_bwrap_refuses_naming_the_setting(tmp_path, no_bwrap):
    with pytest.raises(SandboxUnavailable) as err:
        choose(tmp_path, "required")
    message = str(err.value)
    assert 'gastown.polecats.sandbox is "required"' in message and "bwrap" in message
    assert "sudo apt-get install bubblewrap" in message
    assert not (tmp_path / "state").exists()  # nothing half-written


def test_off_never_looks_for_bwrap(tmp_path, no_bwrap):
    assert choose(tmp_path, "off") == sb.SandboxChoice(None, None)


def test_a_bwrap_that_does_not_run_counts_as_missing(tmp_path, monkeypatch):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    choice = choose(tmp_path, "auto", bwrap=str(fake))
    assert choice.sandbox is None and "No permissions to create new namespace" in (choice.warning or "")
    with pytest.raises(SandboxUnavailable, match="does not work here"):
        choose(tmp_path, "required", bwrap=str(fake))


def test_without_nesting_auto_confines_all_polecats_together_and_says_so(tmp_path, monkeypatch):
    sb._logged.clear()
    monkeypatch.setattr(sb, "probe", lambda _bwrap: sb.Probe(True, False, "Operation not permitted"))
    choice = choose(tmp_path, "auto", bwrap="/usr/bin/bwrap")
    assert choice.sandbox is not None and not choice.sandbox.per_session
    assert "not each to its own checkout" in (choice.warning or "")
    assert "Operation not permitted" in (choice.warning or "")


def make(tmp_path: Path, per_session: bool = True, **kw) -> Sandbox:
    return Sandbox(bwrap="/usr/bin/bwrap", checkout_root=tmp_path / "checkouts", cli_home=tmp_path / "home",
                   cli_cache=Path("/var/cache/copilot"), state_dir=tmp_path / "state", per_session=per_session,
                   _bash=("/usr/bin/bash",), **kw)


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_the_cli_sandbox_writes_only_the_checkouts_its_home_and_a_private_tmp(tmp_path: Path):
    workspace = tmp_path / "ws"
    box = make(tmp_path, readable=(workspace, Path("/srv/elsewhere")))
    argv = box.outer_argv("/opt/copilot/bin/copilot", shell_wrapper=tmp_path / "shell.sh")
    root, home = str(tmp_path / "checkouts"), str(tmp_path / "home")
    assert argv[0] == "/usr/bin/bwrap"
    for flag in ("--unshare-user", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert "--unshare-net" not in argv  # BYOK to 127.0.0.1 needs the network
    assert pairs(argv, "--ro-bind")[0] == ("/", "/")
    assert ("/tmp", ) == tuple(argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs")
    assert pairs(argv, "--bind") == [(root, root), (home, home)]
    # Under the private /tmp only what must stay readable comes back, read-only, before the writable binds;
    # the CLI's unpacked code (which the user's own CLI runs too) is read-only, whatever lies around it.
    assert pairs(argv, "--ro-bind-try") == [(str(workspace), str(workspace)), ("/var/cache/copilot",) * 2]
    assert argv.index("--ro-bind-try") < argv.index("--bind")
    assert len(argv) - argv[::-1].index("--ro-bind-try") > len(argv) - argv[::-1].index("--bind")
    # The CLI's shell is the wrapper; the real bash stays reachable for it.
    assert ("/usr/bin/bash", REAL_BASH) in pairs(argv, "--ro-bind")
    assert (str(tmp_path / "shell.sh"), "/usr/bin/bash") in pairs(argv, "--ro-bind")
    assert "--cap-drop" not in argv  # a root user's nested bwrap needs them; the commands drop them


def test_without_nesting_the_cli_keeps_no_capabilities_and_no_shell_wrapper(tmp_path: Path):
    box = make(tmp_path, per_session=False)
    argv = box.outer_argv("/opt/copilot/copilot")
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert not [p for p in pairs(argv, "--ro-bind") if p[1] == "/usr/bin/bash"]
    path = box.launcher("/opt/copilot/copilot")
    assert not list(path.parent.glob("polecat-shell-*"))


def test_the_shell_wrapper_nests_a_sandbox_writing_only_the_checkout_it_starts_in(tmp_path: Path):
    text = make(tmp_path, writable=(tmp_path / "shared",)).shell_wrapper_text()
    first, *body = text.splitlines()
    assert first == f"#!{REAL_BASH} -p"
    assert f"root={tmp_path / 'checkouts'}" in body
    assert '  "$root"/?*) args+=(--bind "$cwd" "$cwd" --ro-bind-try "$cwd/.git" "$cwd/.git") ;;' in body
    args = next(line for line in body if line.startswith("args=("))
    assert "--unshare-pid --cap-drop ALL --die-with-parent --ro-bind / / --dev /dev --proc /proc --bind /tmp /tmp" in args
    # What the CLI's sandbox bound under /tmp is read-only again in the command's sandbox.
    assert f"--ro-bind-try {tmp_path / 'checkouts'} {tmp_path / 'checkouts'}" in args
    assert f"--bind {tmp_path / 'shared'} {tmp_path / 'shared'}" in args
    assert body[-1].startswith("exec /usr/bin/bwrap")
    assert f"--ro-bind {REAL_BASH} /usr/bin/bash --chdir \"$cwd\" -- \"$0\" \"$@\"" in body[-1]


def test_the_launcher_is_written_once_per_content_and_is_executable(tmp_path: Path):
    box = make(tmp_path)
    first = box.launcher("/opt/copilot/copilot")
    again = box.launcher("/opt/copilot/copilot")
    other = box.launcher("/opt/other/copilot")
    assert first == again and first != other
    assert os.access(first, os.X_OK)
    text = first.read_text()
    assert text.startswith("#!/bin/sh\n") and text.rstrip().endswith('-- /opt/copilot/copilot "$@"')
    wrapper = next(first.parent.glob("polecat-shell-*.sh"))
    assert f"--ro-bind {wrapper} /usr/bin/bash" in text
    for folder in (tmp_path / "checkouts", tmp_path / "home"):
        assert folder.is_dir()  # bwrap can only bind what exists


# --- blocked writes in a shell command's output ---------------------------------------------------
def test_blocked_writes_name_the_path_in_each_tools_wording(tmp_path: Path):
    cwd = tmp_path / "checkouts" / "wt-01"
    output = "\n".join([
        "/bin/bash: line 1: /home/u/.bashrc: Read-only file system",
        "touch: cannot touch '/etc/x': Read-only file system",
        "mkdir: cannot create directory ‘/srv/new’: Read-only file system",
        "rm: cannot remove '/ws/app.py': Read-only file system",
        "find: cannot delete ‘/ws/.git/config’: Read-only file system",
        "error: cannot lock ref 'refs/heads/main': Unable to create '/ws/.git/refs/heads/main.lock': "
        "Read-only file system",
        "OSError: [Errno 30] Read-only file system: '/var/tmp/out.txt'",
        "/bin/bash: line 1: ../wt-02/evil.py: Read-only file system",
        "bash: .git/config: Read-only file system",
        "sh: 1: cannot create /x/y: Read-only file system",
        "tee: /root/t: Read-only file system",
        "all good here",
    ])
    assert [b.path for b in blocked_writes(output, cwd)] == [
        "/home/u/.bashrc", "/etc/x", "/srv/new", "/ws/app.py", "/ws/.git/config",
        "/ws/.git/refs/heads/main.lock", "/var/tmp/out.txt", str(tmp_path / "checkouts" / "wt-02" / "evil.py"),
        str(cwd / ".git" / "config"), "/x/y", "/root/t"]
    assert all(b.read_only for b in blocked_writes(output, cwd))


def test_permission_denied_counts_only_outside_the_checkout(tmp_path: Path):
    cwd = tmp_path / "wt"
    output = ("/bin/bash: line 1: ./build/locked.txt: Permission denied\n"
              "touch: cannot touch '/root/.profile': Permission denied\n"
              "PermissionError: [Errno 13] Permission denied: '/opt/app/x'\n")
    found = blocked_writes(output, cwd)
    assert [(b.path, b.read_only) for b in found] == [("/root/.profile", False), ("/opt/app/x", False)]


def test_the_same_path_is_reported_once_and_quiet_output_reports_nothing():
    output = "touch: cannot touch '/etc/x': Read-only file system\n" * 3
    assert len(blocked_writes(output)) == 1
    assert blocked_writes("ok\n3 passed in 0.1s\n") == []


def test_the_policy_keeps_the_cli_file_tools_out_of_the_worktrees_git_data(tmp_path: Path):
    """The sandbox's other half: the CLI's own file tools (create, edit) write with the CLI's rights, so
    the policy refuses the checkout's .git (hooks, config, a `.git` file's gitdir) as it refuses outside."""
    from gastown.runtime.base import PermissionAsk
    from gastown.runtime.policy import polecat_policy

    wt = tmp_path / "wt"
    (wt / ".git").mkdir(parents=True)
    policy = polecat_policy(wt, tmp_path / "ws")
    for raw in (".git/hooks/pre-commit", str(wt / ".git" / "config"), ".git", "sub/.git"):
        decision = policy.decide(PermissionAsk(kind="write", paths=[raw]))
        assert not decision.approved and "git data" in decision.reason, raw
    assert policy.decide(PermissionAsk(kind="write", paths=["src/.gitignore"])).approved
