"""Confining the polecats' shell commands with bubblewrap (bwrap).

The one Copilot CLI process that hosts every session runs inside a bwrap sandbox: the polecats'
checkout root, the CLI's own home and a private /tmp are writable; the user's workspace (its working
files and its `.git`), $HOME, the CLI's unpacked code and the rest of the machine are read-only; the
network is shared (BYOK to 127.0.0.1 keeps working). Inside that sandbox `/bin/bash` is replaced by a
small script that runs each shell command the CLI starts in a second, nested sandbox where only the
directory the command starts in (the session's checkout: the CLI starts every command there, whatever
an earlier `cd` did) is writable, minus its `.git` (the town runs git there unconfined, so hooks or
config planted there would run with the town's rights). The adapter also turns off what the CLI would
start from files in a checkout outside that nested sandbox (repository hooks, the `lsp` tool).

The town's part: ``choice = choose_sandbox(settings.polecats.sandbox, checkout_root=…, cli_home=…,
state_dir=…, readable=[workspace])`` once, forward ``choice.warning`` if any, and pass
``choice.sandbox`` to ``CopilotRuntime(…, sandbox=…)``; ``Sandbox.confine_command`` confines commands the
town itself runs on polecats' code.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gastown.errors import GastownError

log = logging.getLogger(__name__)

SandboxMode = Literal["auto", "required", "off"]
SETTING = "gastown.polecats.sandbox"
INSTALL_HINT = "sudo apt-get install bubblewrap"
BWRAP_ENV = "GASTOWN_BWRAP"  # a bwrap to use instead of the one on PATH (a missing file = no bwrap)

# Inside the CLI's sandbox: the real bash, bound into its private /tmp (a path without spaces, usable
# as the shell wrapper's interpreter), and the paths the CLI starts its shell by.
REAL_BASH = "/tmp/.gastown-sandbox/bash"
SHELL_PATHS = ("/bin/bash", "/usr/bin/bash")


class SandboxUnavailable(GastownError):
    """`polecats.sandbox` is `required` but bubblewrap is missing or does not work on this machine."""


@dataclass(frozen=True)
class Probe:
    """What bwrap can do here: confine at all, and nest (one sandbox per shell command)."""

    works: bool
    nested: bool
    reason: str = ""


def find_bwrap(path: str | None = None) -> str | None:
    """The bwrap to use: ``path``, then $GASTOWN_BWRAP, then PATH. None when that file is missing."""
    chosen = path or os.environ.get(BWRAP_ENV) or shutil.which("bwrap")
    if chosen and os.access(chosen, os.X_OK) and Path(chosen).is_file():
        return chosen
    return None


def _base_args() -> list[str]:
    return ["--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]


@functools.lru_cache(maxsize=8)
def probe(bwrap: str) -> Probe:
    """Run bwrap once (and bwrap inside bwrap) with the namespaces the sandbox uses."""
    outer = [bwrap, "--unshare-user", "--unshare-pid", *_base_args(), "--tmpfs", "/tmp"]
    inner = [bwrap, "--unshare-pid", "--cap-drop", "ALL", *_base_args(), "--", "true"]
    try:
        first = subprocess.run([*outer, "--", "true"], capture_output=True, text=True, timeout=20)
        if first.returncode != 0:
            return Probe(False, False, first.stderr.strip() or f"bwrap exited with {first.returncode}")
        second = subprocess.run([*outer, "--", *inner], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return Probe(False, False, str(exc))
    if second.returncode != 0:
        return Probe(True, False, "nested bwrap failed: " + (second.stderr.strip() or str(second.returncode)))
    return Probe(True, True)


def default_cli_home() -> Path:
    """Where the CLI keeps its state when no base directory is given (the user's Copilot login):
    $COPILOT_HOME, else ~/.copilot (as the CLI itself decides)."""
    return Path(os.environ.get("COPILOT_HOME") or Path.home() / ".copilot")


def default_cli_cache() -> Path:
    """Where the CLI unpacks its bundled package on first start (≈235 MB, shared by every CLI home)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "copilot"


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


def _tmp_entries() -> list[Path]:
    try:
        return sorted(Path("/tmp").iterdir())
    except OSError:
        return []


def _cli_dirs(cli_path: str) -> list[Path]:
    """What the CLI needs to start: the folder of the path it is run by (an npm `.bin` link) and of the file
    behind it, widened to the whole `node_modules` when it is an npm install (the launcher loads its
    platform package from a sibling folder)."""
    dirs = []
    for path in (Path(os.path.abspath(cli_path)), _real(cli_path)):
        modules = next((a for a in path.parents if a.name == "node_modules"), None)
        dirs.append(modules or path.parent)
    return dirs


@dataclass(frozen=True)
class Sandbox:
    """How one runtime's CLI is confined. Build with `choose_sandbox`; the adapter calls `launcher`."""

    bwrap: str
    checkout_root: Path  # every polecat checkout lives under it: writable for the CLI
    cli_home: Path  # the CLI's base directory: writable
    cli_cache: Path  # the CLI's unpacked package (the code the user's own CLI runs too): read-only
    state_dir: Path  # where the generated scripts go (the town's state dir)
    readable: tuple[Path, ...] = ()  # kept readable (they may live under /tmp, which is private)
    writable: tuple[Path, ...] = ()  # writable for the CLI and every polecat's commands (e.g. a git dir)
    cli_writable: tuple[Path, ...] = ()  # writable for the CLI only (its telemetry file's folder)
    per_session: bool = True  # nest a sandbox per shell command: only its own checkout is writable
    _bash: tuple[str, ...] = field(default=(), compare=False)

    def _paths(self) -> tuple[Path, list[Path], list[Path], list[Path]]:
        state = [_real(self.cli_home), *(_real(p) for p in self.cli_writable)]
        return _real(self.checkout_root), state, [_real(p) for p in self.readable], [_real(p) for p in self.writable]

    def shell_targets(self) -> list[str]:
        """The real files behind the paths the CLI starts its shell by (one on merged-/usr systems)."""
        found = self._bash or tuple(p for p in SHELL_PATHS if os.path.exists(p))
        return sorted({str(_real(p)) for p in found})

    def outer_argv(self, cli_path: str, shell_wrapper: Path | None = None) -> list[str]:
        """bwrap … for the CLI: everything read-only but the checkout root, the CLI home and /tmp."""
        root, state, readable, writable = self._paths()
        args = [self.bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--new-session"]
        if shell_wrapper is None:
            # Nothing nests: drop every capability (a root user keeps them inside its namespace).
            args += ["--cap-drop", "ALL"]
        args += [*_base_args(), "--tmpfs", "/tmp"]
        # Whatever lives under /tmp is hidden by the private /tmp: bind back what must stay readable.
        for path in dict.fromkeys([*readable, *_cli_dirs(cli_path)]):
            if _under(path, Path("/tmp")):
                args += ["--ro-bind-try", str(path), str(path)]
        for path in dict.fromkeys([root, *state, *writable]):
            args += ["--bind", str(path), str(path)]
        # Unpacked before the first start (`launcher` primes it); the CLI runs with it read-only.
        args += ["--ro-bind-try", str(_real(self.cli_cache)), str(_real(self.cli_cache))]
        if shell_wrapper is not None:
            targets = self.shell_targets()
            args += ["--ro-bind", targets[0], REAL_BASH]
            for target in targets:
                args += ["--ro-bind", str(shell_wrapper), target]
        return args

    def shell_wrapper_text(self) -> str:
        """The script bound over /bin/bash inside the CLI's sandbox: one nested sandbox per command, in
        which only the directory it starts in (below the checkout root) is writable."""
        root, state, readable, writable = self._paths()
        # The inner sandbox shares the CLI's private /tmp; re-protect what the CLI's sandbox bound there.
        protect = [p for p in dict.fromkeys([root, *state, _real(self.cli_cache), *readable]) if _under(p, Path("/tmp"))]
        inner = [self.bwrap, "--unshare-pid", "--cap-drop", "ALL", *_base_args(), "--bind", "/tmp", "/tmp"]
        for path in protect:
            inner += ["--ro-bind-try", str(path), str(path)]
        for path in writable:  # chosen by the town as writable for every polecat's commands
            inner += ["--bind", str(path), str(path)]
        restore = [arg for target in self.shell_targets() for arg in ("--ro-bind", REAL_BASH, target)]
        return "\n".join([
            f"#!{REAL_BASH} -p",  # -p: no $BASH_ENV, no functions imported from the environment
            "# Generated by gastown: runs one shell command of a polecat in a sandbox where only the",
            "# checkout it starts in is writable. Do not edit; it is rewritten when the runtime starts.",
            f"root={shlex.quote(str(root))}",
            'cwd=$(pwd -P) || exit 126',
            f"args=({shlex.join(inner[1:])})",
            'case "$cwd" in',
            # Its git data stays read-only: the town's own git commands in this checkout run unconfined
            # and would run whatever it named (hooks, core.fsmonitor, a `.git` file's gitdir).
            '  "$root"/?*) args+=(--bind "$cwd" "$cwd" --ro-bind-try "$cwd/.git" "$cwd/.git") ;;',
            "esac",
            f"exec {shlex.quote(self.bwrap)} \"${{args[@]}}\" {shlex.join(restore)} --chdir \"$cwd\" -- \"$0\" \"$@\"",
            "",
        ])

    def confine_command(self, argv: list[str], cwd: Path) -> list[str]:
        """``argv`` run from the host (not the CLI) in a sandbox where only ``cwd`` and a private /tmp are
        writable: for commands the town runs on polecats' code, e.g. the Refinery's verification."""
        cwd = _real(cwd)
        root, _, readable, _ = self._paths()
        args = [self.bwrap, "--unshare-user", "--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL",
                *_base_args(), "--tmpfs", "/tmp"]
        # What already is under /tmp stays readable (reads are not confined anyway): the interpreter or
        # tools the command names may live there, e.g. a checkout's .venv; new files go to the private /tmp.
        for path in dict.fromkeys([root, *readable, *_tmp_entries()]):
            if _under(path, Path("/tmp")):
                args += ["--ro-bind-try", str(path), str(path)]
        git_dir = cwd / ".git"  # read-only, as for the polecats' commands (see shell_wrapper_text)
        return [*args, "--bind", str(cwd), str(cwd), "--ro-bind-try", str(git_dir), str(git_dir),
                "--chdir", str(cwd), "--", *argv]

    def launcher_text(self, cli_path: str, shell_wrapper: Path | None) -> str:
        argv = self.outer_argv(cli_path, shell_wrapper)
        return "\n".join([
            "#!/bin/sh",
            "# Generated by gastown: the Copilot CLI confined by bubblewrap (see gastown/runtime/sandbox.py).",
            f'exec {shlex.join(argv)} -- {shlex.quote(cli_path)} "$@"',
            "",
        ])

    def launcher(self, cli_path: str) -> Path:
        """Write the launcher (and the shell wrapper) under the state dir; the path to give the SDK as the
        CLI. Folders that must exist for bwrap to bind them are created."""
        for path in (self.checkout_root, self.cli_home, *self.cli_writable, *self.writable):
            Path(path).mkdir(parents=True, exist_ok=True)
        _prime(cli_path)
        folder = Path(self.state_dir) / "sandbox"
        folder.mkdir(parents=True, exist_ok=True)
        wrapper = None
        if self.per_session:
            text = self.shell_wrapper_text()
            wrapper = _write_script(folder, "polecat-shell", text)
        return _write_script(folder, "copilot", self.launcher_text(cli_path, wrapper))


@functools.lru_cache(maxsize=8)
def _prime(cli_path: str) -> None:
    """Let the CLI unpack its bundled package (first start of a version) outside the sandbox, where the
    user's own CLI would: inside, that cache is read-only."""
    try:
        subprocess.run([cli_path, "--version"], capture_output=True, timeout=300, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not prime the Copilot CLI (%s --version): %s", cli_path, exc)


def _write_script(folder: Path, stem: str, text: str) -> Path:
    """Content-addressed, written atomically: two runtimes never rewrite each other's script."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    path = folder / f"{stem}-{digest}.sh"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class SandboxChoice:
    """What `choose_sandbox` decided: a sandbox (or None = unconfined) and a warning to show once."""

    sandbox: Sandbox | None
    warning: str | None = None


_logged: set[str] = set()


def choose_sandbox(mode: SandboxMode, *, checkout_root: Path, cli_home: Path | None, state_dir: Path,
                   readable: tuple[Path, ...] | list[Path] = (), writable: tuple[Path, ...] | list[Path] = (),
                   bwrap: str | None = None) -> SandboxChoice:
    """Apply `polecats.sandbox`. ``auto``: confined where bwrap works, else unconfined with a warning
    (also logged once per process) saying how to install it; ``required``: SandboxUnavailable instead;
    ``off``: unconfined, silently."""
    if mode == "off":
        return SandboxChoice(None)
    found = find_bwrap(bwrap)
    result = probe(found) if found else None
    if result is None or not result.works:
        why = ("bubblewrap (bwrap) was not found" if found is None
               else f"bubblewrap ({found}) does not work here: {result.reason if result else ''}")
        if mode == "required":
            raise SandboxUnavailable(
                f"Polecats cannot start: {SETTING} is \"required\" but {why}. Install it with "
                f"`{INSTALL_HINT}`, or set {SETTING} to \"auto\" or \"off\".")
        unconfined = (f"Polecats' shell commands are NOT confined: {why}. Install it with `{INSTALL_HINT}` "
                      f"(or set {SETTING} to \"off\" to run unconfined without this warning).")
        if unconfined not in _logged:
            _logged.add(unconfined)
            log.warning("%s", unconfined)
        return SandboxChoice(None, unconfined)
    assert found is not None
    warning: str | None = None
    if not result.nested:
        warning = (f"Polecats' shell commands are confined together, not each to its own checkout: bwrap cannot "
                   f"nest here ({result.reason}). They cannot touch your workspace or home, but each can write "
                   f"the other polecats' checkouts, their git data (where the town runs git unconfined) and the "
                   f"Copilot CLI's home ({cli_home or default_cli_home()}).")
        if warning not in _logged:
            _logged.add(warning)
            log.warning("%s", warning)
    sandbox = Sandbox(bwrap=found, checkout_root=Path(checkout_root), cli_home=Path(cli_home or default_cli_home()),
                      cli_cache=default_cli_cache(), state_dir=Path(state_dir), readable=tuple(Path(p) for p in readable),
                      writable=tuple(Path(p) for p in writable), per_session=result.nested)
    return SandboxChoice(sandbox, warning)


# --- blocked writes, read from a shell tool's output -------------------------------------------------
_BLOCKED = re.compile(r"Read-only file system|Permission denied|\[Errno (30|13)\]|EROFS|EACCES")
_QUOTED = re.compile(r"""['"‘`]([^'"’`\n]+)['"’`]""")


@dataclass
class BlockedWrite:
    path: str
    line: str
    read_only: bool  # EROFS (the sandbox) rather than a permission bit


def blocked_writes(output: str, cwd: Path | None = None) -> list[BlockedWrite]:
    """Lines of a shell command's output that say a write was refused, with the path each names.
    "Read-only file system" always counts (only the sandbox makes one here); "Permission denied" only
    for a path outside ``cwd`` (the session's own checkout)."""
    found: list[BlockedWrite] = []
    seen: set[str] = set()
    for line in output.splitlines():
        match = _BLOCKED.search(line)
        if not match:
            continue
        read_only = "Read-only" in match.group(0) or "30" in match.group(0) or "EROFS" in match.group(0)
        head, tail = line[:match.start()], line[match.end():]
        candidates = ([m for m in _QUOTED.findall(head) if "/" in m or "." in m]
                      or _QUOTED.findall(tail))  # Python: "[Errno 30] Read-only file system: '/x'"
        if not candidates:
            # "/bin/bash: line 1: PATH: …", "tee: PATH: …", "sh: 1: cannot create PATH: …"
            segments = [seg.strip() for seg in head.split(": ") if seg.strip()]
            candidates = segments[-1].split()[-1:] if len(segments) > 1 else []
        path = candidates[-1] if candidates else ""
        absolute = _absolute(path, cwd)
        if not read_only and cwd is not None and absolute and _under(Path(absolute), _real(cwd)):
            continue
        key = absolute or line
        if key in seen:
            continue
        seen.add(key)
        found.append(BlockedWrite(path=absolute or path, line=line.strip()[:300], read_only=read_only))
    return found


def _absolute(path: str, cwd: Path | None) -> str:
    if not path:
        return ""
    p = Path(os.path.expanduser(path))
    if not p.is_absolute():
        if cwd is None:
            return path
        p = Path(cwd) / p
    return os.path.normpath(p)
