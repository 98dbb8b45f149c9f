"""Runtime hosts: polecats on other machines (or pods).

``gastown host`` (:mod:`gastown.host.server`) keeps a clone of the project from a git remote, prepares polecat
checkouts in it (the town's own checkout pool, :class:`gastown.town.checkouts.Worktrees`, over that clone),
serves a Copilot CLI over TCP for their sessions (the CLI's own connection token) and pushes polecat branches
back to the remote. The town talks to it over one authenticated JSON-RPC connection (:mod:`gastown.host.wire`,
:mod:`gastown.host.link`); the town's side of placing polecats there is :mod:`gastown.town.hosts`.

Layers: ``wire`` and ``link`` import nothing of the town (the town imports them); ``clone`` and ``server``
reuse the town's checkout pool.
"""
