from pathlib import Path

import pytest

from gastown.runtime.base import PermissionAsk
from gastown.runtime.policy import ReadOnlyPolicy, WorktreePolicy


@pytest.fixture
def policy(tmp_path: Path) -> WorktreePolicy:
    (tmp_path / "wt").mkdir()
    return WorktreePolicy(tmp_path / "wt", readable=[tmp_path / "wt"])


def test_writes_only_inside_the_worktree(policy: WorktreePolicy, tmp_path: Path):
    assert policy.decide(PermissionAsk("write", paths=[str(tmp_path / "wt" / "a.py")])).approved
    assert policy.decide(PermissionAsk("write", paths=["relative/inside.py"])).approved
    outside = policy.decide(PermissionAsk("write", paths=[str(tmp_path / "elsewhere.py")]))
    assert not outside.approved and "outside" in outside.reason
    escape = policy.decide(PermissionAsk("write", paths=["../wt-sibling/x.py"]))
    assert not escape.approved


def test_symlink_out_of_the_worktree_is_outside(policy: WorktreePolicy, tmp_path: Path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "wt" / "link").symlink_to(tmp_path / "secret")
    assert not policy.decide(PermissionAsk("write", paths=[str(tmp_path / "wt" / "link" / "x")])).approved


@pytest.mark.parametrize("command", [
    "git push origin main", "git checkout other", "git switch -c x", "sudo rm -rf /", "pip install requests",
    "npm install left-pad", "curl http://example.com", "apt-get install -y vim",
])
def test_default_denied_commands(policy: WorktreePolicy, command: str):
    decision = policy.decide(PermissionAsk("shell", command=command))
    assert not decision.approved and "denied" in decision.reason


@pytest.mark.parametrize("command", ["python3 -m unittest -q", "ls -la", "git status", "git diff", "mkdir -p docs"])
def test_ordinary_commands_allowed(policy: WorktreePolicy, command: str):
    assert policy.decide(PermissionAsk("shell", command=command)).approved


def test_deleting_outside_the_worktree_is_denied(policy: WorktreePolicy, tmp_path: Path):
    ask = PermissionAsk("shell", command=f"rm -rf {tmp_path}/other", paths=[f"{tmp_path}/other"])
    assert not policy.decide(ask).approved
    inside = PermissionAsk("shell", command="rm build.log", paths=["build.log"])
    assert policy.decide(inside).approved


def test_allow_list_restricts(tmp_path: Path):
    p = WorktreePolicy(tmp_path, allow_commands=[r"^python3 "])
    assert p.decide(PermissionAsk("shell", command="python3 -V")).approved
    assert not p.decide(PermissionAsk("shell", command="ls")).approved


def test_reads_outside_workspace_and_urls_denied(policy: WorktreePolicy):
    assert not policy.decide(PermissionAsk("read", paths=["/etc/passwd"])).approved
    assert not policy.decide(PermissionAsk("url", url="https://example.com")).approved
    assert not policy.decide(PermissionAsk("mcp")).approved


def test_mayor_never_writes(tmp_path: Path):
    mayor = ReadOnlyPolicy(readable=[tmp_path])
    assert not mayor.decide(PermissionAsk("write", paths=[str(tmp_path / "x")])).approved
    assert not mayor.decide(PermissionAsk("shell", command="ls")).approved
    assert mayor.decide(PermissionAsk("read", paths=[str(tmp_path / "x")])).approved
    assert mayor.decide(PermissionAsk("custom-tool", tool="propose_plan")).approved


@pytest.mark.parametrize("command", [
    "gastown bead close gt-1.1 --reason done", "bd close gt-1.1", "cd .. && bd update gt-1.1 --status closed",
    "gastown  bead reopen gt-2", "sqlite3 ../calc/.gastown/beads.db \"UPDATE issues SET status='closed'\"",
])
def test_the_ledger_is_not_changed_from_the_shell(policy: WorktreePolicy, command: str):
    decision = policy.decide(PermissionAsk("shell", command=command))
    assert not decision.approved
    assert "human steps are closed only by the Overseer" in decision.reason and command in decision.reason


@pytest.mark.parametrize("command", ["gastown bead show gt-1 --json", "bd list --status open", "bd show gt-1",
                                     "grep -r 'closed' docs"])
def test_reading_the_ledger_from_the_shell_is_allowed(policy: WorktreePolicy, command: str):
    assert policy.decide(PermissionAsk("shell", command=command)).approved
