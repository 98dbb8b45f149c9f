"""`gastown host`: run a runtime host for towns to place polecats on (see gastown/host)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

TOKEN_ENV = "GASTOWN_HOST_TOKEN"


def read_token(env: str | None, file: str | None) -> str:
    """The host's token from a secret file or an environment variable; a clear error naming the source."""
    from gastown.errors import GastownError

    if file:
        try:
            token = Path(file).read_text().strip()
        except OSError as exc:
            raise GastownError(f"cannot read the host token file {file}: {exc.strerror}") from None
        if not token:
            raise GastownError(f"the host token file {file} is empty")
        return token
    name = env or TOKEN_ENV
    token = os.environ.get(name, "").strip()
    if not token:
        raise GastownError(f"no host token: set ${name} (or pass --token-file)")
    return token


def _host(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from gastown.host.server import HostConfig, announce, run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = HostConfig(remote=args.remote, root=Path(args.root), token=read_token(args.token_env, args.token_file),
                        name=args.name or os.uname().nodename, bind=args.bind, port=args.port,
                        cli_port=args.cli_port, health_port=args.health_port, slots=args.slots,
                        cli_path=args.cli_path, integration=args.integration_branch, sandbox=args.sandbox)
    asyncio.run(run(config, ready=lambda server: print(announce(server), flush=True)))
    return 0


def add_parsers(sub: Any, only: str | None = None) -> None:
    if only not in (None, "host"):
        return
    p = sub.add_parser("host", help="run a runtime host: a clone, polecat checkouts and a Copilot CLI for a "
                                    "town's polecats (off loopback: use TLS or a tunnel)")
    p.add_argument("--remote", required=True, help="git URL of the project (the town pushes and fetches there)")
    p.add_argument("--root", required=True, help="folder for the clone, the checkouts and the CLI's home")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7411, help="the town's JSON-RPC port (0: any free one)")
    p.add_argument("--cli-port", type=int, default=7412, help="the Copilot CLI's port (0: any free one)")
    p.add_argument("--health-port", type=int, default=None,
                   help="serve GET /healthz on this port (readiness probes)")
    p.add_argument("--slots", type=int, default=4, help="polecats this host runs at once")
    p.add_argument("--name", help="the host's name in the town (default: the machine's name)")
    p.add_argument("--token-env", default=TOKEN_ENV, help=f"environment variable holding the token (default "
                                                           f"{TOKEN_ENV})")
    p.add_argument("--token-file", help="file holding the token (e.g. a mounted Kubernetes Secret)")
    p.add_argument("--cli-path", help="the copilot executable (default: as the town finds it)")
    p.add_argument("--integration-branch", default="gastown/integration")
    p.add_argument("--sandbox", choices=["auto", "required", "off"], default="auto",
                   help="confine the CLI and its shell commands with bubblewrap")
    p.set_defaults(func=_host)
